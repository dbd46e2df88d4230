"""Magstripe swipes: ISO/IEC 7813 track parsing, LRC, Luhn, expiry, and the chip/fallback/online policy."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.emv.magstripe import (
    BAD_CHECK_DIGIT, EXPIRED, UNREADABLE, Swipe, SwipeError, luhn_ok, parse, swipe_decision,
)
from appliance.native.secret import Secret
from tests.emv.keys import APPROVE

TODAY = date(2026, 11, 24)
TRACK1 = b"%B4761739001010119^CARDHOLDER/TEST^2812201123400000000?"
TRACK2 = b";4761739001010119=28122011234?"
MAGSTRIPE_ONLY = b";4761739001010119=28121011234?"  # service code 101: no chip


def lrc(track: bytes) -> bytes:
    """The LRC character as ISO/IEC 7811 defines it (XOR of the data bits, sentinels included)."""
    six_bit = track[:1] == b"%"
    value = 0
    for char in track:
        value ^= char - (0x20 if six_bit else 0x30)
    return bytes([value + (0x20 if six_bit else 0x30)])


def luhn_complete(body: str) -> str:
    return next(body + digit for digit in "0123456789" if luhn_ok(body + digit))


def test_both_tracks_give_the_fields_and_drop_the_name():
    swipe = parse(Secret(TRACK1 + TRACK2), today=TODAY)
    assert swipe.pan == Secret(APPROVE.encode())
    assert swipe.masked_pan == "476173******0119"
    assert (swipe.expiry, swipe.service_code, swipe.chip_card) == ("2812", "201", True)
    assert swipe.track2 == Secret(TRACK2[1:-1])
    assert swipe.track1 == Secret(TRACK1[1:-1])
    assert "CARDHOLDER" not in repr(swipe) and APPROVE not in repr(swipe)


def test_track2_alone_and_track1_alone():
    assert parse(Secret(TRACK2 + b"\r\n")).track1 == Secret(b"")
    only1 = parse(Secret(TRACK1))
    assert only1.track2 == Secret(b"") and only1.pan == Secret(APPROVE.encode()) and only1.service_code == "201"


def test_hand_computed_track2_lrc_is_accepted_and_a_wrong_one_refused():
    # 4-bit values ; 4 0.. 2 = 2 5 1 2 1 0 1 1 ? are B 4 0.. 2 D 2 5 1 2 1 0 1 1 F; their XOR is A, sent as ':'
    track = b";4000000000000002=25121011?"
    assert lrc(track) == b":"
    assert parse(Secret(track + b":")).service_code == "101"
    with pytest.raises(SwipeError, match=UNREADABLE):
        parse(Secret(track + b"4"))


def test_lrc_on_both_tracks_and_a_track1_lrc_that_looks_like_a_start_sentinel():
    assert parse(Secret(TRACK1 + lrc(TRACK1) + TRACK2 + lrc(TRACK2))).track2 == Secret(TRACK2[1:-1])
    # find a track 1 whose LRC is ';' (the track 2 start sentinel) by varying the name
    track1 = next(t for a in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                  if lrc(t := b"%B4761739001010119^CARDHOLDER/" + bytes([a, b]) + b"^28122011234?") == b";")
    assert parse(Secret(track1 + b";" + TRACK2)).track1 == Secret(track1[1:-1])  # LRC present
    assert parse(Secret(track1 + TRACK2)).track2 == Secret(TRACK2[1:-1])  # no LRC: ';' starts track 2


def test_unreadable_track_markers_and_track3_are_ignored():
    assert parse(Secret(b"%E?" + TRACK2 + b";E?")).track1 == Secret(b"")
    assert parse(Secret(TRACK2 + b";0123456789?")).track2 == Secret(TRACK2[1:-1])


@pytest.mark.parametrize("raw", [
    b"", b"%E?;E?", b"hello", b";4761739001010119=2812201", b";4761739001010119D28122011234?",
    b"%B4761739001010119^CARDHOLDER/TEST^2812201?;4761739001010127=28122011234?",  # tracks disagree
    b"%B4761739001010119^CARDHOLDER/TEST^2712201?" + TRACK2,  # expiry differs between tracks
    b";4761739001010119=2812201" + b"1" * 20 + b"?",  # longer than 40 characters
], ids=["empty", "both-unreadable", "text", "no-end-sentinel", "bad-separator", "pan-mismatch", "expiry-mismatch",
        "too-long"])
def test_garbage_is_could_not_read(raw: bytes):
    with pytest.raises(SwipeError, match=UNREADABLE) as raised:
        parse(Secret(raw))
    assert raised.value.code == "swipe_unreadable"


def test_check_digit_and_expiry_errors_carry_no_card_data():
    bad = "4761739001010118"
    with pytest.raises(SwipeError) as raised:
        parse(Secret(f";{bad}=28122011234?".encode()))
    assert str(raised.value) == BAD_CHECK_DIGIT and bad not in repr(raised.value.args)
    with pytest.raises(SwipeError) as raised:
        parse(Secret(TRACK2), today=date(2029, 1, 1))
    assert str(raised.value) == EXPIRED and APPROVE not in str(raised.value)


def test_valid_to_the_end_of_the_expiry_month():
    swipe = parse(Secret(TRACK2))
    assert parse(Secret(TRACK2), today=date(2028, 12, 31)) == swipe
    with pytest.raises(SwipeError, match=EXPIRED):
        parse(Secret(TRACK2), today=date(2029, 1, 1))


def test_luhn():
    assert luhn_ok(APPROVE) and luhn_ok("5413330089010418") and luhn_ok("79927398713")
    assert not luhn_ok("79927398710") and not luhn_ok("4761x39001010119") and not luhn_ok("")


@pytest.mark.parametrize("service_code,chip_failed,fallback,action,mode", [
    ("201", False, True, "use_chip", ""),  # chip card: insert it, whatever the policy
    ("601", False, True, "use_chip", ""),
    ("201", True, False, "use_chip", ""),  # chip failed but fallback is off
    ("201", True, True, "go_online", "801"),  # fallback, flagged as such
    ("101", False, False, "go_online", "901"),  # stripe-only card
    ("101", True, True, "go_online", "901"),  # not a chip card: not a fallback either
])
def test_swipe_policy(service_code: str, chip_failed: bool, fallback: bool, action: str, mode: str):
    swipe = parse(Secret(f";{APPROVE}=2812{service_code}1234?".encode()))
    decision = swipe_decision(swipe, chip_failed=chip_failed, fallback_to_swipe=fallback, today=TODAY)
    assert (decision.action, decision.entry_mode) == (action, mode)
    assert decision.reason


def test_swipe_policy_refuses_an_expired_card():
    with pytest.raises(SwipeError, match=EXPIRED):
        swipe_decision(parse(Secret(MAGSTRIPE_ONLY)), chip_failed=False, fallback_to_swipe=True, today=date(2030, 1, 1))


@settings(max_examples=200, deadline=None)
@given(body=st.text("0123456789", min_size=11, max_size=18), yymm=st.integers(0, 99).map(lambda y: f"{y:02d}12"),
       sc=st.text("0123456789", min_size=3, max_size=3), dd=st.text("0123456789", max_size=8),
       with_lrc=st.booleans(), with_track1=st.booleans())
def test_round_trip_of_any_well_formed_swipe(body, yymm, sc, dd, with_lrc, with_track1):
    pan = luhn_complete(body)
    track2 = f";{pan}={yymm}{sc}{dd}?".encode()
    track1 = f"%B{pan}^A NAME/X^{yymm}{sc}{dd}?".encode()
    raw = (track1 + (lrc(track1) if with_lrc else b"") if with_track1 else b"") + track2 + (lrc(track2) if with_lrc else b"")
    swipe = parse(Secret(raw))
    assert swipe == Swipe(Secret(pan.encode()), swipe.masked_pan, yymm, sc, Secret(track2[1:-1]),
                          Secret(track1[1:-1] if with_track1 else b""))
    assert swipe.masked_pan.startswith(pan[:6]) and swipe.masked_pan.endswith(pan[-4:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120) | st.text("%;+?=^B0123456789E", max_size=60).map(str.encode))
def test_any_bytes_give_a_swipe_or_a_swipe_error(raw: bytes):
    try:
        parse(Secret(raw))
    except SwipeError as exc:
        assert str(exc) in (UNREADABLE, BAD_CHECK_DIGIT)
