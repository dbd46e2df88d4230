"""Trend: daily net sales with a 7-day moving average and the change on a week before; top and slow movers.

The moving average of a day is the mean of it and the six days before (days without
trade count as zero: a shop closed on Sundays has a lower average, which is the truth).
The week-over-week change compares a day with the same weekday a week earlier, which
cancels the weekly rhythm of trade that a day-over-day change would show as noise.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from appliance.core.reports import Context
from appliance.core.reports.sales import by_sku, net_by_slot, net_row, weekday
from appliance.core.reports.table import Column, Table, ratio

DEFAULT_LIMIT = 20


def trend(ctx: Context) -> Table:
    wide = dataclasses.replace(ctx, period=ctx.period.widened(7))
    figures = net_by_slot(wide, "s.business_day")
    net = {day: net_row(day, figures.get(day.isoformat()))[5] for day in wide.period.dates()}
    rows = []
    for day in ctx.period.dates():
        window = [net.get(day - timedelta(days=n), 0) for n in range(7)]
        before = net[day - timedelta(days=7)]
        rows.append((day.isoformat(), weekday(day.isoformat()), net[day], ratio(sum(window), 7, 1), before,
                     ratio(net[day] - before, before, 10000)))
    columns = (Column("day", "Business day"), Column("weekday", "Day"), Column("net", "Net sales", "money"),
               Column("average7", "7-day avg", "money"), Column("week_before", "Week before", "money"),
               Column("wow", "Change", "bp"))
    whole = sum(r[2] for r in rows)
    total = ("TOTAL", "", whole, ratio(whole, len(rows), 1), sum(r[4] for r in rows), None)
    return Table("trend", "Sales trend", ctx.period, columns, rows, total, headline="net",
                 notes=("7-day average: the day and the 6 before; change: against the same weekday a week before",))


def _movers(ctx: Context) -> dict[str, tuple[int, int]]:
    return {
        sku: (qty, amount)
        for sku, qty, amount in ctx.conn.execute(by_sku(ctx, "sum(s.quantity), sum(s.amount)"), ctx.days)
    }


COLUMNS = (Column("rank", "#", "count"), Column("sku", "SKU"), Column("name", "Product"),
           Column("quantity", "Quantity", "qty"), Column("amount", "Net amount", "money"))


def top_movers(ctx: Context) -> Table:
    sold = _movers(ctx)
    names = dict(ctx.conn.execute("SELECT sku, name FROM products"))
    ranked = sorted(sold.items(), key=lambda item: (-item[1][1], item[0]))[: ctx.limit or DEFAULT_LIMIT]
    rows = [(n, sku, names.get(sku, ""), qty, amount) for n, (sku, (qty, amount)) in enumerate(ranked, start=1)]
    return Table("top-movers", "Top movers", ctx.period, COLUMNS, rows, None, headline="amount",
                 notes=("ranked by net amount",))


def slow_movers(ctx: Context) -> Table:
    sold = _movers(ctx)
    products = ctx.conn.execute("SELECT sku, name FROM products WHERE active = 1").fetchall()
    ranked = sorted(products, key=lambda p: (*sold.get(p[0], (0, 0)), p[0]))[: ctx.limit or DEFAULT_LIMIT]
    rows = [(n, sku, name, *sold.get(sku, (0, 0))) for n, (sku, name) in enumerate(ranked, start=1)]
    unsold = sum(1 for sku, _ in products if sku not in sold or sold[sku][0] <= 0)
    return Table("slow-movers", "Slow movers", ctx.period, COLUMNS, rows, None, headline="quantity",
                 notes=(f"{unsold} of {len(products)} active products sold nothing (net) in the period",))
