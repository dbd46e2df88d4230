"""ISO 9564 PIN blocks (format 0 TDES, format 4 AES) and the PIN key from its TR-31 key block."""

from __future__ import annotations

import os

import pytest
from psec import des, pinblock, tr31

from appliance.emv.pinblock import PinBlockError, PinKey, PinKeyError, encrypt_pin, load_pin_key
from appliance.native.secret import Secret
from tests.emv.keys import APPROVE


TDES_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
AES_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
PIN = "1234"


@pytest.fixture
def kbpk_tdes() -> bytes:
    return des.adjust_key_parity(os.urandom(16))  # a throwaway KBPK, as a device key file would hold


@pytest.fixture
def kbpk_aes() -> bytes:
    return os.urandom(32)


def tdes_key() -> PinKey:
    return PinKey("TDES", 0, Secret(TDES_KEY), "")


def aes_key() -> PinKey:
    return PinKey("AES", 4, Secret(AES_KEY), "")


def test_format0_clear_block_by_hand():
    # PIN field 04 12 34 FF FF FF FF FF; PAN field 00 00 + 12 digits left of the check digit "173900101011"
    # XOR: 04 12 | 34^17=23 | FF^39=C6 | FF^00=FF | FF^10=EF | FF^10=EF | FF^11=EE
    assert pinblock.encode_pinblock_iso_0(PIN, APPROVE).hex().upper() == "041223C6FFEFEFEE"
    block = encrypt_pin(Secret(PIN.encode()), Secret(APPROVE.encode()), tdes_key())
    assert des.decrypt_tdes_ecb(TDES_KEY, block.reveal()).hex().upper() == "041223C6FFEFEFEE"


def test_format0_matches_psec_vector():
    expected = des.encrypt_tdes_ecb(TDES_KEY, pinblock.encode_pinblock_iso_0("98765", "5413330089010418"))
    block = encrypt_pin(Secret(b"98765"), Secret(b"5413330089010418"), tdes_key())
    assert len(block) == 8 and block.reveal() == expected
    assert pinblock.decode_pinblock_iso_0(des.decrypt_tdes_ecb(TDES_KEY, block.reveal()), "5413330089010418") == "98765"


def test_format4_decrypts_to_the_pin_with_psec_and_is_randomised():
    first = encrypt_pin(Secret(b"123456789012"), Secret(APPROVE.encode()), aes_key())
    second = encrypt_pin(Secret(b"123456789012"), Secret(APPROVE.encode()), aes_key())
    assert len(first) == 16
    assert pinblock.decipher_pinblock_iso_4(AES_KEY, first.reveal(), APPROVE) == "123456789012"
    assert first != second  # format 4 fills the PIN field with random digits: equal PINs give unequal blocks
    with pytest.raises(ValueError):  # bound to its PAN: another PAN does not give the PIN back
        assert pinblock.decipher_pinblock_iso_4(AES_KEY, first.reveal(), "5413330089010418") != "123456789012"


def test_tr31_round_trip_tdes_gives_format0(kbpk_tdes: bytes):
    block = tr31.wrap(kbpk_tdes, "B0096P0TE00N0000", TDES_KEY)
    key = load_pin_key(block, kbpk_tdes)
    assert (key.algorithm, key.format, key.key) == ("TDES", 0, Secret(TDES_KEY))
    assert key.check_value == des.generate_kcv(TDES_KEY, 3).hex().upper()
    assert TDES_KEY.hex() not in repr(key).lower()
    encrypted = encrypt_pin(Secret(PIN.encode()), Secret(APPROVE.encode()), key)
    assert des.decrypt_tdes_ecb(TDES_KEY, encrypted.reveal()).hex().upper() == "041223C6FFEFEFEE"


def test_tr31_round_trip_aes_gives_format4(kbpk_aes: bytes):
    block = tr31.wrap(kbpk_aes, "D0144P0AB00N0000", AES_KEY)
    key = load_pin_key(block, kbpk_aes)
    assert (key.algorithm, key.format, len(key.check_value)) == ("AES", 4, 10)
    encrypted = encrypt_pin(Secret(PIN.encode()), Secret(APPROVE.encode()), key)
    assert pinblock.decipher_pinblock_iso_4(AES_KEY, encrypted.reveal(), APPROVE) == PIN


def test_wrong_kbpk_is_a_pin_key_error(kbpk_tdes: bytes):
    block = tr31.wrap(kbpk_tdes, "B0096P0TE00N0000", TDES_KEY)
    with pytest.raises(PinKeyError, match="key-block protection key") as raised:
        load_pin_key(block, des.adjust_key_parity(os.urandom(16)))
    assert raised.value.code == "pin_key_unwrap"
    with pytest.raises(PinKeyError):
        load_pin_key(block[:-2] + ("00" if block[-2:] != "00" else "11"), kbpk_tdes)  # damaged MAC


@pytest.mark.parametrize("header", ["B0096D0TE00N0000", "B0096P0TD00N0000"], ids=["data-key", "decrypt-only"])
def test_a_key_not_for_pin_encryption_is_refused(kbpk_tdes: bytes, header: str):
    with pytest.raises(PinKeyError) as raised:
        load_pin_key(tr31.wrap(kbpk_tdes, header, TDES_KEY), kbpk_tdes)
    assert raised.value.code == "pin_key_usage"


@pytest.mark.parametrize("pin", [b"123", b"1234567890123", b"12a4", b"", "١٢٣٤".encode()],
                         ids=["short", "long", "letter", "empty", "non-ascii-digits"])
@pytest.mark.parametrize("key", [tdes_key(), aes_key()], ids=["format0", "format4"])
def test_bad_pins_are_refused_without_showing_them(pin: bytes, key: PinKey):
    with pytest.raises(PinBlockError) as raised:
        encrypt_pin(Secret(pin), Secret(APPROVE.encode()), key)
    assert raised.value.code == "pin_length"
    assert str(raised.value) == "the PIN must be 4 to 12 digits"
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_bad_pan_is_refused_without_showing_it():
    with pytest.raises(PinBlockError) as raised:
        encrypt_pin(Secret(PIN.encode()), Secret(b"476173900101"), tdes_key())
    assert raised.value.code == "pan" and "476173900101" not in str(raised.value)
