"""Gross profit and margin, from the cost each line carried when it was sold.

Revenue is the line amount without tax (in tax-inclusive pricing the line's tax is taken
out; in exclusive pricing the amount is already net), because tax is the state's money,
not the shop's. Cost is the line's `cost` as posted (the product's cost at the moment of
sale times the quantity; a return carries its share of the original line's cost), so a
later change of cost price never rewrites past profit. Both are summed from the daily
product summary (appliance/store/schema_summary.py), which keeps the lines' signed sums.
"""

from __future__ import annotations

from appliance.core.reports import Context
from appliance.core.reports.sales import by_sku
from appliance.core.reports.table import Column, Table, ratio

PROFIT_COLUMNS = (
    Column("revenue", "Revenue ex tax", "money"),
    Column("cost", "Cost", "money"),
    Column("profit", "Gross profit", "money"),
    Column("margin", "Margin", "bp"),
)


def _rows(ctx: Context, key_sql: str, joins: str = "") -> list[tuple]:
    """(key..., revenue, cost, profit, margin) per key, from the period's daily product summary `d`."""
    revenue = "d.amount" if ctx.exclusive else "d.amount - d.tax"
    rows = ctx.conn.execute(
        f"SELECT {key_sql}, sum({revenue}) AS revenue, sum(d.cost) "
        f"FROM ({by_sku(ctx, 'sum(s.amount) AS amount, sum(s.tax) AS tax, sum(s.cost) AS cost')}) d {joins} "
        f"GROUP BY {key_sql} ORDER BY revenue - sum(d.cost) DESC",
        ctx.days,
    ).fetchall()
    return [(*keys, revenue, cost, revenue - cost, ratio(revenue - cost, revenue, 10000))
            for *keys, revenue, cost in rows]


def _table(ctx: Context, name: str, title: str, keys: tuple[Column, ...], rows: list[tuple]) -> Table:
    revenue = sum(r[-4] for r in rows)
    cost = sum(r[-3] for r in rows)
    total = ("TOTAL",) + ("",) * (len(keys) - 1) + (revenue, cost, revenue - cost, ratio(revenue - cost, revenue, 10000))
    shown = rows[: ctx.limit] if ctx.limit else rows
    return Table(name, title, ctx.period, keys + PROFIT_COLUMNS, shown, total, headline="profit",
                 notes=("revenue without tax; cost as carried by each sold line",))


def by_category(ctx: Context) -> Table:
    rows = _rows(ctx, "coalesce(p.category, '')", "LEFT JOIN products p ON p.sku = d.sku")
    return _table(ctx, "profit", "Gross profit by category", (Column("category", "Category"),), rows)


def by_product(ctx: Context) -> Table:
    rows = _rows(ctx, "d.sku")
    names = dict(ctx.conn.execute("SELECT sku, name FROM products"))
    rows = [(sku, names.get(sku, ""), *rest) for sku, *rest in rows]
    return _table(ctx, "profit-product", "Gross profit by product",
                  (Column("sku", "SKU"), Column("name", "Product")), rows)
