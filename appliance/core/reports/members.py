"""The member report by month: new and active members, their sales, points earned, used and outstanding.

New members are those whose record was created in the month (local time); active ones
bought at least once (a sale, by business day). Points liability is what members could
still redeem: the sum of every member's balance in the points ledger (the newest row per
member, each row carries its balance) at the end of the month, and its value at the
[loyalty] redeem rate; every month's is found in one pass over the ledger.
"""

from __future__ import annotations

from datetime import date, timedelta

from appliance.core.clock import iso
from appliance.core.reports import Context
from appliance.core.reports.sales import IN_PERIOD, SIGN
from appliance.core.reports.table import Column, Table, ratio


def _has_points(ctx: Context) -> bool:
    return ctx.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'points'").fetchone() is not None


def _month_ends(ctx: Context) -> list[tuple[str, str]]:
    """(month, UTC instant its last business day in the period ends), in order."""
    ends: dict[str, str] = {}
    for day in ctx.period.dates():
        ends[day.isoformat()[:7]] = day.isoformat()
    return [(month, iso(ctx.period.start_of(date.fromisoformat(last) + timedelta(days=1))))
            for month, last in ends.items()]


def liabilities(ctx: Context, ends: list[tuple[str, str]]) -> dict[str, int]:
    """Points outstanding at each (month, UTC instant): each member's newest balance before the instant.

    One pass over the ledger for every month: a row is a member's newest before instant t
    when it is earlier than t and every later row of the member (by id) is at t or after,
    that is when t lies in (row's time, earliest time of the member's later rows]; each
    month's sum is one column of the same scan.
    """
    if not ends:
        return {}
    sums = ", ".join("coalesce(sum(CASE WHEN since < ? AND (until IS NULL OR until >= ?) THEN balance END), 0)"
                     for _ in ends)
    owed = ctx.conn.execute(
        f"SELECT {sums} FROM (SELECT balance, at AS since, min(at) OVER (PARTITION BY member_id ORDER BY id "
        "ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until FROM points)",
        [instant for _, instant in ends for instant in (instant, instant)],
    ).fetchone()
    return {month: points for (month, _), points in zip(ends, owed)}


def summary(ctx: Context) -> Table:
    start, end = ctx.period.utc_bounds
    local_month = f"substr({ctx.period.local_sql('created_at')}, 1, 7)"
    new = dict(ctx.conn.execute(
        f"SELECT {local_month}, count(*) FROM members WHERE created_at >= ? AND created_at < ? GROUP BY 1", (start, end)
    ).fetchall())
    bought = {
        month: (active, net)
        for month, active, net in ctx.conn.execute(
            f"SELECT substr(s.business_day, 1, 7), count(DISTINCT s.member_id), sum({SIGN} * s.total) FROM sales s "
            f"WHERE {IN_PERIOD} AND s.member_id IS NOT NULL AND s.kind != 'cancel' GROUP BY 1",
            ctx.days,
        )
    }
    points = _has_points(ctx)
    moved: dict[str, tuple[int, int]] = {}
    if points:
        local = f"substr({ctx.period.local_sql('at')}, 1, 7)"
        for month, earned, used in ctx.conn.execute(
            f"SELECT {local}, sum(CASE WHEN delta > 0 THEN delta ELSE 0 END), "
            "sum(CASE WHEN delta < 0 THEN -delta ELSE 0 END) FROM points WHERE at >= ? AND at < ? GROUP BY 1",
            (start, end),
        ):
            moved[month] = (earned, used)
    ends = _month_ends(ctx)
    owing = liabilities(ctx, ends) if points else {}
    rows = []
    for month, _ in ends:
        owed = owing.get(month, 0)
        rows.append((month, new.get(month, 0), *bought.get(month, (0, 0)), *moved.get(month, (0, 0)), owed,
                     ratio(owed * 10 ** ctx.exponent, ctx.redeem_rate, 1)))
    active = ctx.conn.execute(
        f"SELECT count(DISTINCT s.member_id) FROM sales s WHERE {IN_PERIOD} AND s.kind = 'sale'", ctx.days
    ).fetchone()[0]
    members = ctx.conn.execute("SELECT count(*) FROM members WHERE created_at < ?", (end,)).fetchone()[0]
    columns = (Column("month", "Month"), Column("new", "New", "count"), Column("active", "Active", "count"),
               Column("member_sales", "Member sales", "money"), Column("earned", "Points earned", "count"),
               Column("used", "Points used", "count"), Column("points", "Points owed", "count"),
               Column("liability", "Liability", "money"))
    last = rows[-1] if rows else (None,) * 8
    total = ("TOTAL", sum(r[1] for r in rows), active, sum(r[3] for r in rows), sum(r[4] for r in rows),
             sum(r[5] for r in rows), last[6], last[7])
    notes = [f"{members} members at the end of the period; {active} bought in it"]
    if not points:
        notes.append("no points ledger in this store: points figures are zero")
    return Table("members", "Members", ctx.period, columns, rows, total, headline="new", notes=tuple(notes))
