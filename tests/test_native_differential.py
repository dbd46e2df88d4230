"""C and Python twin give identical results, or identical errors (code and line or offset), on any input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from appliance import native
from appliance.emv.tlv import encode
from appliance.native.errors import MAX_QUANTITY, MAX_TAX_RATE, MAX_UNIT_PRICE, NativeError

pytestmark = pytest.mark.skipif(native.C is None, reason=f"the C module is not built here: {native.REASON}")
FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except NativeError as exc:
        return ("error", exc.native_code, exc.line, exc.offset)


def same(name: str, *args):
    c, twin = outcome(getattr(native.C, name), *args), outcome(getattr(native.TWIN, name), *args)
    assert c == twin, f"{name}{args!r}: C {c!r} != twin {twin!r}"
    return c


# ---- TLV


tags = st.sampled_from([0x4F, 0x50, 0x57, 0x5A, 0x82, 0x84, 0x87, 0x94, 0x5F20, 0x5F2D, 0x9F02, 0x9F38, 0x9F6B])
templates = st.sampled_from([0x61, 0x6F, 0x70, 0x77, 0xA5, 0xBF0C])
tlv_trees = st.recursive(
    st.builds(encode, tags, st.binary(max_size=40)),
    lambda children: st.builds(lambda t, kids: encode(t, b"".join(kids)), templates, st.lists(children, max_size=4)),
    max_leaves=20,
)


@st.composite
def mutated(draw):
    data = bytearray(draw(tlv_trees))
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "length"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        else:
            data[at] = draw(st.sampled_from([0x80, 0x81, 0x84, 0x85, 0xFF, 0x7F, 0x00]))
    return bytes(data)


@FAST
@given(st.binary(max_size=200), st.integers(0, 40))
def test_tlv_random_bytes(data, depth):
    same("tlv_decode", data, depth)


@FAST
@given(tlv_trees, st.integers(0, 40))
def test_tlv_valid_trees_decode_the_same(data, depth):
    same("tlv_decode", data, depth)


@FAST
@given(mutated(), st.integers(0, 6))
def test_tlv_damaged_trees(data, depth):
    same("tlv_decode", data, depth)


# ---- basket


def edge(limit: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(0, 2000), st.integers(0, limit), st.sampled_from([-1, 0, limit, limit + 1]))


lines = st.lists(
    st.tuples(edge(MAX_UNIT_PRICE), edge(MAX_QUANTITY), edge(MAX_TAX_RATE), st.one_of(st.integers(0, 500), edge(10**15))),
    max_size=30,
)


@FAST
@given(lines, st.one_of(st.integers(-2, 3000), st.integers(0, 10**15 + 1)), st.integers(0, 2), st.integers(0, 2))
def test_basket_any_input(items, discount, mode, rounding):
    same("basket", items, discount, mode, rounding)


@st.composite
def valid_baskets(draw):
    items = []
    for _ in range(draw(st.integers(0, 40))):
        price, qty = draw(st.integers(0, 100_000)), draw(st.integers(1, 50_000))
        gross = native.TWIN.basket([(price, qty, 0, 0)], 0, 0, 0)[2][0]
        items.append((price, qty, draw(st.sampled_from([0, 600, 900, 1300])), draw(st.integers(0, gross))))
    after = sum(native.TWIN.basket(items, 0, 0, 0)[2][0:1]) - sum(i[3] for i in items)
    return items, draw(st.integers(0, max(after, 0)))


@FAST
@given(valid_baskets(), st.integers(0, 1), st.integers(0, 1))
def test_basket_valid_input(basket, mode, rounding):
    items, discount = basket
    result = same("basket", items, discount, mode, rounding)
    assert result[0] == "ok"


# ---- check digits, framing, raster


@FAST
@given(st.text(max_size=25))
def test_check_digits_on_any_text(text):
    same("luhn_check", text)
    same("gtin_check_digit", text)


@FAST
@given(st.from_regex(r"[0-9]{0,19}", fullmatch=True))
def test_check_digits_on_digits(digits):
    same("luhn_check", digits)
    same("gtin_check_digit", digits)


@FAST
@given(st.binary(max_size=600))
def test_crc_and_lrc(data):
    same("crc16_ccitt_false", data)
    same("lrc_xor", data)


@FAST
@given(st.integers(0, 40), st.integers(0, 12), st.integers(0, 255), st.data())
def test_raster(width, height, threshold, data):
    size = width * height + data.draw(st.sampled_from([0, 0, 0, 1, -1]))
    gray = data.draw(st.binary(min_size=max(size, 0), max_size=max(size, 0)))
    same("raster_pack", gray, width, height, threshold)
