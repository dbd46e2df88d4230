"""Online PIN: ISO 9564-1 PIN blocks (format 0 under TDES, format 4 under AES) and the PIN key from its TR-31 block.

The terminal's PIN encryption key arrives from the key-injection facility as an ANSI
X9.143 / TR-31 key block, wrapped under the device's key-block protection key (KBPK).
The KBPK comes from the device's key file, never from source or configuration; the
unwrapped key stays in memory inside `Secret`. The algorithm in the block's header picks
the PIN block format, as ISO 9564-1 requires: format 4 with an AES key (9564-1:2017
6.3.5), format 0 with a TDES key (6.3.1, still what most acquirers take). The PIN digits
and the PIN block only travel inside Secret; no error message contains either.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC
from psec import des, pinblock, tr31

from appliance.errors import InputError
from appliance.native.secret import Secret

PIN_ENCRYPTION = "P0"  # TR-31 key usage: PIN encryption key
ENCRYPTING_MODES = frozenset("BE")  # TR-31 mode of use: both ways, or encrypt only
KEY_LENGTHS = {"T": (16, 24), "A": (16, 24, 32)}  # TDES double/triple length; AES-128/192/256


class PinBlockError(InputError):
    """A PIN (or the PAN it is bound to) that cannot go into a PIN block."""

    code = "pin_block"


class PinKeyError(InputError):
    """The PIN key block cannot be used: wrong KBPK, damaged block, or a key not meant for PINs."""

    code = "pin_key"


@dataclass(frozen=True)
class PinKey:
    """The terminal's PIN encryption key; `format` is the ISO 9564 PIN block format it is used with."""

    algorithm: str  # "TDES" or "AES"
    format: int  # 0 or 4
    key: Secret
    check_value: str  # key check value, for the technician to compare with the key-injection record


def load_pin_key(key_block: str, kbpk: bytes) -> PinKey:
    """Unwrap a TR-31 PIN encryption key block (versions A-D) with the device's KBPK; PinKeyError otherwise."""
    try:
        header, key = tr31.unwrap(kbpk, key_block.strip())
    except (tr31.KeyBlockError, tr31.HeaderError) as exc:
        raise PinKeyError(f"the PIN key block cannot be opened with this device's key-block protection key ({exc}): "
                          "check the device key file and re-inject the PIN key", code="pin_key_unwrap") from exc
    if header.key_usage != PIN_ENCRYPTION or header.mode_of_use not in ENCRYPTING_MODES:
        raise PinKeyError(f"the key block holds a key for usage {header.key_usage!r}, mode {header.mode_of_use!r}; "
                          "a PIN encryption key (P0, mode E or B) is needed", code="pin_key_usage")
    if len(key) not in KEY_LENGTHS.get(header.algorithm, ()):
        raise PinKeyError(f"the PIN key must be TDES (16 or 24 bytes) or AES; the block holds algorithm "
                          f"{header.algorithm!r} with {len(key)} bytes", code="pin_key_algorithm")
    if header.algorithm == "T":
        return PinKey("TDES", 0, Secret(key), des.generate_kcv(key, 3).hex().upper())
    return PinKey("AES", 4, Secret(key), _aes_kcv(key))


def _aes_kcv(key: bytes) -> str:
    """AES key check value: the leftmost 5 bytes of the CMAC of a zero block (ANSI X9.24-1:2017)."""
    mac = CMAC(algorithms.AES(key))
    mac.update(bytes(16))
    return mac.finalize()[:5].hex().upper()


def encrypt_pin(pin: Secret, pan: Secret, key: PinKey) -> Secret:
    """The encrypted PIN block for `pin` bound to `pan`: 8 bytes (format 0) or 16 (format 4)."""
    digits = _digits(pin, 4, 12, "the PIN must be 4 to 12 digits", "pin_length")
    account = _digits(pan, 13, 19, "the card number cannot be used for a PIN block (13-19 digits needed)", "pan")
    if key.format == 0:
        # ISO 9564-1 format 0: 0 | length | PIN | F padding, XOR 0000 | 12 rightmost PAN digits without the check digit
        return Secret(des.encrypt_tdes_ecb(key.key.reveal(), pinblock.encode_pinblock_iso_0(digits, account)))
    # ISO 9564-1 format 4: the PIN field (random fill) enciphered, XOR the PAN field, enciphered again
    return Secret(pinblock.encipher_pinblock_iso_4(key.key.reveal(), digits, account))


def _digits(value: Secret, shortest: int, longest: int, message: str, code: str) -> str:
    raw = value.reveal()
    if not (shortest <= len(raw) <= longest and raw.isdigit() and raw.isascii()):
        raise PinBlockError(message, code=code)
    return raw.decode("ascii")

