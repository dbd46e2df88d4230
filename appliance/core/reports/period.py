"""A report's period: business days from..to, and the shop's local clock inside SQL.

Reports select documents by `sales.business_day` (the local trading day, shifted back by
the cutover hour, already stored on every document), so a period never needs time-zone
arithmetic to filter. Hours, weekdays of trade and member sign-ups do need local time
from UTC timestamps: `local_sql` builds the SQLite modifier that turns a stored UTC
timestamp into local time, one offset per daylight-saving span of the period, so the
conversion is exact and still runs inside the aggregate query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from appliance.core.clock import iso
from appliance.errors import InputError

# A year and a little: a report over several years is a job for head office, not the till.
MAX_DAYS = 800


def parse_day(text: str, what: str) -> date:
    """A business day typed as YYYY-MM-DD; the error names the option that was wrong."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InputError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD (like 2026-11-24)") from None


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    zone: str
    cutover_hour: int

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise InputError(
                f"the period starts on {self.first} after it ends on {self.last}: swap --from and --to"
            )
        if self.days > MAX_DAYS:
            raise InputError(f"the period has {self.days} days; a report covers at most {MAX_DAYS}")

    @classmethod
    def parse(cls, first: str, last: str, zone: str, cutover_hour: int) -> "Period":
        return cls(parse_day(first, "--from"), parse_day(last, "--to"), zone, cutover_hour)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def bounds(self) -> tuple[str, str]:
        """(first, last) business days as the text stored in `sales.business_day`."""
        return self.first.isoformat(), self.last.isoformat()

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def widened(self, before: int) -> "Period":
        """The same period starting `before` days earlier (a moving average needs the days before)."""
        return Period(self.first - timedelta(days=before), self.last, self.zone, self.cutover_hour)

    def start_of(self, day: date) -> datetime:
        """The UTC instant business day `day` begins: local midnight plus the cutover hour."""
        local = datetime.combine(day, time(self.cutover_hour), ZoneInfo(self.zone))
        return local.astimezone(timezone.utc)

    @property
    def utc_bounds(self) -> tuple[str, str]:
        """[start, end) of the period as stored timestamps, for tables without a business day."""
        return iso(self.start_of(self.first)), iso(self.start_of(self.last + timedelta(days=1)))

    def local_sql(self, column: str) -> str:
        """SQL for the local time of a UTC timestamp column ('YYYY-MM-DD HH:MM:SS').

        The offset is taken per span between the zone's transitions inside the period
        (found hour by hour, which catches every real transition: none is shorter); most
        shops (Asia/Shanghai) have one span and the expression is a constant shift.
        """
        return f"datetime({column}, {self._offset_sql(column)})"

    def _offset_sql(self, column: str) -> str:
        zone = ZoneInfo(self.zone)
        start = self.start_of(self.first) - timedelta(days=1)
        end = self.start_of(self.last) + timedelta(days=2)
        spans: list[tuple[datetime, int]] = []  # (from instant, offset minutes)
        moment = start
        while moment <= end:
            offset = int(moment.astimezone(zone).utcoffset().total_seconds() // 60)
            if not spans or spans[-1][1] != offset:
                spans.append((moment, offset))
            moment += timedelta(hours=1)
        if len(spans) == 1:
            return f"'{spans[0][1]:+d} minutes'"
        # A transition falls between two hourly samples; find the exact minute.
        cases = []
        for (_, before), (after_at, after) in zip(spans, spans[1:]):
            instant = after_at - timedelta(hours=1)
            while int(instant.astimezone(zone).utcoffset().total_seconds() // 60) == before:
                instant += timedelta(minutes=1)
            cases.append(f"WHEN {column} < '{iso(instant)}' THEN '{before:+d} minutes'")
        return f"CASE {' '.join(cases)} ELSE '{spans[-1][1]:+d} minutes' END"
