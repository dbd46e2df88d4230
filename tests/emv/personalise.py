"""Personalisation of the emulated test cards: records, certificates, the named test cards, the terminal.

The RSA keys are tests/fixtures/emv/{ca,issuer,icc}.pem (made by tests/emv/make_keys.py);
the terminal's CA key index 92 under Visa (A000000003) and Mastercard (A000000004) RIDs is
the test CA. Certificates follow EMV Book 2 Tables 6 (issuer, 90/92/9F32), 7 (signed
static data, 93) and 14 (ICC, 9F46/9F48/9F47), so the kernel's oda.py checks real
signatures. The builders are importable for other kernels' test cards (contactless).

Every card has the same layout (AFL 08010101 10010301), each record under the 254 bytes a
short READ RECORD answer can carry:
  SFI 1 record 1 (signed): 57 track 2 equivalent, 5F20 name
  SFI 2 record 1 (signed): 5A PAN, dates, AUC, CVM list, IACs, CDOL1/2, velocity limits...
  SFI 2 record 2 (not signed): 8F, 90, 92, 9F32 (the issuer certificate)
  SFI 2 record 3 (not signed): 93 (SDA) or 9F46/9F47/9F48 (DDA); empty without ODA
CDOL1 = 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04 9F35 01 9F34 03
CDOL2 = 8A 02 91 0A 95 05 9F37 04 9F34 03
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from appliance.emv import tlv
from appliance.emv.model import AidConfig, CaKey, TerminalConfig
from tests.emv.card import Application, EmvCard
from tests.emv.keys import APPROVE, DECLINE, EXPIRED, MASTERCARD_RID, PIN_BLOCKED

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emv"
CA_INDEX = 0x92
VISA_RID = bytes.fromhex("A000000003")
VISA_AID, MASTERCARD_AID = VISA_RID + b"\x10\x10", MASTERCARD_RID + b"\x10\x10"
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403")
CDOL2 = bytes.fromhex("8A02910A95059F37049F3403")
AFL = bytes.fromhex("0801010110010301")
AIP_SDA = bytes.fromhex("5800")  # SDA, cardholder verification, terminal risk management
AIP_DDA = bytes.fromhex("3C00")  # DDA, cardholder verification, terminal risk management, issuer authentication
CVM_SIGNATURE = bytes(8) + bytes.fromhex("1E031F03")  # signature if supported, else no CVM
CVM_OFFLINE_PIN = bytes(8) + bytes.fromhex("41031E031F03")  # plaintext PIN, then signature, then no CVM
CVM_OFFLINE_PIN_ONLY = bytes(8) + bytes.fromhex("0100")  # plaintext PIN always, nothing else
CVM_ONLINE_PIN = bytes(8) + bytes.fromhex("42031E03")  # online PIN, then signature
NO_ACTION = bytes(5)
DATE = "261123"  # the tests' transaction date (YYMMDD); certificates and cards are valid on it


@lru_cache(maxsize=None)
def key(name: str) -> RSAPrivateKey:
    """"ca", "issuer" or "icc" from tests/fixtures/emv."""
    loaded = serialization.load_pem_private_key((FIXTURES / f"{name}.pem").read_bytes(), password=None)
    assert isinstance(loaded, RSAPrivateKey)
    return loaded


def modulus(private: RSAPrivateKey) -> bytes:
    n = private.public_key().public_numbers().n
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def exponent(private: RSAPrivateKey) -> bytes:
    e = private.public_key().public_numbers().e
    return e.to_bytes((e.bit_length() + 7) // 8, "big")


def sign(private: RSAPrivateKey, block: bytes) -> bytes:
    """Raw RSA with the private exponent (Book 2 A2.1): what the certifier does."""
    numbers = private.private_numbers()
    return pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n).to_bytes(len(block), "big")


def _certify(signer: RSAPrivateKey, body: bytes, hashed_extra: bytes) -> bytes:
    block = b"\x6a" + body + hashlib.sha1(body + hashed_extra).digest() + b"\xbc"
    assert len(block) == len(modulus(signer)), "the certified fields do not fill the signer's modulus"
    return sign(signer, block)


def _split_key(subject: RSAPrivateKey, room: int) -> tuple[bytes, bytes]:
    """The key's modulus as the certificate carries it (padded with BB) and the remainder outside it."""
    digits = modulus(subject)
    return digits[:room].ljust(room, b"\xbb"), digits[room:]


