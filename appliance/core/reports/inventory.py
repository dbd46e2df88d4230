"""Inventory reports from the stock ledger: value at cost, days of cover, stockouts.

On-hand at the end of the period is the sum of the product's `stock_moves` rows up to
that instant (sales, returns and voids posted with each document; receipts, adjustments,
counts and transfers from appliance/core/stock.py), so a report on a past period shows
the stock as it was then. The `stock_levels` cache only holds the present and is not
used: the ledger is the truth the cache is checked against. Stock is valued at the
product's cost now (the moving average kept on goods received), which is what replacing
it would cost; days of cover divide on-hand by the period's average daily net sales.
"""

from __future__ import annotations

from appliance.core.basket import line_gross
from appliance.core.reports import Context
from appliance.core.reports.sales import by_sku
from appliance.core.reports.table import Column, Table, ratio


def on_hand(ctx: Context) -> dict[str, int]:
    """sku -> quantity on hand (thousandths) at the end of the period, from the ledger."""
    end = ctx.period.utc_bounds[1]
    return dict(ctx.conn.execute("SELECT sku, sum(quantity) FROM stock_moves WHERE at < ? GROUP BY sku", (end,)))


def _products(ctx: Context) -> list[tuple[str, str, str, int, str]]:
    return ctx.conn.execute("SELECT sku, name, category, cost, unit FROM products WHERE active = 1 ORDER BY sku").fetchall()


def _sold(ctx: Context) -> dict[str, int]:
    """Net quantity sold per sku over the period (returns and post-voids taken off)."""
    return dict(ctx.conn.execute(by_sku(ctx, "sum(s.quantity)"), ctx.days).fetchall())


def value(ctx: Context) -> Table:
    stock = on_hand(ctx)
    groups: dict[str, list[int]] = {}
    for sku, _, category, cost, _ in _products(ctx):
        qty = stock.get(sku, 0)
        entry = groups.setdefault(category, [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += qty
        # Negative stock (sold before the delivery was booked) is not worth anything.
        entry[2] += line_gross(cost, qty) if qty > 0 else 0
        entry[3] += qty <= 0
    rows = [(category, *figures) for category, figures in sorted(groups.items())]
    columns = (Column("category", "Category"), Column("products", "Products", "count"),
               Column("on_hand", "On hand", "qty"), Column("value", "Value at cost", "money"),
               Column("stockouts", "Out of stock", "count"))
    total = ("TOTAL", *(sum(r[i] for r in rows) for i in range(1, 5)))
    return Table("inventory", "Inventory value at cost", ctx.period, columns, rows, total, headline="value",
                 notes=(f"on hand at the end of {ctx.period.last}; valued at today's cost price",))


COVER_COLUMNS = (Column("sku", "SKU"), Column("name", "Product"), Column("on_hand", "On hand", "qty"),
                 Column("daily", "Sold/day", "qty"), Column("cover", "Days of cover", "count"))


def _cover_rows(ctx: Context) -> list[tuple]:
    stock, sold, days = on_hand(ctx), _sold(ctx), ctx.period.days
    rows = []
    for sku, name, _, _, _ in _products(ctx):
        qty, net = stock.get(sku, 0), sold.get(sku, 0)
        cover = 0 if qty <= 0 else ratio(qty * days, net, 1) if net > 0 else None
        rows.append((sku, name, qty, ratio(net, days, 1) or 0, cover))
    return rows


def days_of_cover(ctx: Context) -> Table:
    # Shortest cover first (what runs out soonest); products that do not sell (no cover figure) last.
    rows = sorted(_cover_rows(ctx), key=lambda r: (r[4] is None, r[4] if r[4] is not None else 0, -r[3], r[0]))
    return Table("days-of-cover", "Days of cover", ctx.period, COVER_COLUMNS, rows[: ctx.limit] if ctx.limit else rows,
                 None, headline="cover", notes=("days of cover = on hand / average net sold per day in the period;"
                                                " empty when the product did not sell",))


def stockouts(ctx: Context) -> Table:
    rows = sorted((r for r in _cover_rows(ctx) if r[2] <= 0), key=lambda r: (-r[3], r[0]))
    return Table("stockouts", "Stockouts", ctx.period, COVER_COLUMNS, rows[: ctx.limit] if ctx.limit else rows, None,
                 headline="on_hand", notes=(f"{len(rows)} active products with nothing on hand; best sellers first",))
