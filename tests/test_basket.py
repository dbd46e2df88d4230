"""Basket arithmetic: exact to the minor unit, in both tax modes and both rounding rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from appliance.core.basket import LineInput, allocate, compute, line_gross, tax_of
from appliance.core.money import div_round_half_up

RATES = st.sampled_from([0, 600, 900, 1300, 2000])


@st.composite
def baskets(draw):
    count = draw(st.integers(1, 25))
    lines = []
    for _ in range(count):
        price = draw(st.integers(0, 500_000))
        qty = draw(st.one_of(st.integers(1, 50).map(lambda n: n * 1000), st.integers(1, 20_000)))
        gross = line_gross(price, qty)
        lines.append(LineInput(price, qty, draw(RATES), draw(st.integers(0, gross))))
    after = sum(line_gross(l.unit_price, l.quantity) - l.discount for l in lines)
    return lines, draw(st.integers(0, after))


@given(baskets(), st.sampled_from(["inclusive", "exclusive"]), st.sampled_from(["line", "total"]))
@settings(max_examples=400)
def test_totals_add_up_exactly(basket, mode, rounding):
    lines, basket_discount = basket
    result = compute(lines, basket_discount, mode=mode, rounding=rounding)
    amounts = sum(l.amount for l in result.lines)
    # Lines + tax = total (exclusive); lines = total with tax inside (inclusive).
    assert result.total == (amounts if mode == "inclusive" else amounts + result.tax)
    assert result.tax == sum(l.tax for l in result.lines) == sum(r.tax for r in result.rates)
    assert sum(r.amount for r in result.rates) == amounts
    for rate in result.rates:
        assert rate.net + (rate.tax if mode == "inclusive" else 0) == rate.amount
    # The basket discount is spread exactly, never making a line negative.
    assert sum(l.basket_share for l in result.lines) == basket_discount
    assert all(l.amount >= 0 and l.amount == l.gross - l.discount - l.basket_share for l in result.lines)
    assert result.subtotal - result.discount == amounts


@given(baskets(), st.sampled_from(["inclusive", "exclusive"]))
def test_tax_rounded_once_per_rate_in_total_mode(basket, mode):
    lines, discount = basket
    result = compute(lines, discount, mode=mode, rounding="total")
    for rate in result.rates:
        assert rate.tax == tax_of(rate.amount, rate.rate, mode)


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=40))
def test_allocation_is_exact_and_proportional(total, weights):
    if sum(weights) == 0:
        if total:
            with pytest.raises(ValueError):
                allocate(total, weights)
        return
    parts = allocate(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights):
        exact = total * weight / sum(weights)
        assert abs(part - exact) < 1  # each part is the floor or the ceiling of its exact share


def test_allocation_ties_go_to_the_earlier_line():
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(5, [0, 3, 3]) == [0, 3, 2]


def test_known_inclusive_example():
    # Two 13% lines and one 9% line, 1.00 off the basket.
    lines = [LineInput(350, 2000, 1300), LineInput(990, 1000, 900), LineInput(250, 1000, 1300, discount=50)]
    result = compute(lines, 100, mode="inclusive", rounding="line")
    assert [l.gross for l in result.lines] == [700, 990, 250]
    # 100 over weights 700/990/200: floors 37/52/10, the spare unit to the largest remainder (.58)
    assert [l.basket_share for l in result.lines] == [37, 52, 11]
    assert result.total == 700 + 990 + 200 - 100
    # 938 x 9/109 = 77.45 -> 77; 663 x 13/113 = 76.27 -> 76 and 189 x 13/113 = 21.74 -> 22
    assert [(r.rate, r.amount, r.tax) for r in result.rates] == [(900, 938, 77), (1300, 852, 98)]


def test_known_exclusive_example():
    result = compute([LineInput(1000, 3000, 1300)], 0, mode="exclusive", rounding="total")
    assert (result.total, result.tax) == (3390, 390)


def test_weighed_line_rounds_half_up():
    # 0.532 kg at 12.80/kg = 6.8096 -> 6.81; 0.125 kg at 0.20/kg = 0.025 -> 0.03
    assert line_gross(1280, 532) == 681
    assert line_gross(20, 125) == 3
    assert div_round_half_up(-25, 10) == -3  # refunds round symmetrically


@pytest.mark.parametrize(
    "line, discount",
    [
        (LineInput(100, 1000, 1300, discount=101), 0),  # line discount above its price
        (LineInput(100, 1000, 1300), 101),  # basket discount above the basket
        (LineInput(-1, 1000, 1300), 0),
        (LineInput(100, -1000, 1300), 0),
        (LineInput(100, 1000, 1300), -1),
    ],
)
def test_impossible_input_is_refused(line, discount):
    with pytest.raises(ValueError):
        compute([line], discount)


def test_empty_basket_is_zero():
    result = compute([], 0)
    assert (result.total, result.tax, result.lines) == (0, 0, ())
