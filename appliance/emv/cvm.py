"""Cardholder verification (EMV Book 3 10.5 and Annex C3): walk the card's CVM list.

The list (8E) is amounts X and Y then two-byte rules: a method (bit 7 "apply the next
rule if this one fails", low six bits the method) and a condition. The first rule whose
condition holds and whose method succeeds ends the walk; a failing rule without bit 7
ends it as a failure. Offline plaintext PIN goes to the card with VERIFY; the online PIN
is only collected here and travels in the authorisation request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from appliance.emv import apdu, records
from appliance.emv.apdu import Channel
from appliance.emv.model import Cardholder, TerminalConfig, Transaction
from appliance.emv.restrictions import CASH, CASHBACK
from appliance.emv.tvr import Bits
from appliance.native.secret import Secret

FAIL, PLAINTEXT_PIN, ONLINE_PIN, PLAINTEXT_PIN_SIGNATURE = 0x00, 0x01, 0x02, 0x03
ENCIPHERED_PIN, ENCIPHERED_PIN_SIGNATURE, SIGNATURE, NO_CVM = 0x04, 0x05, 0x1E, 0x1F
UNKNOWN, FAILED, SUCCESSFUL = 0x00, 0x01, 0x02  # CVM Results byte 3 (Annex A)
NOT_PERFORMED = bytes([0x3F, 0x00, 0x00])

NAMES = {
    FAIL: "fail CVM processing", PLAINTEXT_PIN: "offline plaintext PIN", ONLINE_PIN: "online PIN",
    PLAINTEXT_PIN_SIGNATURE: "offline plaintext PIN and signature", ENCIPHERED_PIN: "offline enciphered PIN",
    ENCIPHERED_PIN_SIGNATURE: "offline enciphered PIN and signature", SIGNATURE: "signature", NO_CVM: "no CVM",
}


@dataclass
class CvmResult:
    method: str  # for the outcome: "offline plaintext PIN", "online PIN", "signature", "no CVM", "failed", "CVM not performed"
    results: bytes  # 9F34
    performed: bool = True  # TSI "cardholder verification was performed"
    online_pin: Secret | None = None
    signature: bool = False
    notes: tuple[str, ...] = ()  # for the trace


def parse_list(cvm_list: bytes) -> tuple[int, int, list[tuple[int, int]]]:
    """(X, Y, [(method byte, condition)]); a list with an odd rule part or no rules is malformed."""
    if len(cvm_list) < 10 or len(cvm_list) % 2:
        raise ValueError(f"CVM list of {len(cvm_list)} bytes")
    x, y = int.from_bytes(cvm_list[:4], "big"), int.from_bytes(cvm_list[4:8], "big")
    return x, y, [(cvm_list[i], cvm_list[i + 1]) for i in range(8, len(cvm_list), 2)]


def supported(method: int, config: TerminalConfig) -> bool:
    """Terminal Capabilities byte 2 (Book 4 Annex A2) and a working PIN pad for PIN methods."""
    caps = config.capabilities[1]
    pin_pad = config.pin_pad
    return {
        PLAINTEXT_PIN: bool(caps & 0x80) and pin_pad,
        ONLINE_PIN: bool(caps & 0x40) and pin_pad and config.online_capable,
        PLAINTEXT_PIN_SIGNATURE: bool(caps & 0x80) and bool(caps & 0x20) and pin_pad,
        SIGNATURE: bool(caps & 0x20),
        NO_CVM: bool(caps & 0x08),
        FAIL: True,
    }.get(method, False)


def condition_met(condition: int, method: int, x: int, y: int, txn: Transaction, tags: Mapping[int, bytes],
                  config: TerminalConfig) -> bool | None:
    """Annex C3 conditions; None for a condition code this terminal does not know (the rule is skipped)."""
    unattended = config.terminal_type & 0x0F in (4, 5, 6)
    if condition == 0x00:
        return True
    if condition == 0x01:
        return unattended and txn.type == CASH
    if condition == 0x02:
        return txn.type not in (CASH, CASHBACK)
    if condition == 0x03:
        return supported(method, config)
    if condition == 0x04:
        return not unattended and txn.type == CASH
    if condition == 0x05:
        return txn.type == CASHBACK
    if condition in (0x06, 0x07, 0x08, 0x09):
        # Only when the transaction is in the application currency (9F42) can amounts compare.
        if tags.get(0x9F42) != config.currency:
            return False
        limit = x if condition in (0x06, 0x07) else y
        return txn.amount < limit if condition in (0x06, 0x08) else txn.amount > limit
    return None


def pin_block(pin: bytes) -> bytes:
    """The ICC plaintext PIN block (Book 3 6.5.12): 2N, the digits, F padding to 8 bytes."""
    digits = pin.decode("ascii")
    if not digits.isdigit() or not 4 <= len(digits) <= 12:
        raise ValueError("a PIN is 4 to 12 digits")
    nibbles = f"2{len(digits):X}{digits}".ljust(16, "F")
    return bytes.fromhex(nibbles)


def _ask_pin(cardholder: Cardholder, tvr: Bits, notes: list[str], *, online: bool,
             tries_left: int | None) -> Secret | None:
    """The PIN typed, or None when the cardholder bypassed entry (TVR "PIN pad present, but PIN was not entered")."""
    pin = cardholder.pin(online=online, tries_left=tries_left)
    if pin is None:
        tvr.set(3, 4)
        notes.append("online PIN entry bypassed" if online else "PIN entry bypassed")
    return pin


def _offline_pin(channel: Channel, cardholder: Cardholder, tvr: Bits, notes: list[str]) -> bool:
    """Book 3 10.5.1: ask, VERIFY, ask again while the card counts down; blocked or bypassed is a failure."""
    counter = records.get_data(channel, 0x9F17)  # PIN try counter; without it the terminal asks anyway
    tries = counter[0] if counter else None
    if tries == 0:
        tvr.set(3, 6)
        notes.append("PIN try limit exceeded (try counter 0)")
        return False
    while True:
        pin = _ask_pin(cardholder, tvr, notes, online=False, tries_left=tries)
        if pin is None:
            return False
        try:
            block = pin_block(pin.reveal())
        except ValueError:  # the PIN pad should not allow it; never send the card a malformed block
            tvr.set(3, 4)
            notes.append("the PIN typed is not 4 to 12 digits")
            return False
        _, sw = channel.exchange(apdu.verify_plaintext_pin(block), allowed=frozenset({0x9000, 0x63C0, 0x6983, 0x6984}))
        if sw == 0x9000:
            return True
        if sw in (0x6983, 0x6984, 0x63C0):
            tvr.set(3, 6)
            notes.append("PIN try limit exceeded")
            return False
        tries = sw & 0x0F
        notes.append(f"wrong PIN, {tries} tries left")


def _perform(method: int, channel: Channel, cardholder: Cardholder, tvr: Bits, result: CvmResult,
             notes: list[str]) -> int | None:
    """Run a supported method: CVM Results byte 3, or None when it failed."""
    if method in (PLAINTEXT_PIN, PLAINTEXT_PIN_SIGNATURE):
        if not _offline_pin(channel, cardholder, tvr, notes):
            return None
        result.signature = method == PLAINTEXT_PIN_SIGNATURE
        return SUCCESSFUL if method == PLAINTEXT_PIN else UNKNOWN
    if method == ONLINE_PIN:
        pin = _ask_pin(cardholder, tvr, notes, online=True, tries_left=None)
        if pin is None:
            return None
        tvr.set(3, 3)
        result.online_pin = pin
        return UNKNOWN  # only the issuer knows whether it was right
    if method == SIGNATURE:
        result.signature = True
        return UNKNOWN
    if method == NO_CVM:
        return SUCCESSFUL
    return None  # FAIL


def verify(channel: Channel, tags: Mapping[int, bytes], aip: bytes, txn: Transaction, config: TerminalConfig,
           cardholder: Cardholder, tvr: Bits) -> CvmResult:
    """Cardholder verification per the card's CVM list; sets TVR byte 3 and returns the CVM Results."""
    if not aip[0] & 0x10:  # AIP byte 1 bit 5: cardholder verification supported
        return CvmResult("CVM not performed", NOT_PERFORMED, performed=False, notes=("card does not support CVM",))
    try:
        x, y, rules = parse_list(tags.get(0x8E, b""))
    except ValueError:
        tvr.set(1, 6)  # Book 3 10.5: no (usable) CVM list is ICC data missing
        return CvmResult("CVM not performed", NOT_PERFORMED, performed=False, notes=("no CVM list",))
    result = CvmResult("failed", bytes([0x3F, 0x00, FAILED]))
    notes: list[str] = []
    for code, condition in rules:
        method = code & 0x3F
        met = condition_met(condition, method, x, y, txn, tags, config)
        if not met:
            continue
        name = NAMES.get(method, f"CVM {method:02X}")
        if method not in NAMES:
            tvr.set(3, 7)
            notes.append(f"unrecognised CVM {method:02X}")
            outcome = None
        elif not supported(method, config):
            notes.append(f"{name} not supported by this terminal")
            if method in (PLAINTEXT_PIN, PLAINTEXT_PIN_SIGNATURE, ONLINE_PIN) and not config.pin_pad:
                tvr.set(3, 5)
            outcome = None
        else:
            outcome = _perform(method, channel, cardholder, tvr, result, notes)
        if outcome is not None:
            result.method = name
            result.results = bytes([code, condition, outcome])
            result.notes = tuple(notes)
            return result
        result.results = bytes([code, condition, FAILED])
        if not code & 0x40:  # bit 7 clear: no succeeding rule for this failure
            break
    tvr.set(3, 8)
    result.online_pin, result.signature = None, False
    result.notes = tuple(notes)
    return result
