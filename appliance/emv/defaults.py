"""What a terminal accepts out of the box: the common applications with their action codes, and CA keys from a file.

The Terminal Action Codes are the values the schemes publish for attended terminals
(the acquirer may send others with the terminal's parameters). Certification authority
public keys are not compiled in: they change (expiry, revocation) and differ between
test and production, so they come from a key file the acquirer provides, one key a line:

    # RID        index  exponent  modulus (hex)                      expiry (YYMMDD, optional)
    A000000003   92     03        996AF56F569187D09293C14810450ED8...  291231
"""

from __future__ import annotations

from pathlib import Path

from appliance.emv.model import AidConfig, CaKey

# ISO 4217 numeric codes of the currencies a shop is likely to set (tag 5F2A, field 49).
CURRENCY_NUMERIC = {
    "AUD": "036", "CAD": "124", "CHF": "756", "CNY": "156", "EUR": "978", "GBP": "826", "HKD": "344",
    "JPY": "392", "KRW": "410", "MOP": "446", "MYR": "458", "NZD": "554", "SGD": "702", "THB": "764",
    "TWD": "901", "USD": "840",
}

_VISA_TAC = {"tac_denial": bytes.fromhex("0010000000"), "tac_online": bytes.fromhex("DC4004F800"),
             "tac_default": bytes.fromhex("DC4000A800")}
_MASTERCARD_TAC = {"tac_denial": bytes.fromhex("0000000000"), "tac_online": bytes.fromhex("FE50BCF800"),
                   "tac_default": bytes.fromhex("FE50BCA000")}


def default_aids(*, floor_limit: int = 0, contactless_limit: int = 100_000, cvm_limit: int = 30_000) -> tuple[AidConfig, ...]:
    """Visa, Mastercard, Maestro, UnionPay, Amex, JCB: every payment goes online (floor limit 0) unless told otherwise."""
    common = {"floor_limit": floor_limit, "contactless_limit": contactless_limit, "cvm_limit": cvm_limit}
    return (
        AidConfig(bytes.fromhex("A0000000031010"), "VISA", version=b"\x00\x8c", **_VISA_TAC, **common),
        AidConfig(bytes.fromhex("A0000000032010"), "VISA ELECTRON", version=b"\x00\x8c", **_VISA_TAC, **common),
        AidConfig(bytes.fromhex("A0000000041010"), "MASTERCARD", version=b"\x00\x02", **_MASTERCARD_TAC, **common),
        AidConfig(bytes.fromhex("A0000000043060"), "MAESTRO", version=b"\x00\x02", **_MASTERCARD_TAC, **common),
        AidConfig(bytes.fromhex("A000000333010101"), "UNIONPAY DEBIT", version=b"\x00\x30", **common),
        AidConfig(bytes.fromhex("A000000333010102"), "UNIONPAY CREDIT", version=b"\x00\x30", **common),
        AidConfig(bytes.fromhex("A00000002501"), "AMERICAN EXPRESS", version=b"\x00\x01", **common),
        AidConfig(bytes.fromhex("A0000000651010"), "JCB", version=b"\x02\x00", **common),
    )


class CaKeyFileError(ValueError):
    """The CA key file cannot be used; the message names the line."""


def load_ca_keys(path: Path) -> tuple[CaKey, ...]:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaKeyFileError(f"cannot read the CA key file {path}: {exc}") from exc
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path} line {number}"
        if len(words) not in (4, 5):
            raise CaKeyFileError(f"{where}: expected RID, index, exponent, modulus and an optional expiry")
        rid, index, exponent, modulus = words[:4]
        expiry = words[4] if len(words) == 5 else ""
        try:
            key = CaKey(bytes.fromhex(rid), int(index, 16), bytes.fromhex(modulus), int(exponent, 16), expiry)
        except ValueError as exc:
            raise CaKeyFileError(f"{where}: not hexadecimal ({exc})") from None
        if len(key.rid) != 5 or not 0 <= key.index <= 0xFF or len(key.modulus) < 64 or key.exponent not in (3, 65537):
            raise CaKeyFileError(f"{where}: a RID is 5 bytes, an index 1 byte, a modulus 64+ bytes, an exponent 3 or 010001")
        if expiry and not (len(expiry) == 6 and expiry.isdigit()):
            raise CaKeyFileError(f"{where}: the expiry is YYMMDD")
        keys.append(key)
    return tuple(keys)
