"""A progress line for long disk writes: a bar, bytes done of the total, the rate in MB/s and the time left.

Writing a 3 GB image to an SD card takes minutes; a technician must see that it moves and
when it ends. On a terminal the line is redrawn in place (\\r) a few times a second; in a
log (stderr not a terminal: a script, a CI job) a new line is written every few seconds
instead, so the log stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

MB = 1_000_000  # card makers count in decimal megabytes, so the sizes match the label on the card
BAR = 24


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def line(phase: str, done: int, total: int, elapsed: float) -> str:
    """`writing   [#########...............]  38%   1234 / 3221 MB   41.5 MB/s  ETA 0:48`."""
    share = done / total if total else 1.0
    filled = int(BAR * share)
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = _clock((total - done) / rate) if rate > 0 and done < total else ("0:00" if done >= total else "?")
    return (f"{phase:<9} [{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%}  {done / MB:7.0f} / {total / MB:.0f} MB"
            f"  {rate / MB:6.1f} MB/s  ETA {eta}")  # fmt: skip


class Progress:
    """Report `done` bytes of `total` for one phase; call `update` often, `finish` once."""

    def __init__(self, phase: str, total: int, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.phase, self.total, self.clock = phase, total, clock
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.every = 0.25 if self.live else 5.0
        self.started = self.last = clock()
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self._draw(now)

    def finish(self) -> None:
        self._draw(self.clock())
        if self.live:
            self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        text = line(self.phase, self.done, self.total, now - self.started)
        self.stream.write(f"\r{text}" if self.live else f"{text}\n")
        self.stream.flush()
