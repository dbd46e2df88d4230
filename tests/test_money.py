"""Integer money and quantities: exact parsing and formatting, typed errors for bad text."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from appliance.core.money import (
    div_round_half_up, format_amount, format_percent, format_quantity, parse_amount, parse_percent, parse_quantity,
)
from appliance.errors import InputError


@pytest.mark.parametrize("text, exponent, minor", [
    ("12.50", 2, 1250), ("12", 2, 1200), ("0.05", 2, 5), ("-3.5", 2, -350), (" 7.1 ", 2, 710), ("1000", 0, 1000),
    ("1.2345", 4, 12345),
])
def test_parse_amount(text, exponent, minor):
    assert parse_amount(text, exponent) == minor


@pytest.mark.parametrize("text, reason", [
    ("1.005", "decimal places"), ("abc", "not a number"), ("", "not a number"), ("NaN", "not a number"),
    ("inf", "not a number"), ("1,50", "not a number"), ("1e400", "not a number"), ("1e2", "not a number"),
    ("99999999999999999", "too large"), ("١٢", "not a number"),
])
def test_bad_amounts_are_typed_errors(text, reason):
    with pytest.raises(InputError, match=reason):
        parse_amount(text, 2)


@given(st.integers(-10**12 + 1, 10**12 - 1), st.integers(0, 3))
def test_format_then_parse_round_trips(minor, exponent):
    assert parse_amount(format_amount(minor, exponent), exponent) == minor


def test_percent_and_quantity():
    assert parse_percent("13%") == 1300 and parse_percent("6.5 %") == 650 and parse_percent("0") == 0
    assert format_percent(650) == "6.5%" and format_percent(1300) == "13%"
    with pytest.raises(InputError, match="between 0% and 100%"):
        parse_percent("120%")
    assert parse_quantity("0.532") == 532 and format_quantity(532) == "0.532"
    with pytest.raises(InputError, match="greater than zero"):
        parse_quantity("0")
    with pytest.raises(InputError, match="decimal places"):
        parse_quantity("0.0005")


@given(st.integers(-10**9, 10**9), st.integers(1, 10**6))
def test_round_half_up_is_symmetric_and_close(numerator, denominator):
    result = div_round_half_up(numerator, denominator)
    assert abs(result * denominator - numerator) * 2 <= denominator
    assert div_round_half_up(-numerator, denominator) == -result
