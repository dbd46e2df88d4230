"""GET PROCESSING OPTIONS and READ RECORD (EMV Book 3 10.1-10.2, static data per 10.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.emv.records import CardDataError, ConditionsNotSatisfied, gpo, parse_afl, read_afl
from appliance.emv.tlv import encode
from tests.emv.scripted import ScriptedTransport

PDOL = bytes.fromhex("9F02069F1A02")
VALUES = {0x9F02: bytes.fromhex("000000001234"), 0x9F1A: b"\x01\x56"}


def test_gpo_sends_the_pdol_data_in_tag_83_and_reads_format_1():
    script = ScriptedTransport([("80A800000A8308000000001234015600", "800A5800080101001001020190 00")])
    processing = gpo(script.channel(), PDOL, VALUES)
    assert processing.aip == bytes.fromhex("5800")
    assert processing.afl == bytes.fromhex("0801010010010201")
    assert processing.data == {0x82: processing.aip, 0x94: processing.afl}


def test_gpo_without_pdol_sends_an_empty_83():
    script = ScriptedTransport([("80A80000028300 00", "800A5800080101001001020190 00")])
    assert gpo(script.channel(), b"", VALUES).aip == bytes.fromhex("5800")


def test_gpo_format_2_keeps_every_primitive_tag():
    answer = encode(0x77, encode(0x82, b"\x39\x00") + encode(0x94, bytes.fromhex("08010100"))
                    + encode(0x9F36, b"\x00\x11") + encode(0x9F10, b"\x06\x01\x0a\x03\x00\x00\x00"))
    processing = gpo(ScriptedTransport([("80A8", answer.hex() + "9000")]).channel(), b"", {})
    assert processing.aip == b"\x39\x00" and processing.afl == bytes.fromhex("08010100")
    assert processing.data[0x9F36] == b"\x00\x11" and 0x9F10 in processing.data


def test_gpo_format_2_without_afl_is_accepted_with_an_empty_afl():
    """A qVSDC card with everything in its GPO answer leaves 94 out (Book C-3); the kernel decides if it needs one."""
    answer = encode(0x77, encode(0x82, b"\x00\x20") + encode(0x9F36, b"\x00\x11"))
    processing = gpo(ScriptedTransport([("80A8", answer.hex() + "9000")]).channel(), b"", {})
    assert processing.aip == b"\x00\x20" and processing.afl == b""
    assert processing.data == {0x82: b"\x00\x20", 0x9F36: b"\x00\x11"}


@pytest.mark.parametrize(("answer", "message"), [
    (encode(0x77, encode(0x94, bytes.fromhex("08010100"))).hex(), "lacks 82"),
    (encode(0x80, b"\x39").hex(), "no AIP"),
    (encode(0x70, b"").hex(), "neither template 77 nor 80"),
])
def test_gpo_answers_without_aip_are_refused(answer: str, message: str):
    with pytest.raises(CardDataError, match=message):
        gpo(ScriptedTransport([("80A8", answer + "9000")]).channel(), b"", {})


def test_gpo_6985_is_conditions_not_satisfied():
    with pytest.raises(ConditionsNotSatisfied, match="try another application or interface") as raised:
        gpo(ScriptedTransport([("80A8", "6985")]).channel(), b"", {})
    assert raised.value.sw == 0x6985


def test_parse_afl_entries():
    assert parse_afl(bytes.fromhex("08010101100102011801030058010100")) == [
        (1, 1, 1, 1), (2, 1, 2, 1), (3, 1, 3, 0), (11, 1, 1, 0)]
    assert parse_afl(b"") == []


@pytest.mark.parametrize("afl", ["080101", "09010100", "00010100", "08000100", "08020100", "08010102", "F8010100"])
def test_bad_afl_is_refused(afl: str):
    with pytest.raises(CardDataError, match="AFL"):
        parse_afl(bytes.fromhex(afl))


@given(st.binary(max_size=40))
def test_parse_afl_either_parses_or_refuses(afl: bytes):
    try:
        entries = parse_afl(afl)
    except CardDataError:
        return
    assert len(entries) * 4 == len(afl)
    for sfi, first, last, oda in entries:
        assert 1 <= sfi <= 30 and 1 <= first <= last and 0 <= oda <= last - first + 1


def test_read_afl_collects_tags_and_the_signed_records():
    sfi1 = encode(0x70, encode(0x5A, bytes.fromhex("4761739001010119")))
    sfi2_1 = encode(0x70, encode(0x5F24, bytes.fromhex("291231")))
    sfi2_2 = encode(0x70, encode(0x8F, b"\x92"))
    sfi11 = encode(0x70, encode(0x9F08, b"\x00\x8c"))
    script = ScriptedTransport([
        ("00B2010C", sfi1.hex() + "9000"), ("00B20114", sfi2_1.hex() + "9000"),
        ("00B20214", sfi2_2.hex() + "9000"), ("00B2015C", sfi11.hex() + "9000"),
    ])
    data = read_afl(script.channel(), bytes.fromhex("08010101100102015801010 1".replace(" ", "")))
    assert data.tags == {0x5A: bytes.fromhex("4761739001010119"), 0x5F24: bytes.fromhex("291231"), 0x8F: b"\x92",
                         0x9F08: b"\x00\x8c"}
    # SFI 1-10: the value inside 70; SFI 11-30: the whole record; unsigned records left out
    assert data.static_data == sfi1[2:] + sfi2_1[2:] + sfi11


def test_a_record_outside_template_70_is_refused():
    script = ScriptedTransport([("00B2010C", encode(0x5A, b"\x47").hex() + "9000")])
    with pytest.raises(CardDataError, match="not a template 70") as raised:
        read_afl(script.channel(), bytes.fromhex("08010101"))
    assert raised.value.code == "icc_data_missing"


def test_a_tag_in_two_records_is_refused():
    record = encode(0x70, encode(0x5F24, bytes.fromhex("291231"))).hex() + "9000"
    script = ScriptedTransport([("00B2010C", record), ("00B2020C", record)])
    with pytest.raises(CardDataError, match="5F24 appears twice"):
        read_afl(script.channel(), bytes.fromhex("08010200"))


def test_a_missing_record_is_a_card_error():
    with pytest.raises(Exception) as raised:
        read_afl(ScriptedTransport([("00B2010C", "6A83")]).channel(), bytes.fromhex("08010100"))
    assert getattr(raised.value, "code", "") == "record_not_found"
