"""Report summaries (migration 10): daily sales per product and per quarter hour, kept with every document.

A year of a busy shop is a million sale lines; summing them for every report takes over a
second. These tables hold the same sums per business day, so a report over a year reads
a few hundred thousand narrow rows (per product) or a few tens of thousands (per quarter
hour) instead of joining every document to its lines:

- `report_sku_days`: per business day and product, the net quantity, amount, tax and cost
  of the lines (a sale adds, a return and a post-void subtract, a cancelled sale adds
  nothing: the net-sales rule of docs/reports.md), and the greatest line name (the
  `sales-product` report shows max(name) over the period).
- `report_slots`: per business day and UTC quarter hour of completion, the documents'
  counts and totals by kind (net sales by hour, day, week, month) and the baskets (sales
  not post-voided: count, value, items). A post-void takes its sale out of the baskets of
  the sale's own slot. The slot is the UTC time cut to the quarter hour, not a local
  hour: every zone's offset and every daylight-saving change is a whole number of
  quarter hours, so a report turns a slot into the local hour exactly with its own zone
  (appliance/core/reports/period.py), and the summaries never depend on the settings.

The member report's points owed at each month end walks every member's ledger rows in
order with their times and balances: `points_history` covers that walk, so it reads the
index alone instead of a table row per ledger entry.

Each summary is defined once, as a SELECT over the documents (SKU_DAYS, SLOTS): the
migration fills the tables from the existing rows with it, posting adds one document's
rows with the same SELECT restricted to that document (`add`), and `appliance db check`
compares the tables with it (`differences`).
"""

from __future__ import annotations

import sqlite3

from appliance.store.migrations import _script

SIGN = "(CASE s.kind WHEN 'sale' THEN 1 WHEN 'cancel' THEN 0 ELSE -1 END)"
ITEMS = "CASE l.unit WHEN 'piece' THEN l.quantity ELSE 1000 END"  # a weighed line is one item
BASKET = "s.kind = 'sale' AND s.voided_by IS NULL"
# completed_at ('2025-03-04T09:47:12.345Z') cut to its quarter hour: '2025-03-04T09:45:00.000Z'.
SLOT = ("printf('%s%02d:00.000Z', substr(s.completed_at, 1, 14), "
        "CAST(substr(s.completed_at, 15, 2) AS INTEGER) / 15 * 15)")

SKU_DAYS_COLUMNS = ("business_day", "sku", "name", "quantity", "amount", "tax", "cost")
SKU_DAYS = (
    f"SELECT s.business_day, l.sku, max(l.name), sum({SIGN} * l.quantity), sum({SIGN} * l.amount), "
    f"sum({SIGN} * l.tax), sum({SIGN} * l.cost) "
    "FROM sales s JOIN sale_lines l ON l.sale_id = s.id WHERE s.kind != 'cancel' {and_} GROUP BY 1, 2"
)

SLOTS_COLUMNS = ("business_day", "slot", "sales", "voids", "sale_total", "return_total", "void_total",
                 "baskets", "basket_value", "basket_items")
SLOTS = (
    f"SELECT s.business_day, {SLOT}, sum(s.kind = 'sale'), sum(s.kind = 'void'), "
    "sum(CASE WHEN s.kind = 'sale' THEN s.total ELSE 0 END), "
    "sum(CASE WHEN s.kind = 'return' THEN s.total ELSE 0 END), "
    "sum(CASE WHEN s.kind = 'void' THEN s.total ELSE 0 END), "
    f"sum({BASKET}), sum(CASE WHEN {BASKET} THEN s.total ELSE 0 END), "
    f"sum(CASE WHEN {BASKET} THEN (SELECT sum({ITEMS}) FROM sale_lines l WHERE l.sale_id = s.id) ELSE 0 END) "
    "FROM sales s WHERE s.kind != 'cancel' {and_} GROUP BY 1, 2"
)

# A sale's basket figures, taken off its slot when it is post-voided.
_UNBASKET = (
    f"SELECT s.business_day, {SLOT}, 0, 0, 0, 0, 0, -1, -s.total, "
    f"-(SELECT coalesce(sum({ITEMS}), 0) FROM sale_lines l WHERE l.sale_id = s.id) FROM sales s WHERE s.id = ?"
)

# (table, its columns, its key, the SELECT that computes it from the documents)
SUMMARIES = (
    ("report_sku_days", SKU_DAYS_COLUMNS, ("business_day", "sku"), SKU_DAYS),
    ("report_slots", SLOTS_COLUMNS, ("business_day", "slot"), SLOTS),
)


def migrate(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE report_sku_days (
            sku TEXT NOT NULL,
            business_day TEXT NOT NULL,
            name TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            tax INTEGER NOT NULL,
            cost INTEGER NOT NULL,
            PRIMARY KEY (sku, business_day)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE report_slots (
            business_day TEXT NOT NULL,
            slot TEXT NOT NULL,
            sales INTEGER NOT NULL,
            voids INTEGER NOT NULL,
            sale_total INTEGER NOT NULL,
            return_total INTEGER NOT NULL,
            void_total INTEGER NOT NULL,
            baskets INTEGER NOT NULL,
            basket_value INTEGER NOT NULL,
            basket_items INTEGER NOT NULL,
            PRIMARY KEY (business_day, slot)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX points_history ON points (member_id, id, at, balance)
        """,
    )
    rebuild(conn)


def rebuild(conn: sqlite3.Connection) -> None:
    """Fill the summaries from the documents, one INSERT ... SELECT each (call inside a transaction)."""
    for table, columns, _, select in SUMMARIES:
        conn.execute(f"DELETE FROM {table}")
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) {select.format(and_='')}")


def _upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...], select: str) -> str:
    """INSERT ... SELECT that adds to an existing row of the same key (the name keeps the greatest)."""
    sets = ", ".join(f"{c} = max({c}, excluded.{c})" if c == "name" else f"{c} = {c} + excluded.{c}"
                     for c in columns if c not in key)
    return f"INSERT INTO {table} ({', '.join(columns)}) {select} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"


_ADD = [_upsert(table, columns, key, select.format(and_="AND s.id = ?")) for table, columns, key, select in SUMMARIES]
_ADD_UNBASKET = _upsert("report_slots", SLOTS_COLUMNS, ("business_day", "slot"), _UNBASKET)


def add(conn: sqlite3.Connection, sale_id: str, voids: str | None = None) -> None:
    """Add a posted document to the summaries, in its transaction; `voids`: the sale a post-void cancels."""
    for statement in _ADD:
        conn.execute(statement, (sale_id,))
    if voids is not None:
        conn.execute(_ADD_UNBASKET, (voids,))


def differences(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """(business day, key) of every row where a summary differs from its recomputation from the documents."""
    for name, columns, key, select in SUMMARIES:
        if name == table:
            return conn.execute(
                f"WITH fresh AS MATERIALIZED ({select.format(and_='')}), "
                f"stored AS (SELECT {', '.join(columns)} FROM {table}) "
                f"SELECT DISTINCT {', '.join(key)} FROM "
                "(SELECT * FROM (SELECT * FROM stored EXCEPT SELECT * FROM fresh) "
                "UNION ALL SELECT * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM stored)) ORDER BY 1, 2"
            ).fetchall()
    raise KeyError(table)
