"""The hot path, C and Python twin alike: known answers, every error with its offset, and which one runs."""

from __future__ import annotations

import os

import pytest

from appliance import native
from appliance.native import errors as E
from appliance.native.errors import NativeError

IMPLS = [pytest.param(native.TWIN, id="twin")]


def records(flat) -> list[tuple[int, ...]]:
    """Packed TLV records (six values each) as tuples."""
    return list(zip(*[iter(flat)] * 6))


def lines_of(flat) -> list[tuple[int, ...]]:
    """Packed basket line results (five values each) as tuples."""
    return list(zip(*[iter(flat)] * 5))

if native.C is not None:
    IMPLS.append(pytest.param(native.C, id="c"))


@pytest.mark.skipif(os.environ.get("APPLIANCE_REQUIRE_NATIVE") != "1", reason="only where the C build is required")
def test_the_c_module_is_what_runs():
    assert native.ACTIVE == "c", native.REASON
    assert native.describe() == "native: C hot path"
    wanted = os.environ.get("APPLIANCE_NATIVE_LIB")  # the sanitizer build of make native-asan
    assert (wanted or "appliance/_native") in native.REASON


def test_the_twin_can_be_forced(monkeypatch):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "from appliance import native; print(native.ACTIVE, native.describe())"],
        env={**os.environ, "APPLIANCE_NATIVE": "python", "APPLIANCE_NATIVE_LIB": ""},
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("python native: Python twin (APPLIANCE_NATIVE=python)")


# ---- check digits: published examples


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("digits, result", [
    ("79927398713", 0),  # the ISO/IEC 7812 worked example
    ("4111111111111111", 0), ("5555555555554444", 0), ("378282246310005", 0), ("4761739001010119", 0),
    ("79927398710", 1), ("4111111111111112", 1), ("0", 0), ("1", 1),
    ("", -1), ("4111 1111", -1), ("411111111111111a", -1), ("４１１１", -1), ("١٢٣", -1),
])
def test_luhn(impl, digits, result):
    assert impl.luhn_check(digits) == result


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("body, digit", [
    ("400638133393", 1),  # EAN-13 4006381333931
    ("03600029145", 2),  # UPC-A 036000291452
    ("9638507", 4),  # EAN-8 96385074
    ("690123456789", 2),
    ("", 0),
    ("12a", -1),
    ("１２３", -1),
])
def test_gtin_check_digit(impl, body, digit):
    assert impl.gtin_check_digit(body) == digit


# ---- framing


@pytest.mark.parametrize("impl", IMPLS)
def test_crc16_ccitt_false_and_lrc(impl):
    assert impl.crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue check value
    assert impl.crc16_ccitt_false(b"") == 0xFFFF
    assert impl.crc16_ccitt_false(bytes(range(256))) == native.TWIN.crc16_ccitt_false(bytes(range(256)))
    assert impl.lrc_xor(b"\x02ABC\x03") == 0x02 ^ 0x41 ^ 0x42 ^ 0x43 ^ 0x03
    assert impl.lrc_xor(b"") == 0


# ---- raster


@pytest.mark.parametrize("impl", IMPLS)
def test_raster_packs_rows_msb_first_with_zero_padding(impl):
    # 10 x 2: first row alternates black/white, second row all black.
    gray = bytes([0, 255] * 5) + bytes([10] * 10)
    assert impl.raster_pack(gray, 10, 2, 128) == bytes([0b10101010, 0b10000000, 0xFF, 0b11000000])
    assert impl.raster_pack(b"", 0, 0, 128) == b""
    assert impl.raster_pack(bytes([127, 128]), 2, 1, 128) == bytes([0b10000000])  # below threshold is black


@pytest.mark.parametrize("impl", IMPLS)
def test_raster_refuses_a_buffer_of_the_wrong_size(impl):
    with pytest.raises(NativeError) as err:
        impl.raster_pack(bytes(5), 3, 2, 128)
    assert err.value.native_code == E.E_ARGS


# ---- TLV: real responses decode to the expected tree


