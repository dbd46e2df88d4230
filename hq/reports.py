"""Cross-store reports: sales by store and day, top products, stock by store.

They read the rows ingest derives from the terminals' events (hq/projection.py), so they
count exactly what head office holds: a sale still queued on an offline terminal shows
up once that terminal has synced. Money is integer minor units, quantities thousandths,
as on the terminals. The SQL is the dialect both databases share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hq.errors import Malformed
from hq.storage import SqlStorage

MAX_LIMIT = 1000
SALES = "CASE WHEN kind = 'sale.completed' THEN 1 ELSE 0 END"
REFUNDS = "CASE WHEN kind = 'sale.completed' THEN 0 ELSE 1 END"  # returns and post-voids


@dataclass(frozen=True)
class Report:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple]

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns), "rows": [list(row) for row in self.rows]}


def _sum(expression: str) -> str:
    # PostgreSQL widens a SUM of BIGINT to NUMERIC (a Decimal in Python): back to an integer.
    return f"CAST(SUM({expression}) AS BIGINT)"


def day(text: str, where: str) -> str:
    """A business day as YYYY-MM-DD, refused with the parameter's name otherwise."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Malformed(f"{where} must be a day as YYYY-MM-DD, not {text!r}", where=where) from None


def _range(since: str, until: str) -> tuple[str, str]:
    first, last = day(since, "from"), day(until, "to")
    if first > last:
        raise Malformed(f"from ({first}) is after to ({last})", where="from")
    return first, last


def sales_by_store_day(storage: SqlStorage, since: str, until: str) -> Report:
    """Net sales per store and business day: sales minus refunds and post-voids."""
    first, last = _range(since, until)
    rows = storage.query(
        f"SELECT store, business_day, {_sum(SALES)}, {_sum(REFUNDS)}, {_sum('total')}, {_sum('tax')}"
        " FROM sales WHERE business_day BETWEEN ? AND ? GROUP BY store, business_day ORDER BY store, business_day",
        (first, last),
    )
    return Report("Sales by store and day", ("store", "day", "sales", "refunds", "net", "tax"), rows)


def top_products(storage: SqlStorage, since: str, until: str, *, store: str = "", limit: int = 20) -> Report:
    """Products by net revenue over the days, in one store or all of them."""
    first, last = _range(since, until)
    if not 1 <= limit <= MAX_LIMIT:
        raise Malformed(f"limit must be from 1 to {MAX_LIMIT}, not {limit}", where="limit")
    where, params = "s.business_day BETWEEN ? AND ?", [first, last]
    if store:
        where += " AND s.store = ?"
        params.append(store)
    rows = storage.query(
        f"SELECT l.sku, MAX(l.name), {_sum('l.quantity')}, {_sum('l.amount')}, {_sum('l.amount - l.cost')}"
        " FROM sale_lines l JOIN sales s ON s.device = l.device AND s.seq = l.seq"
        f" WHERE {where} GROUP BY l.sku ORDER BY SUM(l.amount) DESC, l.sku LIMIT ?",
        (*params, limit),
    )
    return Report("Top products", ("sku", "name", "quantity", "net", "margin"), rows)


def stock_by_store(storage: SqlStorage, *, store: str = "") -> Report:
    """Each store's stock per product: the sum of the stock moves in all its terminals' journals.

    The same rules as a terminal's own ledger (sales, refunds, deliveries, adjustments,
    transfers, stocktakes, rewards), so with one terminal per store it is that
    terminal's on-hand figure as of its last sync.
    """
    where, params = ("WHERE store = ?", (store,)) if store else ("", ())
    rows = storage.query(
        f"SELECT store, sku, {_sum('quantity')} FROM stock_moves {where} GROUP BY store, sku ORDER BY store, sku", params
    )
    return Report("Stock by store", ("store", "sku", "quantity"), rows)
