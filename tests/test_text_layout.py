"""Fixed-width layout with double-width Chinese characters."""

from __future__ import annotations

from hypothesis import given, strategies as st

from appliance.display.text import clean, fit, pad, pair, width, wrap


def test_chinese_characters_are_two_columns():
    assert width("可乐") == 4
    assert width("Cola 可乐") == 9
    assert width("ｃｏｌａ") == 8  # full-width Latin
    assert width("e\u0301") == 1  # a combining accent takes no column


def test_fit_never_splits_a_wide_character():
    assert fit("可口可乐", 5) == "可口"
    assert width(fit("可口可乐", 5)) == 4


def test_pad_aligns_by_columns():
    assert pad("可乐", 6) == "可乐  "
    assert pad("可乐", 6, "right") == "  可乐"
    assert pad("可乐", 7, "center") == " 可乐  "


def test_pair_keeps_the_amount_at_the_right_edge():
    assert pair("可口可乐 330ml", "3.50", 32) == ["可口可乐 330ml" + " " * (32 - 14 - 4) + "3.50"]
    lines = pair("  饮料任选3件9元 Any 3 drinks 9.00", "-1.00", 32)
    assert all(width(line) <= 32 for line in lines)
    assert lines[-1].endswith("-1.00") and width(lines[-1]) == 32


def test_control_characters_never_reach_the_paper():
    assert clean("Cola\x1b@\x1dV") == "Cola@V"
    assert "\x1b" not in "".join(wrap("Cola\x1b@ 可乐", 10))


@given(st.text(min_size=0, max_size=80), st.integers(4, 48))
def test_wrap_respects_the_width(text, cells):
    lines = wrap(text, cells)
    assert lines and all(width(line) <= cells for line in lines)


@given(st.text(max_size=60), st.text(max_size=12), st.integers(16, 48))
def test_pair_lines_never_overflow(left, right, cells):
    assert all(width(line) <= cells for line in pair(left, right, cells))
