"""Basket arithmetic in pure Python: the reference the C module (native/basket.c) must match.

Same rules, same order of checks, same errors:
- a line's gross is unit price x quantity / 1000, rounded half up;
- a basket discount is spread over the lines in proportion to what they still cost, by
  the largest-remainder method; equal remainders go to the earlier line;
- tax is rounded half up, per line or once per rate ("total"); in "total" mode the
  rate's tax is spread back over its lines the same way, so line taxes always add up.
Results are packed arrays, as the C binding returns them: line results as array('q') of
5 values per line (gross, discount, basket share, amount, tax), rate totals as array('q')
of 4 per rate (rate, amount, net, tax), and the totals (subtotal, discount, tax, total).
"""

from __future__ import annotations

from array import array
from typing import Sequence

from appliance.native.errors import (
    E_ARGS, E_BASKET_DISCOUNT, E_LINE_DISCOUNT, E_NEGATIVE, E_RANGE, MAX_QUANTITY, MAX_TAX_RATE, MAX_TOTAL,
    MAX_UNIT_PRICE, NativeError,
)

INCLUSIVE, EXCLUSIVE = 0, 1
ROUND_LINE, ROUND_TOTAL = 0, 1

LineIn = tuple[int, int, int, int]  # unit_price, quantity (thousandths), tax_rate (bp), discount
Totals = tuple[int, int, int, int]  # subtotal, discount, tax, total


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero."""
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def line_gross(unit_price: int, quantity: int) -> int:
    return div_round_half_up(unit_price * quantity, 1000)


def tax_of(amount: int, rate: int, mode: int) -> int:
    if mode == INCLUSIVE:
        return div_round_half_up(amount * rate, 10000 + rate)
    return div_round_half_up(amount * rate, 10000)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to non-negative `weights`, exactly (largest remainder, ties to the lower index)."""
    if total < 0:
        raise ValueError("cannot allocate a negative total")
    weight_sum = sum(weights)
    if total == 0 or not weights:
        return [0] * len(weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate a positive total over zero weights")
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


def basket(lines: Sequence[LineIn], basket_discount: int, mode: int, rounding: int) -> tuple[array, array, Totals]:
    if mode not in (INCLUSIVE, EXCLUSIVE) or rounding not in (ROUND_LINE, ROUND_TOTAL):
        raise NativeError(E_ARGS)
    gross_all, after = [], []
    subtotal = 0
    for index, (price, quantity, rate, discount) in enumerate(lines):
        if price < 0 or quantity < 0 or rate < 0 or discount < 0:
            raise NativeError(E_NEGATIVE, line=index)
        if price > MAX_UNIT_PRICE or quantity > MAX_QUANTITY or rate > MAX_TAX_RATE:
            raise NativeError(E_RANGE, line=index)
        gross = line_gross(price, quantity)
        if discount > gross:
            raise NativeError(E_LINE_DISCOUNT, line=index)
        subtotal += gross
        if subtotal > MAX_TOTAL:
            raise NativeError(E_RANGE, line=index)
        gross_all.append(gross)
        after.append(gross - discount)
    if basket_discount < 0:
        raise NativeError(E_NEGATIVE)
    if basket_discount > sum(after):
        raise NativeError(E_BASKET_DISCOUNT)
    shares = allocate(basket_discount, after)
    amounts = [a - s for a, s in zip(after, shares)]
    taxes = [0] * len(lines)
    by_rate: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        by_rate.setdefault(line[2], []).append(index)
    rates = []
    for rate in sorted(by_rate):
        members = by_rate[rate]
        rate_amount = sum(amounts[i] for i in members)
        if rounding == ROUND_LINE:
            for i in members:
                taxes[i] = tax_of(amounts[i], rate, mode)
            rate_tax = sum(taxes[i] for i in members)
        else:
            rate_tax = tax_of(rate_amount, rate, mode)
            for i, part in zip(members, allocate(rate_tax, [amounts[i] for i in members])):
                taxes[i] = part
        rates.append((rate, rate_amount, rate_amount - rate_tax if mode == INCLUSIVE else rate_amount, rate_tax))
    out = array("q", [v for g, line, s, a, t in zip(gross_all, lines, shares, amounts, taxes) for v in (g, line[3], s, a, t)])
    tax_total = sum(taxes)
    items = sum(amounts)
    totals = (subtotal, sum(line[3] for line in lines) + basket_discount, tax_total,
              items if mode == INCLUSIVE else items + tax_total)
    return out, array("q", [v for rate in rates for v in rate]), totals