def shape(data: bytes, impl) -> list:
    """Rebuild the nesting from flat records: [(tag hex, value hex | children)]."""
    found = records(impl.tlv_decode(data))
    def build(i: int, depth: int):
        out = []
        while i < len(found) and found[i][1] == depth:
            tag, _, offset, length, constructed, _ = found[i]
            i += 1
            if constructed:
                children, i = build(i, depth + 1)
                out.append((f"{tag:X}", children))
            else:
                out.append((f"{tag:X}", data[offset : offset + length].hex().upper()))
        return out, i
    return build(0, 0)[0]


PPSE_FCI = "6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A000000003101087 0101"
ADF_FCI = (
    "6F3B8407A0000000031010A530500B564953412043524544495487010"
    "19F38189F66049F02069F03069F1A0295055F2A029A039C019F37045F2D02656E"
)
GPO_FORMAT_2 = "770E82022000940808010100 10010300"
GPO_FORMAT_1 = "800A1C000801010010010300"
READ_RECORD = (
    "704A57134761739001010119D22122011143804400000F5F200F43415244484F4C4445522F56495341"
    "9F1F10313130303030303030303030303030305A0847617390010101195F2403221231"
)


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("impl", IMPLS)
def test_ppse_fci(impl):
    assert shape(hexbytes(PPSE_FCI), impl) == [("6F", [
        ("84", "325041592E5359532E4444463031"),
        ("A5", [("BF0C", [("61", [("4F", "A0000000031010"), ("87", "01")])])]),
    ])]


@pytest.mark.parametrize("impl", IMPLS)
def test_adf_fci_with_pdol(impl):
    assert shape(hexbytes(ADF_FCI), impl) == [("6F", [
        ("84", "A0000000031010"),
        ("A5", [
            ("50", "56495341204352454449" "54"),
            ("87", "01"),
            ("9F38", "9F66049F02069F03069F1A0295055F2A029A039C019F3704"),
            ("5F2D", "656E"),
        ]),
    ])]


@pytest.mark.parametrize("impl", IMPLS)
def test_gpo_responses(impl):
    assert shape(hexbytes(GPO_FORMAT_2), impl) == [("77", [("82", "2000"), ("94", "0801010010010300")])]
    assert shape(hexbytes(GPO_FORMAT_1), impl) == [("80", "1C000801010010010300")]


@pytest.mark.parametrize("impl", IMPLS)
def test_read_record(impl):
    assert shape(hexbytes(READ_RECORD), impl) == [("70", [
        ("57", "4761739001010119D22122011143804400000F"),
        ("5F20", "43415244484F4C4445522F56495341"),
        ("9F1F", "31313030303030303030303030303030"),
        ("5A", "4761739001010119"),
        ("5F24", "221231"),
    ])]


@pytest.mark.parametrize("impl", IMPLS)
def test_records_carry_offsets_and_padding_is_skipped(impl):
    data = hexbytes("00 00 9F02 06 000000001000 00 82 02 2000 00")
    assert records(impl.tlv_decode(data)) == [(0x9F02, 0, 5, 6, 0, 2), (0x82, 0, 14, 2, 0, 12)]
    assert records(impl.tlv_decode(b"")) == [] and records(impl.tlv_decode(b"\x00\x00")) == []
    long_form = hexbytes("5F50 81 80") + b"u" * 128
    assert records(impl.tlv_decode(long_form)) == [(0x5F50, 0, 4, 128, 0, 0)]
    four = hexbytes("70 84 00000003 8201FF")
    assert records(impl.tlv_decode(four)) == [(0x70, 0, 6, 3, 1, 0), (0x82, 1, 8, 1, 0, 6)]


