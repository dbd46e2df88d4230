"""Basket arithmetic as the sale engine sees it: typed lines in, typed results out.

The arithmetic itself runs on every scan in the hot path (appliance.native: C when
built, else its Python twin, basket_twin.py, which states every rounding rule).
`allocate`, `line_gross` and `tax_of` are the same rules for promotions and returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from appliance import native
from appliance.native import basket_twin
from appliance.native.basket_twin import EXCLUSIVE, INCLUSIVE, ROUND_LINE, ROUND_TOTAL, allocate, line_gross

__all__ = ["LineInput", "LineResult", "RateTotal", "BasketResult", "compute", "allocate", "line_gross", "tax_of"]

TaxMode = Literal["inclusive", "exclusive"]
TaxRounding = Literal["line", "total"]


@dataclass(frozen=True, slots=True)
class LineInput:
    unit_price: int  # minor units per piece or per kilogram
    quantity: int  # thousandths of a piece or a kilogram
    tax_rate: int  # basis points: 1300 is 13%
    discount: int = 0  # minor units taken off this line (promotions + manual)


@dataclass(frozen=True, slots=True)
class LineResult:
    gross: int  # before any discount
    discount: int  # the line's own discount
    basket_share: int  # its part of the basket discount
    amount: int  # gross - discount - basket_share: the price shown on the line
    tax: int  # tax in (inclusive) or on top of (exclusive) the amount


@dataclass(frozen=True, slots=True)
class RateTotal:
    rate: int  # basis points
    amount: int  # sum of line amounts at this rate
    net: int  # amount without tax
    tax: int


@dataclass(frozen=True, slots=True)
class BasketResult:
    lines: tuple[LineResult, ...]
    rates: tuple[RateTotal, ...]  # ascending by rate
    subtotal: int  # sum of gross
    discount: int  # line discounts + basket discount
    tax: int
    total: int  # what the customer owes, before cash rounding


def tax_of(amount: int, rate: int, mode: TaxMode) -> int:
    """Tax contained in (inclusive) or due on (exclusive) an amount at `rate` basis points."""
    return basket_twin.tax_of(amount, rate, INCLUSIVE if mode == "inclusive" else EXCLUSIVE)


def compute(
    lines: Sequence[LineInput],
    basket_discount: int = 0,
    *,
    mode: TaxMode = "inclusive",
    rounding: TaxRounding = "line",
) -> BasketResult:
    """Price a basket on the hot path (C when built); NativeError (a ValueError) on impossible input."""
    out, rates, (subtotal, discount, tax, total) = native.basket(
        [(l.unit_price, l.quantity, l.tax_rate, l.discount) for l in lines],
        basket_discount,
        INCLUSIVE if mode == "inclusive" else EXCLUSIVE,
        ROUND_LINE if rounding == "line" else ROUND_TOTAL,
    )
    return BasketResult(
        lines=tuple(LineResult(*values) for values in zip(*[iter(out)] * 5)),
        rates=tuple(RateTotal(*values) for values in zip(*[iter(rates)] * 4)),
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        total=total,
    )