def issuer_certificate(ca: RSAPrivateKey, issuer: RSAPrivateKey, pan: str, *, expiry: str = "1230",
                       serial: bytes = b"\x00\x00\x01", issuer_id: str | None = None) -> tuple[bytes, bytes, bytes]:
    """(90 certificate, 92 remainder, 9F32 exponent): Book 2 Table 6; expiry MMYY."""
    room = len(modulus(ca)) - 36
    digits, remainder = _split_key(issuer, room)
    identifier = bytes.fromhex((issuer_id or pan[:6]).ljust(8, "F"))
    body = (b"\x02" + identifier + bytes.fromhex(expiry) + serial + b"\x01\x01"
            + bytes([len(modulus(issuer)), len(exponent(issuer))]) + digits)
    return _certify(ca, body, remainder + exponent(issuer)), remainder, exponent(issuer)


def signed_static_data(issuer: RSAPrivateKey, static_data: bytes, *, dac: bytes = b"\xda\xc1") -> bytes:
    """93: Book 2 Table 7, over the signed records and the AIP (9F4A = 82)."""
    body = b"\x03\x01" + dac + b"\xbb" * (len(modulus(issuer)) - 26)
    return _certify(issuer, body, static_data)


def icc_certificate(issuer: RSAPrivateKey, icc: RSAPrivateKey, pan: str, static_data: bytes, *,
                    expiry: str = "1230", serial: bytes = b"\x00\x00\x02") -> tuple[bytes, bytes, bytes]:
    """(9F46 certificate, 9F48 remainder, 9F47 exponent): Book 2 Table 14."""
    room = len(modulus(issuer)) - 42
    digits, remainder = _split_key(icc, room)
    body = (b"\x04" + bytes.fromhex(pan.ljust(20, "F")) + bytes.fromhex(expiry) + serial + b"\x01\x01"
            + bytes([len(modulus(icc)), len(exponent(icc))]) + digits)
    return _certify(issuer, body, remainder + exponent(icc) + static_data), remainder, exponent(icc)


def record(tags: dict[int, bytes]) -> bytes:
    """A READ RECORD answer: the objects in template 70."""
    return tlv.encode(0x70, tlv.encode_all(tags.items()))


def bcd(digits: str) -> bytes:
    """Compressed numeric (cn, Book 3 4.3): the digits two to a byte, an odd count padded with F."""
    return bytes.fromhex(digits + "F" * (len(digits) % 2))


def track2(pan: str, expiry: str) -> bytes:
    """57: PAN, separator D, YYMM, service code 201 (chip), discretionary data, F padding."""
    return bcd(f"{pan}D{expiry[:4]}2010000000000")


def records(pan: str, *, aip: bytes, oda: str | None, expiry: str = "291231", effective: str = "200101",
            psn: str = "01", cvm_list: bytes = CVM_SIGNATURE, iac_denial: bytes = NO_ACTION,
            iac_online: bytes = NO_ACTION, iac_default: bytes = NO_ACTION, issuer_expiry: str = "1230",
            ca_index: int = CA_INDEX, extra: dict[int, bytes] | None = None,
            ) -> dict[tuple[int, int], bytes]:
    """The card's records for `AFL`, with SDA ("sda"), DDA ("dda") or no ODA data (None)."""
    first = record({0x57: track2(pan, expiry), 0x5F20: b"TEST/CARD"})
    data = {
        0x5A: bcd(pan), 0x5F24: bytes.fromhex(expiry),
        0x5F25: bytes.fromhex(effective), 0x5F28: b"\x01\x56", 0x5F34: bytes.fromhex(psn),
        0x9F07: b"\xff\x00", 0x9F08: b"\x00\x8c", 0x9F42: b"\x01\x56", 0x8E: cvm_list,
        0x9F0D: iac_default, 0x9F0E: iac_denial, 0x9F0F: iac_online, 0x8C: CDOL1, 0x8D: CDOL2,
        0x9F14: b"\x05", 0x9F23: b"\x0a", 0x9F4A: b"\x82", **(extra or {}),
    }
    second = record(data)
    signed = tlv.decode(first)[0].value + tlv.decode(second)[0].value + aip
    issuer: dict[int, bytes] = {}
    signed_data: dict[int, bytes] = {}
    if oda is not None:
        issuer_cert, issuer_rest, issuer_exp = issuer_certificate(key("ca"), key("issuer"), pan, expiry=issuer_expiry)
        issuer = {0x8F: bytes([ca_index]), 0x90: issuer_cert, 0x92: issuer_rest, 0x9F32: issuer_exp}
        if oda == "sda":
            signed_data = {0x93: signed_static_data(key("issuer"), signed)}
        else:
            icc_cert, icc_rest, icc_exp = icc_certificate(key("issuer"), key("icc"), pan, signed)
            signed_data = {0x9F46: icc_cert, 0x9F47: icc_exp, 0x9F48: icc_rest}
    return {(1, 1): first, (2, 1): second, (2, 2): record(issuer), (2, 3): record(signed_data)}