# ---- TLV: every error, with its offset


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("data, code, offset", [
    ("9F", E.TLV_E_TRUNCATED, 1),  # tag cut short
    ("9F02", E.TLV_E_TRUNCATED, 2),  # no length
    ("5F8181818101", E.TLV_E_TAG_TOO_LONG, 0),  # a fifth tag byte
    ("9F0280", E.TLV_E_INDEFINITE, 2),
    ("9F0285 0000000001", E.TLV_E_LENGTH_BYTES, 2),
    ("9F0282 01", E.TLV_E_TRUNCATED, 4),  # long length cut short
    ("9F0206 0000", E.TLV_E_OVERRUN, 2),  # value past the end
    ("70 04 9F02 03 00", E.TLV_E_OVERRUN, 4),  # a child past its parent
    ("70 02 9F02 05 00000000", E.TLV_E_TRUNCATED, 4),  # the parent ends inside the child's header
    ("9F02 84 FFFFFFFF", E.TLV_E_OVERRUN, 2),  # 4 GiB value in a few bytes
])
def test_malformed_tlv(impl, data, code, offset):
    with pytest.raises(NativeError) as err:
        impl.tlv_decode(hexbytes(data))
    assert (err.value.native_code, err.value.offset) == (code, offset)
    assert f"byte {offset}" in str(err.value)


@pytest.mark.parametrize("impl", IMPLS)
def test_nesting_beyond_the_limit(impl):
    data = b""
    for _ in range(5):
        data = b"\x70" + bytes([len(data)]) + data  # five nested empty templates: depths 0..4
    assert len(records(impl.tlv_decode(data, max_depth=4))) == 5
    with pytest.raises(NativeError) as err:
        impl.tlv_decode(data, max_depth=3)
    assert (err.value.native_code, err.value.offset) == (E.TLV_E_DEPTH, 8)
    deep = b""
    for _ in range(60):  # deeper than any limit: refused, never a stack overflow
        deep = b"\x70" + bytes([len(deep)]) + deep if len(deep) < 0x80 else b"\x70\x81" + bytes([len(deep)]) + deep
    with pytest.raises(NativeError) as err:
        impl.tlv_decode(deep, max_depth=1000)
    assert err.value.native_code == E.TLV_E_DEPTH


# ---- basket: errors name the line


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("lines, discount, code, line", [
    ([(100, 1000, 1300, 0), (-1, 1000, 1300, 0)], 0, E.E_NEGATIVE, 1),
    ([(100, 1000, 1300, 101)], 0, E.E_LINE_DISCOUNT, 0),
    ([(10**12 + 1, 1000, 1300, 0)], 0, E.E_RANGE, 0),
    ([(10**12, 10**9, 0, 0)], 0, E.E_RANGE, 0),  # 10^18: beyond the largest total
    ([(100, 1000, 10**6 + 1, 0)], 0, E.E_RANGE, 0),
    ([(100, 1000, 1300, 0)], 101, E.E_BASKET_DISCOUNT, None),
    ([(100, 1000, 1300, 0)], -1, E.E_NEGATIVE, None),
])
def test_basket_errors(impl, lines, discount, code, line):
    with pytest.raises(NativeError) as err:
        impl.basket(lines, discount, 0, 0)
    assert (err.value.native_code, err.value.line) == (code, line)


@pytest.mark.parametrize("impl", IMPLS)
def test_basket_refuses_unknown_modes(impl):
    with pytest.raises(NativeError) as err:
        impl.basket([], 0, 2, 0)
    assert err.value.native_code == E.E_ARGS


@pytest.mark.parametrize("impl", IMPLS)
def test_basket_at_the_largest_allowed_total(impl):
    lines = [(10**9, 10**6, 1300, 0)] * 1000  # 1,000 lines of 10^12: exactly 10^15
    out, rates, totals = impl.basket(lines, 10**15 - 1, 1, 1)
    assert totals[0] == 10**15 and sum(o[2] for o in lines_of(out)) == 10**15 - 1
    assert totals == native.TWIN.basket(lines, 10**15 - 1, 1, 1)[2]


@pytest.mark.parametrize("impl", IMPLS)
def test_many_leftover_units_are_spread_by_largest_remainder(impl):
    """100 equal lines and 99 units off: 99 leftover units, more than the selection fast path takes."""
    lines = [(100, 1000, 1300, 0)] * 100 + [(7, 3000, 900, 0)] * 50
    out, _, totals = impl.basket(lines, 99 + 150, 0, 1)
    assert out == native.TWIN.basket(lines, 99 + 150, 0, 1)[0]
    assert sum(o[2] for o in lines_of(out)) == 249 and totals == native.TWIN.basket(lines, 249, 0, 1)[2]
