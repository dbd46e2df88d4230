"""Retail barcodes: GTIN check digits (EAN-13, EAN-8, UPC-A) and in-store EAN-13 layouts.

In-store codes (GS1 prefixes 20-29) carry an item code and a price or a weight printed by
a label scale. Their layout differs between shops, so it is configured as a 13-character
pattern: literal digits (the prefix), `I` item code, `P` price in minor units, `W` weight
in grams, `X` a digit that is ignored (such as a price check digit, not verified), `C` the
EAN check digit. Example: "22IIIIIWWWWWC".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from appliance import native
from appliance.errors import InputError

GTIN_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of the digits before it (weights 3,1,3,... from the right)."""
    digit = native.gtin_check_digit(body)
    if digit < 0:
        raise InputError(f"{body!r} must contain digits only")
    return digit


def normalize_gtin(code: str, *, where: str | None = None) -> str:
    """Validate an EAN-13 / EAN-8 / UPC-A and return its canonical form.

    UPC-A becomes the equivalent EAN-13 (a leading zero) because scanners are configured
    to send either form and both must find the same product.
    """
    text = code.strip()
    if not text.isascii() or not text.isdigit():
        raise InputError(f"barcode {code!r} must contain digits only", where=where)
    kind = GTIN_LENGTHS.get(len(text))
    if kind is None:
        raise InputError(
            f"barcode {code!r} has {len(text)} digits; EAN-13 has 13, UPC-A 12, EAN-8 8",
            where=where,
        )
    expected = gtin_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise InputError(
            f"{kind} barcode {code!r} has check digit {text[-1]}, expected {expected}",
            where=where,
        )
    return "0" + text if len(text) == 12 else text


@dataclass(frozen=True, slots=True)
class InstoreLayout:
    pattern: str

    def __post_init__(self) -> None:
        validate_layout(self.pattern)

    @property
    def prefix(self) -> str:
        return self.pattern[: len(self.pattern) - len(self.pattern.lstrip("0123456789"))]

    @property
    def kind(self) -> str:
        return "weight" if "W" in self.pattern else "price"


@dataclass(frozen=True, slots=True)
class InstoreCode:
    code: str  # the scanned code, validated
    item: str  # the item code (PLU) digits
    kind: str  # "price" or "weight"
    value: int  # price in minor units, or weight in grams (= thousandths of a kilogram)


def validate_layout(pattern: str) -> None:
    """Refuse layouts that could not decode a real in-store code."""
    if len(pattern) != 13:
        raise ValueError(f"layout {pattern!r} must have 13 characters, one per EAN-13 digit")
    prefix_len = len(pattern) - len(pattern.lstrip("0123456789"))
    # GS1 reserves the two-digit prefixes 20-29 for in-store (restricted circulation)
    # numbers; a one-digit "2" would claim all ten of them for this single layout.
    if prefix_len < 2 or not pattern.startswith("2"):
        raise ValueError(f"layout {pattern!r} must start with its in-store prefix, two or more digits from 20-29")
    body = pattern[prefix_len:-1]
    if pattern[-1] != "C":
        raise ValueError(f"layout {pattern!r} must end with C, the check digit")
    if set(body) - set("IPWX"):
        bad = sorted(set(body) - set("IPWX"))
        raise ValueError(
            f"layout {pattern!r}: after the prefix only I, P, W, X and a final C may appear, not {''.join(bad)!r}"
        )
    if "I" not in body:
        raise ValueError(f"layout {pattern!r} has no item code (I)")
    if ("P" in body) == ("W" in body):
        raise ValueError(f"layout {pattern!r} needs either a price (P) or a weight (W) field")
    for field in "IPW":
        if field in body and body.count(field) != body.rindex(field) - body.index(field) + 1:
            raise ValueError(f"layout {pattern!r}: the {field} digits must be contiguous")


def decode_instore(code: str, layouts: Sequence[InstoreLayout]) -> InstoreCode | None:
    """Decode a validated EAN-13 against the configured layouts (first match wins)."""
    if len(code) != 13:
        return None
    for layout in layouts:
        if not code.startswith(layout.prefix):
            continue
        fields: dict[str, str] = {"I": "", "P": "", "W": ""}
        for char, digit in zip(layout.pattern, code):
            if char in fields:
                fields[char] += digit
        value_field = "W" if layout.kind == "weight" else "P"
        return InstoreCode(code=code, item=fields["I"], kind=layout.kind, value=int(fields[value_field]))
    return None
