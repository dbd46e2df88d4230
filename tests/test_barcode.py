"""GTIN check digits, GTIN normalisation and the in-store EAN-13 layouts (appliance.core.barcode)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.core.barcode import (
    InstoreCode,
    InstoreLayout,
    decode_instore,
    gtin_check_digit,
    normalize_gtin,
    validate_layout,
)
from appliance.errors import InputError

WEIGHT = InstoreLayout("22IIIIIWWWWWC")
PRICE = InstoreLayout("21IIIIIPPPPPC")


def with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


def full_width(digits: str) -> str:
    """The same digits as typed with a Chinese input method in full-width mode (U+FF10..U+FF19)."""
    return "".join(chr(ord(c) - ord("0") + 0xFF10) for c in digits)


# --- check digits


@pytest.mark.parametrize(
    "body, digit",
    [
        ("400638133393", 1),  # EAN-13 4006381333931, the GS1 worked example
        ("690000000001", 4),  # demo COLA 6900000000014
        ("6901234", 1),  # EAN-8 69012341 (demo COLA's second barcode)
        ("9638507", 4),  # EAN-8 96385074
        ("03600029145", 2),  # UPC-A 036000291452
        ("000000000000", 0),
    ],
)
def test_check_digit_of_known_codes(body, digit):
    assert gtin_check_digit(body) == digit


# --- normalize_gtin: the good codes


def test_ean13_is_returned_unchanged():
    assert normalize_gtin("6900000000014") == "6900000000014"


def test_ean8_stays_eight_digits():
    assert normalize_gtin("69012341") == "69012341"


def test_upc_a_becomes_ean13_with_a_leading_zero():
    assert normalize_gtin("036000291452") == "0036000291452"
    # ... which is what the same product's EAN-13 form normalises to
    assert normalize_gtin("0036000291452") == "0036000291452"


def test_surrounding_whitespace_from_a_scanner_is_ignored():
    assert normalize_gtin("  6900000000014\r\n") == "6900000000014"
    assert normalize_gtin("\t69012341 ") == "69012341"


# --- normalize_gtin: the bad codes


def test_wrong_check_digit_names_the_expected_digit():
    with pytest.raises(InputError) as info:
        normalize_gtin("6900000000015")
    message = str(info.value)
    assert "EAN-13" in message and "check digit 5" in message and "expected 4" in message


def test_wrong_check_digit_names_the_kind_of_code():
    with pytest.raises(InputError, match=r"EAN-8 .*expected 1"):
        normalize_gtin("69012342")
    with pytest.raises(InputError, match=r"UPC-A .*expected 2"):
        normalize_gtin("036000291453")


@pytest.mark.parametrize("code", ["1234567", "123456789", "12345678901", "12345678901234", "1"])
def test_wrong_length_is_refused_with_the_count(code):
    with pytest.raises(InputError, match=rf"has {len(code)} digits"):
        normalize_gtin(code)


@pytest.mark.parametrize(
    "code",
    [
        "690000000001A",
        "6900-00000001",
        "6900000 000014",  # whitespace inside is not trimmed away
        "+690000000001",
        "6.90000000001",
        "690000000001٤",  # ARABIC-INDIC DIGIT FOUR: str.isdigit() says True
        full_width("6900000000014"),  # isdigit() True, and int() would read them
        "69000000000¹4",  # SUPERSCRIPT ONE: isdigit() True, int() refuses it
    ],
)
def test_non_ascii_digits_are_refused(code):
    assert not code.strip().isascii() or not code.strip().isdigit()  # the pitfall these cases are about
    with pytest.raises(InputError, match="digits only"):
        normalize_gtin(code)


def test_full_width_digits_are_refused_even_with_a_correct_check_digit():
    cola = full_width("6900000000014")  # the demo COLA barcode
    assert cola.startswith("６９") and cola.isdigit() and int(cola) == 6900000000014  # the trap
    with pytest.raises(InputError, match="digits only"):
        normalize_gtin(cola)
    with pytest.raises(InputError, match="digits only"):
        normalize_gtin("69" + full_width("00000000014"))  # mixed widths too


@pytest.mark.parametrize("code", ["", "   ", "\t\n"])
def test_empty_or_blank_is_refused(code):
    with pytest.raises(InputError):
        normalize_gtin(code)


def test_where_is_carried_on_the_error():
    with pytest.raises(InputError) as info:
        normalize_gtin("123", where="line 7, column barcodes")
    assert info.value.where == "line 7, column barcodes"
    assert str(info.value).startswith("line 7, column barcodes: ")


# --- properties


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_body_with_its_check_digit_validates(body):
    code = with_check(body)
    assert normalize_gtin(code) == code


@given(
    st.text(alphabet="0123456789", min_size=12, max_size=12),
    st.integers(min_value=0, max_value=11),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_caught(body, position, shift):
    code = with_check(body)
    changed_digit = str((int(body[position]) + shift) % 10)
    changed = code[:position] + changed_digit + code[position + 1 :]
    assert changed != code
    with pytest.raises(InputError, match="check digit"):
        normalize_gtin(changed)


@given(st.text())
def test_arbitrary_text_gives_a_gtin_or_an_input_error(text):
    try:
        result = normalize_gtin(text)
    except InputError:
        return
    assert len(result) in (8, 13)
    assert result.isascii() and result.isdigit()


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=8, max_size=13).filter(lambda t: not t.isascii()))
def test_non_ascii_decimal_digits_are_always_refused(text):
    # st.text() alone rarely builds all-digit text; this hunts the str.isdigit() trap directly.
    assert text.isdigit()
    with pytest.raises(InputError, match="digits only"):
        normalize_gtin(text)


# --- in-store layouts: the good ones


def test_weight_layout():
    assert WEIGHT.prefix == "22" and WEIGHT.kind == "weight"


def test_price_layout():
    assert PRICE.prefix == "21" and PRICE.kind == "price"


@pytest.mark.parametrize(
    "pattern, prefix, kind",
    [
        ("20IIIIXPPPPPC", "20", "price"),  # X: a price check digit, ignored
        ("23IIIIIXWWWWC", "23", "weight"),
        ("290IIIIWWWWWC", "290", "weight"),  # a three-digit prefix
        ("28IIIIIIIIPPC", "28", "price"),
    ],
)
def test_more_good_layouts(pattern, prefix, kind):
    layout = InstoreLayout(pattern)
    assert (layout.prefix, layout.kind) == (prefix, kind)


# --- in-store layouts: the bad ones


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("22IIIIIWWWWC", "13 characters"),
        ("22IIIIIWWWWWWC", "13 characters"),
        ("", "13 characters"),
        ("IIIIIIIWWWWWC", "prefix"),
        ("31IIIIIWWWWWC", "prefix"),
        ("02IIIIIWWWWWC", "prefix"),
        ("2IIIIIIWWWWWC", "prefix"),  # one digit would claim all of 20-29
        ("22IIIIIWWWWWX", "must end with C"),
        ("22IIIIIWWWWW1", "must end with C"),
        ("2200000000000", "must end with C"),
        ("22WWWWWWWWWWC", "no item code"),
        ("22IIIIPPPWWWC", r"either a price \(P\) or a weight \(W\)"),
        ("22IIIIIXXXXXC", r"either a price \(P\) or a weight \(W\)"),
        ("22IIWWWWWIIIC", "the I digits must be contiguous"),
        ("22IIIIIWWXWWC", "the W digits must be contiguous"),
        ("21PPIIIIIPPPC", "the P digits must be contiguous"),
        ("22iiiiiwwwwwC", "only I, P, W, X"),
        ("22IIIIIQQQQQC", "only I, P, W, X"),
        ("22III5IWWWWWC", "only I, P, W, X"),  # a digit after the prefix
        ("22IIICIWWWWWC", "only I, P, W, X"),  # C only at the end
        ("22IIIII WWWWC", "only I, P, W, X"),
    ],
)
def test_bad_layouts_are_refused_with_a_reason(pattern, message):
    with pytest.raises(ValueError, match=message) as info:
        validate_layout(pattern)
    assert repr(pattern) in str(info.value)  # the message quotes the layout
    with pytest.raises(ValueError, match=message):
        InstoreLayout(pattern)


# --- decoding


def test_decode_a_weight_label():
    code = with_check("22" + "10001" + "00532")
    decoded = decode_instore(code, [PRICE, WEIGHT])
    assert decoded == InstoreCode(code=code, item="10001", kind="weight", value=532)


def test_decode_a_price_label():
    code = with_check("21" + "30001" + "02500")
    decoded = decode_instore(code, [PRICE, WEIGHT])
    assert decoded == InstoreCode(code=code, item="30001", kind="price", value=2500)


def test_decode_keeps_leading_zeros_of_the_item_code():
    code = with_check("22" + "00123" + "01000")
    assert decode_instore(code, [WEIGHT]).item == "00123"


def test_decode_skips_the_ignored_digits():
    layout = InstoreLayout("20IIIIXPPPPPC")
    code = with_check("20" + "4321" + "9" + "01234")
    decoded = decode_instore(code, [layout])
    assert (decoded.item, decoded.kind, decoded.value) == ("4321", "price", 1234)


def test_first_matching_layout_wins_and_order_of_layouts_does_not_matter_otherwise():
    code = with_check("21" + "30001" + "02500")
    assert decode_instore(code, [WEIGHT, PRICE]).kind == "price"


@pytest.mark.parametrize(
    "code",
    [
        "6900000000014",  # an ordinary EAN-13
        with_check("23" + "10001" + "00532"),  # in-store range, but no layout for 23
        "69012341",  # EAN-8
        "0036000291452",
    ],
)
def test_a_code_matching_no_layout_is_not_instore(code):
    assert decode_instore(code, [PRICE, WEIGHT]) is None


def test_no_layouts_means_nothing_decodes():
    assert decode_instore(with_check("22" + "10001" + "00532"), []) is None
