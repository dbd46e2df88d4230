"""Time-sortable ids and receipt numbers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from appliance.core.ids import receipt_number, uuid7


def test_uuid7_is_version_7_and_sorts_by_time():
    # Later than any clock other tests use: ids never go backwards within a process.
    start = datetime(2090, 1, 1, tzinfo=timezone.utc)
    ids = [uuid7(start + timedelta(milliseconds=n)) for n in range(0, 5000, 7)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert int(uuid.UUID(ids[0]).hex[:12], 16) == int(start.timestamp() * 1000)


def test_uuid7_stays_ordered_within_a_millisecond_and_when_the_clock_steps_back():
    moment = datetime(2091, 1, 1, tzinfo=timezone.utc)
    burst = [uuid7(moment) for _ in range(6000)]  # more than the 4096 a millisecond can number
    assert burst == sorted(burst) and len(set(burst)) == 6000
    later = uuid7(moment - timedelta(seconds=5))  # NTP stepped the clock back
    assert later > burst[-1]


def test_receipt_numbers_carry_the_terminal():
    assert receipt_number("T01", 42) == "T01-000042"
    assert receipt_number("T01", 1234567) == "T01-1234567"
