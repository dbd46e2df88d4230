"""Time for the business: an injectable clock, UTC timestamps, and the business day.

Timestamps are stored as UTC ISO-8601 strings with milliseconds ("...T09:10:33.123Z"),
which sort as text. The business day is the shop's local date shifted back by the
cutover hour, so a sale at 01:30 still belongs to the evening's trading day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that moves only when told to: the demo's shop day and the tests use it."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z: the one timestamp spelling in the store."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def business_day(moment: datetime, zone: str, cutover_hour: int) -> date:
    local = moment.astimezone(ZoneInfo(zone))
    return (local - timedelta(hours=cutover_hour)).date()


def local(moment: datetime | str, zone: str) -> datetime:
    if isinstance(moment, str):
        moment = parse_iso(moment)
    return moment.astimezone(ZoneInfo(zone))
