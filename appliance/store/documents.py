"""Sale documents (sales, returns, post-voids, cancellations) to and from their rows.

A document is the plain dict that is also the journal payload of its event, so what is
journaled, what is uploaded and what the rows say are the same facts. Writing happens
inside the caller's event transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SALE_FIELDS = (
    "id", "receipt_no", "kind", "original_id", "shift_id", "device", "operator", "approved_by", "member_id",
    "business_day", "started_at", "completed_at", "subtotal", "discount", "tax", "total", "rounding",
    "tendered", "change", "line_count", "reason", "line_voids", "line_void_amount",
)
LINE_FIELDS = (
    "line_no", "sku", "name", "unit", "quantity", "unit_price", "regular_price", "gross", "discount",
    "basket_share", "amount", "tax_rate", "tax", "cost", "promo_discount", "promotion", "note", "original_line_no",
)
TAX_FIELDS = ("rate", "amount", "net", "tax")
PAYMENT_FIELDS = ("seq", "kind", "amount", "reference", "masked_pan", "card_token", "auth_code", "original_seq")


def _insert(conn: sqlite3.Connection, table: str, fields: tuple[str, ...], rows: list[tuple]) -> None:
    marks = ", ".join("?" * len(fields))
    conn.executemany(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({marks})", rows)


def insert(conn: sqlite3.Connection, doc: dict[str, Any], journal_seq: int) -> None:
    """Write a document's rows; `journal_seq` ties the header to its journal entry."""
    _insert(conn, "sales", SALE_FIELDS + ("journal_seq",), [tuple(doc[f] for f in SALE_FIELDS) + (journal_seq,)])
    sale_id = doc["id"]
    _insert(conn, "sale_lines", ("sale_id",) + LINE_FIELDS, [(sale_id, *(l[f] for f in LINE_FIELDS)) for l in doc["lines"]])
    _insert(conn, "sale_taxes", ("sale_id",) + TAX_FIELDS, [(sale_id, *(t[f] for f in TAX_FIELDS)) for t in doc["taxes"]])
    _insert(
        conn, "payments", ("sale_id",) + PAYMENT_FIELDS, [(sale_id, *(p[f] for f in PAYMENT_FIELDS)) for p in doc["payments"]]
    )


def _rows(conn: sqlite3.Connection, sql: str, params: tuple) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def load(conn: sqlite3.Connection, *, receipt_no: str | None = None, sale_id: str | None = None) -> dict[str, Any] | None:
    """Read a document back by receipt number or id, in the shape `insert` wrote."""
    key, value = ("receipt_no", receipt_no) if receipt_no is not None else ("id", sale_id)
    headers = _rows(conn, f"SELECT {', '.join(SALE_FIELDS)}, voided_by, journal_seq FROM sales WHERE {key} = ?", (value,))
    if not headers:
        return None
    doc = headers[0]
    sid = doc["id"]
    doc["lines"] = _rows(conn, f"SELECT {', '.join(LINE_FIELDS)} FROM sale_lines WHERE sale_id = ? ORDER BY line_no", (sid,))
    doc["taxes"] = _rows(conn, f"SELECT {', '.join(TAX_FIELDS)} FROM sale_taxes WHERE sale_id = ? ORDER BY rate", (sid,))
    doc["payments"] = _rows(conn, f"SELECT {', '.join(PAYMENT_FIELDS)} FROM payments WHERE sale_id = ? ORDER BY seq", (sid,))
    return doc


def returned_quantities(conn: sqlite3.Connection, sale_id: str) -> dict[int, int]:
    """Quantity already returned per original line number, over all returns of a sale."""
    return {
        line_no: qty
        for line_no, qty in conn.execute(
            "SELECT l.original_line_no, sum(l.quantity) FROM sales s JOIN sale_lines l ON l.sale_id = s.id "
            "WHERE s.original_id = ? AND s.kind = 'return' GROUP BY l.original_line_no",
            (sale_id,),
        )
    }


def returned_line_parts(conn: sqlite3.Connection, sale_id: str) -> dict[int, dict[str, int]]:
    """Money already refunded per original line (gross, discount, basket share, tax, promotion)."""
    parts = {}
    for line_no, gross, discount, share, tax, promo in conn.execute(
        "SELECT l.original_line_no, sum(l.gross), sum(l.discount), sum(l.basket_share), sum(l.tax), "
        "sum(l.promo_discount) "
        "FROM sales s JOIN sale_lines l ON l.sale_id = s.id "
        "WHERE s.original_id = ? AND s.kind = 'return' GROUP BY l.original_line_no",
        (sale_id,),
    ):
        parts[line_no] = {
            "gross": gross, "discount": discount, "basket_share": share, "tax": tax, "promo_discount": promo,
        }
    return parts


def refunded_per_payment(conn: sqlite3.Connection, sale_id: str) -> dict[int, int]:
    """Amount already refunded against each payment of a sale (by the payment's seq)."""
    return {
        seq: amount
        for seq, amount in conn.execute(
            "SELECT p.original_seq, sum(p.amount) FROM sales s JOIN payments p ON p.sale_id = s.id "
            "WHERE s.original_id = ? AND s.kind IN ('return', 'void') AND p.original_seq IS NOT NULL "
            "GROUP BY p.original_seq",
            (sale_id,),
        )
    }


def prior_refunds(conn: sqlite3.Connection, sale_id: str) -> tuple[int, int, int]:
    """(refund totals, paid back in non-cash tenders, paid back in cash) over a sale's returns so far."""
    total = conn.execute(
        "SELECT coalesce(sum(total), 0) FROM sales WHERE original_id = ? AND kind = 'return'", (sale_id,)
    ).fetchone()[0]
    noncash, cash = conn.execute(
        "SELECT coalesce(sum(CASE WHEN p.kind != 'cash' THEN p.amount END), 0), "
        "coalesce(sum(CASE WHEN p.kind = 'cash' THEN p.amount END), 0) "
        "FROM sales s JOIN payments p ON p.sale_id = s.id WHERE s.original_id = ? AND s.kind = 'return'",
        (sale_id,),
    ).fetchone()
    return total, noncash, cash


def changed_since(conn: sqlite3.Connection, sale_id: str) -> tuple[str | None, int]:
    """What a refund of a sale depends on: its void mark and how many documents refer to it."""
    row = conn.execute(
        "SELECT voided_by, (SELECT count(*) FROM sales WHERE original_id = ?) FROM sales WHERE id = ?",
        (sale_id, sale_id),
    ).fetchone()
    return (row[0], row[1]) if row else (None, -1)
