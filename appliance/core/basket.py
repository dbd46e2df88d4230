"""Basket arithmetic: line amounts, exact discount allocation and tax per rate.

This is the hot path of every scan and the reference the C version (native/) must match
bit for bit, so it uses only integers and states every rounding:
- a line's gross is unit price x quantity / 1000, rounded half up;
- a basket discount is spread over lines in proportion to what they still cost, by the
  largest-remainder method; equal remainders go to the earlier line;
- tax is rounded half up, per line or once per rate ("total"), and in "total" mode the
  rate's tax is spread back over its lines the same way, so line taxes always add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from appliance.core.money import div_round_half_up

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


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to non-negative `weights`, exactly (largest remainder).

    The parts always add up to `total`; leftover units go to the largest fractional
    remainders, ties to the lower index, so the result never depends on anything else.
    """
    if total < 0:
        raise ValueError("cannot allocate a negative total")
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        if total and not weight_sum:
            raise ValueError("cannot allocate a positive total over zero weights")
        return [0] * len(weights)
    parts = []
    remainders = []
    for index, weight in enumerate(weights):
        if weight < 0:
            raise ValueError("weights must not be negative")
        part, rest = divmod(total * weight, weight_sum)
        parts.append(part)
        remainders.append((-rest, index))
    for _, index in sorted(remainders)[: total - sum(parts)]:
        parts[index] += 1
    return parts


def line_gross(unit_price: int, quantity: int) -> int:
    """Price of a quantity in thousandths, rounded half up to the minor unit."""
    return div_round_half_up(unit_price * quantity, 1000)


def tax_of(amount: int, rate: int, mode: TaxMode) -> int:
    """Tax contained in (inclusive) or due on (exclusive) an amount at `rate` basis points."""
    if mode == "inclusive":
        return div_round_half_up(amount * rate, 10000 + rate)
    return div_round_half_up(amount * rate, 10000)


def compute(
    lines: Sequence[LineInput],
    basket_discount: int = 0,
    *,
    mode: TaxMode = "inclusive",
    rounding: TaxRounding = "line",
) -> BasketResult:
    """Price a basket. Raises ValueError on impossible input (a discount above the price)."""
    gross = [line_gross(line.unit_price, line.quantity) for line in lines]
    after_line = []
    for line, g in zip(lines, gross):
        if line.unit_price < 0 or line.quantity < 0 or line.tax_rate < 0 or line.discount < 0:
            raise ValueError("prices, quantities, rates and discounts must not be negative")
        if line.discount > g:
            raise ValueError(f"line discount {line.discount} exceeds the line price {g}")
        after_line.append(g - line.discount)
    if basket_discount < 0 or basket_discount > sum(after_line):
        raise ValueError(f"basket discount {basket_discount} is outside 0..{sum(after_line)}")
    shares = allocate(basket_discount, after_line)
    amounts = [a - s for a, s in zip(after_line, shares)]

    by_rate: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        by_rate.setdefault(line.tax_rate, []).append(index)
    taxes = [0] * len(lines)
    rates = []
    for rate in sorted(by_rate):
        members = by_rate[rate]
        rate_amount = sum(amounts[i] for i in members)
        if rounding == "line":
            for i in members:
                taxes[i] = tax_of(amounts[i], rate, mode)
            rate_tax = sum(taxes[i] for i in members)
        else:
            rate_tax = tax_of(rate_amount, rate, mode)
            for i, part in zip(members, allocate(rate_tax, [amounts[i] for i in members])):
                taxes[i] = part
        net = rate_amount - rate_tax if mode == "inclusive" else rate_amount
        rates.append(RateTotal(rate=rate, amount=rate_amount, net=net, tax=rate_tax))

    results = tuple(
        LineResult(gross=g, discount=line.discount, basket_share=s, amount=a, tax=t)
        for line, g, s, a, t in zip(lines, gross, shares, amounts, taxes)
    )
    tax_total = sum(taxes)
    items_total = sum(amounts)
    return BasketResult(
        lines=results,
        rates=tuple(rates),
        subtotal=sum(gross),
        discount=sum(line.discount for line in lines) + basket_discount,
        tax=tax_total,
        total=items_total if mode == "inclusive" else items_total + tax_total,
    )
