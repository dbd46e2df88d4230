"""Sales reports: by time, product, category, operator, tender and membership; returns, voids, discounts, tax.

Every query signs a document by its kind (SIGN): a sale adds, a return and a post-void
subtract, a cancelled sale adds nothing; the package docstring gives the reasons. Sales
by time read the quarter-hour summary and sales by product or category the daily
product summary (appliance/store/schema_summary.py), which hold these signed sums.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from appliance.core.reports import Context
from appliance.core.reports.table import Column, Table, ratio, total_row
from appliance.store.schema_summary import SIGN

IN_PERIOD = "s.business_day BETWEEN ? AND ?"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

NET_COLUMNS = (
    Column("baskets", "Baskets", "count"),
    Column("sales", "Sales", "money"),
    Column("returns", "Returns", "money"),
    Column("voids", "Post-voids", "money"),
    Column("net", "Net sales", "money"),
    Column("average", "Avg basket", "money"),
)


def bucket_sql(ctx: Context, grain: str) -> str:
    """The SQL grouping key of a `report_slots` row for a time grain (hour uses the shop's local clock)."""
    if grain == "hour":
        return f"CAST(strftime('%H', {ctx.period.local_sql('s.slot')}) AS INTEGER)"
    if grain == "week":  # the Monday on or before the business day (ISO weeks start on Monday)
        return "date(s.business_day, '-6 days', 'weekday 1')"
    if grain == "month":
        return "substr(s.business_day, 1, 7)"
    return "s.business_day"


def net_by(ctx: Context, key_sql: str, joins: str = "") -> dict[Any, tuple[int, int, int, int, int]]:
    """key -> (sales count, post-void count, sale totals, return totals, post-void totals) over the period."""
    rows = ctx.conn.execute(
        f"SELECT {key_sql}, "
        "sum(s.kind = 'sale'), sum(s.kind = 'void'), "
        "sum(CASE WHEN s.kind = 'sale' THEN s.total ELSE 0 END), "
        "sum(CASE WHEN s.kind = 'return' THEN s.total ELSE 0 END), "
        "sum(CASE WHEN s.kind = 'void' THEN s.total ELSE 0 END) "
        f"FROM sales s {joins} WHERE {IN_PERIOD} AND s.kind != 'cancel' GROUP BY 1",
        ctx.days,
    )
    return {key: rest for key, *rest in rows}


def net_by_slot(ctx: Context, key_sql: str) -> dict[Any, tuple[int, int, int, int, int]]:
    """net_by over the quarter-hour summary: the same figures, for keys of the business day and slot."""
    rows = ctx.conn.execute(
        f"SELECT {key_sql}, sum(s.sales), sum(s.voids), sum(s.sale_total), sum(s.return_total), sum(s.void_total) "
        f"FROM report_slots s WHERE {IN_PERIOD} GROUP BY 1",
        ctx.days,
    )
    return {key: rest for key, *rest in rows}


def net_row(label: Any, figures: tuple | None) -> tuple:
    sold, voided, sales, returns, voids = figures or (0, 0, 0, 0, 0)
    baskets = sold - voided
    net = sales - returns - voids
    return (label, baskets, sales, -returns, -voids, net, ratio(net, baskets, 1))


def net_table(ctx: Context, name: str, title: str, key: Column, rows: list[tuple]) -> Table:
    columns = (key,) + NET_COLUMNS
    total = total_row(rows, "TOTAL", [c.kind for c in columns])
    total = total[:-1] + (ratio(total[5], total[1], 1),)
    return Table(name, title, ctx.period, columns, rows, total, headline="net")


def by_time(ctx: Context, grain: str) -> Table:
    figures = net_by_slot(ctx, bucket_sql(ctx, grain))
    if grain == "day":  # every day of the period, a day without trade shows as zero
        keys: list[Any] = [d.isoformat() for d in ctx.period.dates()]
    else:
        keys = sorted(figures)
    label = {"hour": "Hour", "day": "Business day", "week": "Week from", "month": "Month"}[grain]
    rows = [net_row(f"{k:02d}:00" if grain == "hour" else k, figures.get(k)) for k in keys]
    return net_table(ctx, f"sales-{grain}", f"Sales by {grain}", Column(grain, label), rows)


def by_operator(ctx: Context) -> Table:
    figures = net_by(ctx, "s.operator || ' ' || coalesce(o.name, '')", "LEFT JOIN operators o ON o.code = s.operator")
    rows = [net_row(k.strip(), v) for k, v in sorted(figures.items())]
    return net_table(ctx, "sales-operator", "Sales by operator", Column("operator", "Operator"), rows)


def by_member(ctx: Context) -> Table:
    figures = net_by(ctx, "s.member_id IS NOT NULL")
    rows = [net_row(label, figures.get(key)) for key, label in ((1, "member"), (0, "non-member"))]
    table = net_table(ctx, "sales-member", "Members against non-members", Column("customer", "Customer"), rows)
    customers = ctx.conn.execute(
        f"SELECT count(DISTINCT s.member_id) FROM sales s WHERE {IN_PERIOD} AND s.kind = 'sale'", ctx.days
    ).fetchone()[0]
    table.notes = (f"{customers} different members bought in the period",)
    return table


def by_sku(ctx: Context, figures: str) -> str:
    """SQL of the period's daily product summary summed per sku: `sku` and the `figures` (sums over its columns)."""
    return f"SELECT s.sku, {figures} FROM report_sku_days s WHERE {IN_PERIOD} GROUP BY s.sku"


def _share_rows(rows: list[tuple], limit: int | None) -> tuple[list[tuple], tuple]:
    whole = sum(r[-1] for r in rows)
    out = [r + (ratio(r[-1], whole, 10000),) for r in rows]
    total = ("TOTAL",) + ("",) * (len(rows[0]) - 3 if rows else 0) + (
        sum(r[-2] for r in rows), whole, 10000 if whole else None)
    return out[:limit] if limit else out, total


def by_product(ctx: Context) -> Table:
    figures = "max(s.name) AS name, sum(s.quantity) AS quantity, sum(s.amount) AS amount"
    rows = ctx.conn.execute(
        f"SELECT sku, name, quantity, amount FROM ({by_sku(ctx, figures)}) ORDER BY amount DESC, sku",
        ctx.days,
    ).fetchall()
    out, total = _share_rows(rows, ctx.limit)
    columns = (Column("sku", "SKU"), Column("name", "Product"), Column("quantity", "Quantity", "qty"),
               Column("amount", "Net amount", "money"), Column("share", "Share", "bp"))
    return Table("sales-product", "Sales by product", ctx.period, columns, out, total if rows else None,
                 headline="amount")


def by_category(ctx: Context) -> Table:
    rows = ctx.conn.execute(
        "SELECT coalesce(p.category, ''), sum(d.quantity), sum(d.amount) AS amount "
        f"FROM ({by_sku(ctx, 'sum(s.quantity) AS quantity, sum(s.amount) AS amount')}) d "
        "LEFT JOIN products p ON p.sku = d.sku GROUP BY 1 ORDER BY amount DESC, 1",
        ctx.days,
    ).fetchall()
    out, total = _share_rows(rows, ctx.limit)
    columns = (Column("category", "Category"), Column("quantity", "Quantity", "qty"),
               Column("amount", "Net amount", "money"), Column("share", "Share", "bp"))
    return Table("sales-category", "Sales by category", ctx.period, columns, out, total if rows else None,
                 headline="amount", notes=("a product is counted in the category it has now",))


def by_tender(ctx: Context) -> Table:
    rows = [
        (kind, count, taken, -refunded, taken - refunded)
        for kind, count, taken, refunded in ctx.conn.execute(
            "SELECT p.kind, sum(s.kind = 'sale'), "
            "sum(CASE WHEN s.kind = 'sale' THEN p.amount ELSE 0 END), "
            "sum(CASE WHEN s.kind != 'sale' THEN p.amount ELSE 0 END) "
            f"FROM sales s JOIN payments p ON p.sale_id = s.id WHERE {IN_PERIOD} GROUP BY p.kind ORDER BY p.kind",
            ctx.days,
        )
    ]
    columns = (Column("tender", "Tender"), Column("payments", "Payments", "count"), Column("taken", "Taken", "money"),
               Column("refunded", "Refunded", "money"), Column("net", "Net", "money"))
    return Table("sales-tender", "Sales by tender", ctx.period, columns, rows,
                 total_row(rows, "TOTAL", [c.kind for c in columns]), headline="net",
                 notes=("tenders add up to net sales plus cash rounding",))


def returns(ctx: Context) -> Table:
    rows = ctx.conn.execute(
        "SELECT s.business_day, count(*), sum(s.original_id IS NOT NULL), sum(s.original_id IS NULL), "
        f"-sum(s.total) FROM sales s WHERE {IN_PERIOD} AND s.kind = 'return' GROUP BY 1 ORDER BY 1",
        ctx.days,
    ).fetchall()
    columns = (Column("day", "Business day"), Column("returns", "Returns", "count"),
               Column("with_receipt", "With receipt", "count"), Column("without_receipt", "No receipt", "count"),
               Column("amount", "Refunded", "money"))
    return Table("returns", "Returns", ctx.period, columns, rows, total_row(rows, "TOTAL", [c.kind for c in columns]),
                 headline="amount")


def voids(ctx: Context) -> Table:
    rows = ctx.conn.execute(
        "SELECT s.business_day, sum(s.kind = 'void'), sum(CASE WHEN s.kind = 'void' THEN s.total ELSE 0 END), "
        "sum(s.kind = 'cancel'), sum(CASE WHEN s.kind = 'cancel' THEN s.total ELSE 0 END), "
        "sum(s.line_voids), sum(s.line_void_amount) "
        f"FROM sales s WHERE {IN_PERIOD} GROUP BY 1 "
        "HAVING sum(s.kind IN ('void', 'cancel')) + sum(s.line_voids) > 0 ORDER BY 1",
        ctx.days,
    ).fetchall()
    columns = (Column("day", "Business day"), Column("post_voids", "Post-voids", "count"),
               Column("post_void_amount", "Voided", "money"), Column("cancelled", "Cancelled", "count"),
               Column("cancelled_amount", "Cancelled amt", "money"), Column("line_voids", "Line voids", "count"),
               Column("line_void_amount", "Line void amt", "money"))
    return Table("voids", "Voids", ctx.period, columns, rows, total_row(rows, "TOTAL", [c.kind for c in columns]),
                 headline="post_void_amount")


def discounts(ctx: Context) -> Table:
    """Discounts as the Z report counts them (line discounts + basket shares), split by where they came from."""
    promo, manual, basket, promo_lines, manual_lines, basket_lines = {}, 0, 0, {}, 0, 0
    for name, lines, promo_amount, manual_amount, manual_count, share, share_count in ctx.conn.execute(
        "SELECT l.promotion, sum(s.kind = 'sale' AND l.promo_discount != 0), sum(" + SIGN + " * l.promo_discount), "
        "sum(" + SIGN + " * (l.discount - l.promo_discount)), sum(s.kind = 'sale' AND l.discount > l.promo_discount), "
        "sum(" + SIGN + " * l.basket_share), sum(s.kind = 'sale' AND l.basket_share != 0) "
        f"FROM sales s JOIN sale_lines l ON l.sale_id = s.id WHERE {IN_PERIOD} AND s.kind != 'cancel' "
        "AND (l.discount != 0 OR l.basket_share != 0) GROUP BY l.promotion",
        ctx.days,
    ):
        if promo_amount:
            promo[name] = promo_amount
            promo_lines[name] = lines
        manual += manual_amount
        manual_lines += manual_count
        basket += share
        basket_lines += share_count
    rows = [("promotion", name, promo_lines[name], amount) for name, amount in sorted(promo.items())]
    rows += [("manual", "line discounts", manual_lines, manual), ("manual", "basket discounts", basket_lines, basket)]
    columns = (Column("source", "Source"), Column("name", "Discount"), Column("lines", "Lines", "count"),
               Column("amount", "Amount", "money"))
    total = ("TOTAL", "", sum(r[2] for r in rows), sum(r[3] for r in rows))
    return Table("discounts", "Discounts", ctx.period, columns, rows, total, headline="amount",
                 notes=("net of returns and post-voids; 'lines' counts sale lines that got one",))


def tax(ctx: Context) -> Table:
    rows = ctx.conn.execute(
        f"SELECT t.rate, sum({SIGN} * t.amount), sum({SIGN} * t.net), sum({SIGN} * t.tax) "
        f"FROM sales s JOIN sale_taxes t ON t.sale_id = s.id WHERE {IN_PERIOD} AND s.kind != 'cancel' "
        "GROUP BY t.rate ORDER BY t.rate",
        ctx.days,
    ).fetchall()
    columns = (Column("rate", "Rate", "bp"), Column("amount", "Sales", "money"), Column("net", "Net of tax", "money"),
               Column("tax", "Tax", "money"))
    total = total_row(rows, "TOTAL", ["text"] + [c.kind for c in columns[1:]])
    return Table("tax", "Tax by rate", ctx.period, columns, rows, total, headline="tax")


def weekday(day: str) -> str:
    return WEEKDAYS[date.fromisoformat(day).weekday()]
