"""A magnetic stripe reader on a serial port, sending ISO 7811/7813 track data as ASCII.

    serial:///dev/ttyUSB3?baudrate=9600

A swipe arrives as the tracks the reader could read, each between its sentinels, and
ends with CR and/or LF:

    %B<PAN>^<NAME>^<YYMM><service code><discretionary>?   track 1 (ISO 7813, alphanumeric)
    ;<PAN>=<YYMM><service code><discretionary>?           track 2 (numeric)
    ;...? or +...?                                        track 3 (numeric, when read)

A track the reader could not decode comes as its sentinel, 'E' and the end sentinel
(%E? ;E?); it is left out. What is left goes to the daemon inside Secret and nowhere
else: this module logs lengths and track numbers only, never a byte of the data, and
overwrites its receive buffer after each swipe (ARCHITECTURE.md, sensitive card data).
"""

from __future__ import annotations

import logging
import re
import threading

from appliance.hal.address import Address
from appliance.hal.base import Emit, StripeReader
from appliance.hal.events import Secret, Swiped
from appliance.hal.transports import SERIAL_OPTIONS, SerialTransport

log = logging.getLogger(__name__)

POLL = 0.05  # seconds between looks at the stop flag
MAX_PENDING = 512  # bytes without CR/LF; all three tracks with sentinels are under 240
# Character sets and lengths (ISO/IEC 7811-2, 7813): track 1 is the 6-bit set 0x20-0x5F with a
# format code and up to 76 characters between % and ?; tracks 2 and 3 are the 4-bit set
# 0x30-0x3F, up to 37 and 104 characters between their sentinels.
SWIPE = re.compile(
    rb"(?P<t1>%(?:E|[A-Z][\x20-\x24\x26-\x3e\x40-\x5f]{0,75})\?)?"
    rb"(?P<t2>;(?:E|[0-9:<=>]{0,37})\?)?"
    rb"(?P<t3>[;+](?:E|[0-9:<=>]{0,104})\?)?"
)


def usable_tracks(frame: bytes) -> tuple[bytes, list[int]] | None:
    """(the tracks that were read, their numbers), or None when `frame` is not track data."""
    match = SWIPE.fullmatch(frame)
    if match is None or not frame:
        return None
    kept = [(number, match.group(f"t{number}")) for number in (1, 2, 3)]
    kept = [(number, track) for number, track in kept if track is not None and track[1:-1] != b"E"]
    return b"".join(track for _, track in kept), [number for number, _ in kept]


class SerialStripeReader(StripeReader):
    options = SERIAL_OPTIONS

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.transport = SerialTransport(name, address)
        self.info = f"serial magstripe reader on {address.target}"

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def run(self, emit: Emit, stop: threading.Event) -> None:
        buffer = bytearray()
        discarding = False  # inside an over-long run: skip to the next line end
        try:
            while not stop.is_set():
                buffer += self.transport.read(256, POLL)
                while (end := _line_end(buffer)) >= 0:
                    frame = bytes(buffer[:end])
                    _wipe(buffer, end + 1)
                    if frame and not discarding:
                        self._deliver(frame, emit)
                    discarding = False
                if len(buffer) > MAX_PENDING:
                    log.warning("%s: dropped %d bytes with no line end: is this a magstripe reader?", self.name, len(buffer))
                    _wipe(buffer, len(buffer))
                    discarding = True
        finally:
            _wipe(buffer, len(buffer))

    def _deliver(self, frame: bytes, emit: Emit) -> None:
        found = usable_tracks(frame)
        if found is None:
            log.warning("%s: dropped %d bytes that are not magstripe track data (check the reader's output format)",
                        self.name, len(frame))
            return
        tracks, numbers = found
        if not numbers:
            log.warning("%s: swipe unreadable on every track; ask for it again", self.name)
            return
        log.info("%s: swipe with track %s (%d bytes)", self.name, "+".join(map(str, numbers)), len(tracks))
        emit(Swiped(self.name, tracks=Secret(tracks)))


def _line_end(buffer: bytearray) -> int:
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    return min(ends) if ends else -1


def _wipe(buffer: bytearray, count: int) -> None:
    """Overwrite, then drop, the first `count` bytes, so card data does not linger in freed memory."""
    buffer[:count] = bytes(count)
    del buffer[:count]
