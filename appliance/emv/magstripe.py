"""Magnetic stripe swipes: ISO/IEC 7813 tracks 1 and 2 parsed into a Swipe, and when a swipe may be used.

The stripe reader (appliance/hal/stripe_serial.py) hands over the tracks it read, each
between its sentinels, inside a `Secret`. This module finds track 1 (format B) and
track 2, checks each one's LRC when the reader sends it, cross-checks them, checks the
PAN's Luhn digit and the expiry date, and keeps only what an authorisation needs. The
cardholder name is dropped: nothing downstream prints or sends it. Error messages are
for the merchant and never contain card data.

Swipe policy (EMV chip migration, scheme rules on fallback): a card whose service code
says it has a chip (first digit 2 or 6, ISO/IEC 7813 "IC") must be inserted; it may be
swiped only when its chip failed on this very transaction and the terminal's policy
allows fallback, and then the authorisation says so (POS entry mode 801). Any swipe goes
online (entry mode 901): there is no offline approval of magstripe data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from appliance.emv.trace import masked_pan
from appliance.errors import InputError
from appliance.native.secret import Secret

UNREADABLE = "could not read the card, swipe again"
BAD_CHECK_DIGIT = "card number fails its check digit"
EXPIRED = "card expired"

# ISO/IEC 7813: track 1 format B is %B PAN(up to 19) ^ NAME(2-26) ^ YYMM SC discretionary ?,
# at most 79 characters with sentinels; track 2 is ;PAN(up to 19) = YYMM SC discretionary ?,
# at most 40. A reader may send each track's LRC character right after its end sentinel.
TRACK1 = re.compile(rb"%B(?P<pan>[0-9]{12,19})\^(?P<name>[\x20-\x5d\x5f]{2,26})\^"
                    rb"(?P<expiry>[0-9]{4})(?P<sc>[0-9]{3})(?P<dd>[\x20-\x3e\x40-\x5f]*)\?")
TRACK2 = re.compile(rb";(?P<pan>[0-9]{12,19})=(?P<expiry>[0-9]{4})(?P<sc>[0-9]{3})(?P<dd>[0-9:<>]*)\?")
TRACK1_MAX, TRACK2_MAX, TRACK3_MAX = 79, 40, 107  # characters with sentinels
STARTS = (b"%", b";", b"+")  # start sentinels of tracks 1, 2 and 3 (ISO/IEC 7811-2; some readers send ; for track 3)


class SwipeError(InputError):
    """A swipe that cannot be used; the message is what the merchant sees (no card data in it)."""

    code = "swipe"


@dataclass(frozen=True)
class Swipe:
    """What one swipe gives an authorisation; the PAN and the tracks only inside Secret."""

    pan: Secret
    masked_pan: str
    expiry: str  # YYMM
    service_code: str  # three digits, ISO/IEC 7813 table 7
    track2: Secret  # track 2 between its sentinels (ISO 8583 field 35); empty when only track 1 was read
    track1: Secret  # track 1 between its sentinels, name included (field 45); empty when it was not read

    @property
    def chip_card(self) -> bool:
        """Service code first digit 2 or 6: the card has a chip and must be inserted (ISO/IEC 7813)."""
        return self.service_code[0] in "26"


@dataclass(frozen=True)
class SwipeDecision:
    action: str  # "use_chip" or "go_online"
    entry_mode: str  # ISO 8583 field 22 for "go_online": "901" swipe, "801" fallback after a failed chip
    reason: str  # for the merchant's display


def parse(tracks: Secret, *, today: date | None = None) -> Swipe:
    """The swipe in `tracks` (raw bytes from the reader); SwipeError when it cannot be used.

    `today` checks the expiry too (a card is valid to the end of its expiry month).
    """
    found = _split(tracks.reveal().strip(b"\r\n"))
    track1 = _match(TRACK1, found.get(b"%"))
    track2 = _match(TRACK2, found.get(b";"))
    if track1 is None and track2 is None:
        raise SwipeError(UNREADABLE, code="swipe_unreadable")
    if track1 is not None and track2 is not None and (
            track1.group("pan") != track2.group("pan") or track1.group("expiry") != track2.group("expiry")):
        raise SwipeError(UNREADABLE, code="swipe_unreadable")  # misread on one track: a clean swipe fixes it
    main = track2 if track2 is not None else track1
    assert main is not None
    pan = main.group("pan").decode()
    if not luhn_ok(pan):
        raise SwipeError(BAD_CHECK_DIGIT, code="swipe_check_digit")
    swipe = Swipe(
        pan=Secret(pan.encode()),
        masked_pan=masked_pan(pan),
        expiry=main.group("expiry").decode(),
        service_code=main.group("sc").decode(),
        track2=Secret(track2.group(0)[1:-1] if track2 is not None else b""),
        track1=Secret(track1.group(0)[1:-1] if track1 is not None else b""),
    )
    if today is not None:
        check_expiry(swipe, today)
    return swipe


def _split(data: bytes) -> dict[bytes, bytes]:
    """Track 1 and track 2 (sentinels included) by start sentinel; a third track is ignored.

    Tracks follow each other, each from its start sentinel to the first '?'. A reader may
    send each track's LRC right after its end sentinel (ISO/IEC 7811-2, 7811-6): the XOR
    of every character's data bits, sentinels included, as a character of the track's
    set. A character there that is no start sentinel must be that LRC; a start sentinel
    is taken as the LRC only if it equals the computed value and a track start or the
    end follows, so a frame without LRCs is never misread.
    """
    found: dict[bytes, bytes] = {}
    i = 0
    while i < len(data):
        start = data[i:i + 1]
        end = data.find(b"?", i)
        if start not in STARTS or end < 0 or end + 1 - i > (TRACK1_MAX if start == b"%" else TRACK3_MAX):
            raise SwipeError(UNREADABLE, code="swipe_unreadable")
        track, i = data[i:end + 1], end + 1
        lrc = _lrc(track)
        following = data[i:i + 1]
        if following and (following not in STARTS or (following[0] == lrc and data[i + 1:i + 2] in STARTS + (b"",))):
            if following[0] != lrc:
                raise SwipeError(UNREADABLE, code="swipe_unreadable")
            i += 1
        if start != b"+":
            found.setdefault(start, track)  # the first ';' track is track 2, a second one track 3
    return found


def _lrc(track: bytes) -> int:
    """The LRC character of one track: 6-bit characters from 0x20 on track 1, 4-bit from 0x30 on the others."""
    offset, mask = (0x20, 0x3F) if track[:1] == b"%" else (0x30, 0x0F)
    value = 0
    for char in track:
        value ^= (char - offset) & mask
    return value + offset


def _match(pattern: re.Pattern[bytes], track: bytes | None) -> re.Match[bytes] | None:
    """The fields of a track that was read; SwipeError when it is there but not in its ISO/IEC 7813 format."""
    if track is None:
        return None
    if track == track[:1] + b"E?":  # the reader's own "could not decode this track"
        return None
    match = pattern.fullmatch(track)
    if match is None or (track[:1] == b";" and len(track) > TRACK2_MAX):
        raise SwipeError(UNREADABLE, code="swipe_unreadable")
    return match


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B: the check digit makes the doubled-alternate sum a multiple of 10."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def check_expiry(swipe: Swipe, today: date) -> None:
    """SwipeError "card expired" after the last day of the expiry month (ISO/IEC 7813 YYMM, years 20YY)."""
    year, month = 2000 + int(swipe.expiry[:2]), int(swipe.expiry[2:])
    if not 1 <= month <= 12:
        raise SwipeError(UNREADABLE, code="swipe_unreadable")
    if (today.year, today.month) > (year, month):
        raise SwipeError(EXPIRED, code="swipe_expired")


def swipe_decision(swipe: Swipe, *, chip_failed: bool, fallback_to_swipe: bool, today: date) -> SwipeDecision:
    """Whether a swipe may be used, and how it is sent; SwipeError when the card expired.

    A chip card is sent to its chip unless the chip failed on this transaction and the
    terminal allows fallback. Swipes always go online: the stripe carries no cryptogram
    and the terminal cannot tell a copied stripe from the real one.
    """
    check_expiry(swipe, today)
    if swipe.chip_card and not chip_failed:
        return SwipeDecision("use_chip", "", "this card has a chip: insert it")
    if swipe.chip_card and not fallback_to_swipe:
        return SwipeDecision("use_chip", "", "the chip could not be read and swipe fallback is off: "
                                             "try the chip again or use another card")
    if swipe.chip_card:
        return SwipeDecision("go_online", "801", "chip failed: swipe accepted as fallback, sent to the bank")
    return SwipeDecision("go_online", "901", "swipe sent to the bank")