def application(pan: str, *, aid: bytes = VISA_AID, label: str = "VISA TEST", oda: str | None = "sda",
                aip: bytes | None = None, pin: str = "1234", pin_tries: int = 3, priority: int | None = None,
                **record_options) -> Application:
    aip = aip if aip is not None else (AIP_DDA if oda == "dda" else AIP_SDA)
    return Application(aid=aid, label=label, pan=pan, afl=AFL, aip=aip,
                       records=records(pan, aip=aip, oda=oda, **record_options), cdol1=CDOL1, cdol2=CDOL2,
                       pin=pin, pin_tries=pin_tries, priority=priority,
                       icc_key=key("icc") if oda == "dda" else None)


# --- the named test cards ---------------------------------------------------------------------


def card_pse_sda(pan: str = APPROVE, **card_options) -> EmvCard:
    """PSE, one Visa application, SDA, signature."""
    return EmvCard([application(pan, oda="sda")], **card_options)


def card_no_pse_dda_offline_pin(pan: str = APPROVE, pin: str = "1234", **card_options) -> EmvCard:
    """No PSE (found by AID), DDA, offline plaintext PIN then signature, issuer authentication."""
    return EmvCard([application(pan, oda="dda", pin=pin, cvm_list=CVM_OFFLINE_PIN)], pse=False, **card_options)


def card_expired(**card_options) -> EmvCard:
    """Expired in June 2023; its IAC-Denial declines an expired application."""
    return EmvCard([application(EXPIRED, expiry="230630", iac_denial=bytes.fromhex("0040000000"))], **card_options)


def card_declined(**card_options) -> EmvCard:
    """A healthy card the reference issuer declines (05 do not honour)."""
    return EmvCard([application(DECLINE)], **card_options)


def card_pin_blocked(**card_options) -> EmvCard:
    """PIN try counter 0, PIN-only CVM list; its IAC-Denial declines "PIN try limit exceeded"."""
    return EmvCard([application(PIN_BLOCKED, oda="dda", pin_tries=0, cvm_list=CVM_OFFLINE_PIN_ONLY,
                                iac_denial=bytes.fromhex("0000200000"))], pse=False, **card_options)


def card_online_pin(pan: str = APPROVE, **card_options) -> EmvCard:
    """Online PIN (the issuer checks it), then signature; SDA."""
    return EmvCard([application(pan, cvm_list=CVM_ONLINE_PIN)], **card_options)


def test_terminal_config(**overrides) -> TerminalConfig:
    """The terminal the test cards are for: Visa and Mastercard AIDs, the test CA key under both RIDs."""
    ca = key("ca")
    e = int.from_bytes(exponent(ca), "big")
    config = TerminalConfig(
        aids=(AidConfig(VISA_AID, "VISA"), AidConfig(MASTERCARD_AID, "MASTERCARD")),
        ca_keys=(CaKey(VISA_RID, CA_INDEX, modulus(ca), e), CaKey(MASTERCARD_RID, CA_INDEX, modulus(ca), e)),
        terminal_id="T0000001", merchant_id="M00000000000001", merchant_name="TEST SHOP",
    )
    return replace(config, **overrides)


test_terminal_config.__test__ = False  # type: ignore[attr-defined]  # a builder, not a pytest test
