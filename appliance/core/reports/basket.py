"""Baskets: how many, their average value and size by day, and when they happen (weekday x hour).

A basket is a completed sale that was not post-voided; returns are not baskets. Its
value is the sale's total. Items count pieces, and a weighed line as one item (half a
kilo of apples is one item in the customer's bag, not 0.5). The average basket of the
sales reports is net sales over baskets, as on the Z report; this one is what customers
bought, before anything was returned. Both reports read the quarter-hour summary
(appliance/store/schema_summary.py), where a post-void takes its sale out of the baskets.
"""

from __future__ import annotations

from appliance.core.reports import Context
from appliance.core.reports.sales import IN_PERIOD, WEEKDAYS, bucket_sql
from appliance.core.reports.table import Column, Table, ratio


def by_day(ctx: Context) -> Table:
    heads = {
        day: (count, value, items)
        for day, count, value, items in ctx.conn.execute(
            "SELECT s.business_day, sum(s.baskets), sum(s.basket_value), sum(s.basket_items) "
            f"FROM report_slots s WHERE {IN_PERIOD} GROUP BY 1",
            ctx.days,
        )
    }
    rows = []
    for day in ctx.period.dates():
        key = day.isoformat()
        count, value, items = heads.get(key, (0, 0, 0))
        rows.append((key, count, value, ratio(value, count, 1), items, ratio(items, count, 1)))
    baskets, value, units = (sum(r[i] for r in rows) for i in (1, 2, 4))
    columns = (Column("day", "Business day"), Column("baskets", "Baskets", "count"), Column("value", "Value", "money"),
               Column("average", "Avg basket", "money"), Column("items", "Items", "qty"),
               Column("items_per_basket", "Items/basket", "milli"))
    total = ("TOTAL", baskets, value, ratio(value, baskets, 1), units, ratio(units, baskets, 1))
    return Table("basket", "Baskets", ctx.period, columns, rows, total, headline="average",
                 notes=("a basket is a sale not post-voided; a weighed line is one item",))


def peak_hours(ctx: Context) -> Table:
    """Baskets per (weekday of the business day, local hour): Saturday night's 01:00 trade stays Saturday's."""
    cells: dict[tuple[int, int], int] = {}
    for weekday, hour, count in ctx.conn.execute(
        f"SELECT CAST(strftime('%w', s.business_day) AS INTEGER), {bucket_sql(ctx, 'hour')}, sum(s.baskets) "
        f"FROM report_slots s WHERE {IN_PERIOD} GROUP BY 1, 2 HAVING sum(s.baskets) > 0",
        ctx.days,
    ):
        cells[((weekday + 6) % 7, hour)] = count  # SQLite's %w counts from Sunday = 0
    # Hours in trading order from the cutover (a late shop's 00:00-02:00 come after 23:00),
    # from the first traded hour to the last, so a quiet hour in between still shows.
    hours = list(range(24))
    if cells:
        used = sorted({hour for _, hour in cells}, key=lambda h: (h - ctx.period.cutover_hour) % 24)
        hours = [(used[0] + i) % 24 for i in range((used[-1] - used[0]) % 24 + 1)]
    rows = [(WEEKDAYS[d], *(cells.get((d, h), 0) for h in hours), sum(cells.get((d, h), 0) for h in hours))
            for d in range(7)]
    columns = ((Column("weekday", "Weekday"),) + tuple(Column(f"h{h:02d}", f"{h:02d}", "count") for h in hours)
               + (Column("baskets", "Baskets", "count"),))
    total = ("TOTAL", *(sum(r[i] for r in rows) for i in range(1, len(columns))))
    return Table("peak-hours", "Peak hours (baskets)", ctx.period, columns, rows, total, headline="baskets",
                 notes=("weekday of the business day; local hour of the sale",))
