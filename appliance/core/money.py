"""Integer money: amounts are minor units (fen, cents); no float ever touches them.

Parsing goes through Decimal only to read text exactly; every result is an int.
"""

from __future__ import annotations

import re
from decimal import Decimal

from appliance.errors import InputError
from appliance.native.basket_twin import div_round_half_up

__all__ = ["div_round_half_up", "parse_amount", "parse_percent", "parse_quantity", "format_amount",
           "format_percent", "format_quantity", "MAX_MINOR"]

# Plain decimal text only: no exponents, no thousands separators, no "inf".
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
# Far above any till amount and far below SQLite's 64-bit integer limit.
MAX_MINOR = 10**15


def parse_amount(text: str, exponent: int, *, what: str = "amount") -> int:
    """Read a decimal amount typed or stored as text ("12.50", "12", "-3.5") into minor units.

    More decimals than the currency has is an error, not a silent rounding: a price of
    1.005 yuan is a typo a merchant must see.
    """
    raw = text.strip()
    if not _DECIMAL.fullmatch(raw):
        raise InputError(f"{what} {text!r} is not a number (write it like 12.50)")
    scaled = Decimal(raw).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InputError(f"{what} {text!r} has more than {exponent} decimal places")
    if abs(scaled) >= MAX_MINOR:
        raise InputError(f"{what} {text!r} is too large")
    return int(scaled)


def parse_percent(text: str, *, what: str = "percentage") -> int:
    """Read "13%", "6.5%" or "13" into basis points (1300); exact, 0..100%."""
    raw = text.strip().removesuffix("%").strip()
    bp = parse_amount(raw, 2, what=what)
    if not 0 <= bp <= 10000:
        raise InputError(f"{what} {text!r} must be between 0% and 100%")
    return bp


def format_amount(minor: int, exponent: int) -> str:
    """Minor units to text with exactly `exponent` decimals ("-0.05")."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"


def format_percent(bp: int) -> str:
    """Basis points to a short percentage ("13%", "6.5%")."""
    text = format_amount(bp, 2).rstrip("0").rstrip(".")
    return f"{text}%"


def format_quantity(thousandths: int) -> str:
    """Quantities are thousandths: 1000 is one piece or one kilogram."""
    return format_amount(thousandths, 3)


def parse_quantity(text: str, *, what: str = "quantity") -> int:
    """Read "2", "0.532" into thousandths; zero or negative quantities are refused."""
    qty = parse_amount(text, 3, what=what)
    if qty <= 0:
        raise InputError(f"{what} {text!r} must be greater than zero")
    return qty
