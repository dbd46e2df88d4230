"""ISO 8583 codec: every message class round-trips, logs are masked, garbage is refused by field."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.emv import iso8583, tlv
from appliance.emv.iso8583 import MessageError, Totals
from tests.emv.keys import APPROVE

TRACK2 = APPROVE + "D29122011234567800"
PIN_BLOCK = bytes.fromhex("041277CDDEEFF669")
ICC = tlv.encode(0x9F26, bytes.fromhex("1122334455667788")) + tlv.encode(0x5A, bytes.fromhex(APPROVE)) + tlv.encode(
    0x57, bytes.fromhex(TRACK2)
)

BASE = {"7": "0102030405", "11": "000123", "41": "TERM0001", "42": "MERCHANT0000001"}
CARD = {"2": APPROVE, "3": "000000", "4": "000000001234", "12": "101112", "13": "0102", "14": "2912",
        "22": "051", "23": "001", "25": "00", "35": TRACK2, "49": "978", "52": PIN_BLOCK,
        "54": "0044978C000000000200", "55": ICC}  # fmt: skip
MESSAGES = {
    "0100": {**BASE, **CARD},
    "0110": {**BASE, "37": "000000000001", "38": "A12345", "39": "00", "55": tlv.encode(0x91, bytes(8) + b"00")},
    "0200": {**BASE, **CARD},
    "0210": {**BASE, "37": "000000000002", "39": "05"},
    "0220": {**BASE, **CARD, "39": "Y1"},
    "0230": {**BASE, "39": "00"},
    "0400": {**BASE, "4": "000000001234", "60": "timeout", "90": "0100" + "000123" + "0102030405" + "0" * 22},
    "0410": {**BASE, "39": "00"},
    "0500": {**BASE, "60": "000007", "63": Totals(3, 4500, 1, 1000).to_field()},
    "0510": {**BASE, "39": "95", "60": "000007", "63": Totals(2, 3500, 1, 1000).to_field()},
    "0800": BASE,
    "0810": {**BASE, "39": "00"},
    "0400-95": {**BASE, "95": "000000000500" + "0" * 30, "90": "0200" + "000123" + "0102030405" + "0" * 22},
}


@pytest.mark.parametrize("name", MESSAGES)
def test_every_message_type_round_trips(name):
    fields = {"t": name[:4], **MESSAGES[name]}
    assert iso8583.decode(iso8583.encode(fields)) == fields


def test_the_secondary_bitmap_appears_only_for_fields_above_64():
    short = iso8583.encode({"t": "0800", **BASE})
    assert short[4] & 0x80 == 0
    long = iso8583.encode({"t": "0400", **MESSAGES["0400"]})
    assert long[4] & 0x80  # bit 1: secondary bitmap present for field 90


def test_totals_round_trip_and_refuse_bad_text():
    totals = Totals(12, 345_678, 2, 900)
    assert Totals.from_field(totals.to_field()) == totals
    with pytest.raises(MessageError) as err:
        Totals.from_field("12x")
    assert err.value.field == "63"


def test_describe_masks_pan_track_pin_block_and_icc_card_data():
    fields = {"t": "0100", **MESSAGES["0100"]}
    text = iso8583.describe(fields)
    assert "476173******0119" in text
    for secret in (APPROVE, TRACK2, TRACK2[:20], PIN_BLOCK.hex(), PIN_BLOCK.hex().upper(), "29122011234567800"):
        assert secret not in text
    assert "PIN block masked" in text and "track 2" in text
    assert "9F26" in text and "1122334455667788" in text  # non-sensitive ICC data stays readable


def test_describe_survives_icc_data_that_is_not_tlv():
    assert "not TLV" in iso8583.describe({"t": "0100", "55": b"\x9f\x26\x09\x01"})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "t"),
        (b"01", "t"),
        (b"0100", "p"),
        (b"0100\xff" + bytes(7), "1"),  # bit 1 says a secondary bitmap follows; it does not
        (b"9999" + bytes(8), "t"),  # not a message type of this interface
        (b"0100\x40" + bytes(7) + b"9", "2"),  # an LLVAR length cut short
        (b"0100\x40" + bytes(7) + b"0412ab", "2"),  # PAN that is not digits
        (b"0100\x08" + bytes(7) + b"1", "5"),  # field 5 is not part of this interface
    ],
)
def test_garbage_is_refused_naming_the_field(raw, field):
    with pytest.raises(MessageError) as err:
        iso8583.decode(raw)
    assert err.value.field == field
    assert f"field {field}" in str(err.value)


def test_a_truncated_message_names_the_field_it_cut():
    raw = iso8583.encode({"t": "0100", **MESSAGES["0100"]})
    with pytest.raises(MessageError) as err:
        iso8583.decode(raw[:-3])
    assert err.value.field == "55"
    with pytest.raises(MessageError) as err:
        iso8583.decode(raw + b"x")
    assert "Extra data" in str(err.value)


def test_encode_refuses_bad_values_by_field():
    for fields, field in (
        ({"t": "0100", "4": "12"}, "4"),  # fixed field too short
        ({"t": "0100", "4": "00000000001x"}, "4"),
        ({"t": "0100", "52": "not bytes"}, "52"),
        ({"t": "0100", "35": "4761;abc"}, "35"),
        ({"t": "0100", "64": "x"}, "64"),
        ({"3": "000000"}, "t"),
    ):
        with pytest.raises(MessageError) as err:
            iso8583.encode(fields)
        assert err.value.field == field


def test_frames_carry_a_two_byte_big_endian_length():
    payload = iso8583.encode({"t": "0800", **BASE})
    framed = iso8583.frame(payload)
    assert framed[:2] == len(payload).to_bytes(2, "big") and framed[2:] == payload
    with pytest.raises(MessageError):
        iso8583.frame(bytes(70_000))


def test_read_frame_reads_one_whole_frame_and_reports_a_cut_connection():
    left, right = socket.socketpair()
    with left, right:
        payload = iso8583.encode({"t": "0800", **BASE})
        data = iso8583.frame(payload) + iso8583.frame(b"second")
        for i in range(0, len(data), 5):  # arrives in pieces, as TCP may deliver it
            left.sendall(data[i : i + 5])
        assert iso8583.read_frame(right) == payload
        assert iso8583.read_frame(right) == b"second"
        left.sendall(b"\x00\x10abc")
        left.close()
        with pytest.raises(iso8583.ConnectionClosed):
            iso8583.read_frame(right)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_decode_never_crashes_on_random_bytes(raw):
    try:
        fields = iso8583.decode(raw)
    except MessageError as exc:
        assert exc.field
    else:
        assert fields["t"] in iso8583.MTIS


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(MESSAGES)), st.data())
def test_decode_never_crashes_on_mutated_messages(name, data):
    raw = bytearray(iso8583.encode({"t": name[:4], **MESSAGES[name]}))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        iso8583.decode(bytes(raw[:cut]))
    except MessageError as exc:
        assert exc.field
