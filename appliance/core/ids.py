"""Identifiers: time-sortable UUIDv7 for records, human receipt numbers per terminal.

UUIDv7 (RFC 9562) puts the Unix time in milliseconds in the top 48 bits, so ids sort by
creation time in indexes and across terminals; ids made within the same millisecond
stay in order through a per-process counter in the random bits.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import datetime

_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, counter) of the previous id from this process


def uuid7(moment: datetime) -> str:
    """A UUIDv7 for `moment`; monotonic within the process even if the clock steps back."""
    global _last
    ms = int(moment.timestamp() * 1000)
    with _lock:
        last_ms, counter = _last
        if ms <= last_ms:
            ms, counter = last_ms, counter + 1
            if counter >= 1 << 12:  # 4096 ids in one millisecond: borrow the next one
                ms, counter = ms + 1, 0
        else:
            counter = 0
        _last = (ms, counter)
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))


def receipt_number(device: str, number: int) -> str:
    """"T01-000042": the terminal id keeps numbers from different tills apart."""
    return f"{device}-{number:06d}"
