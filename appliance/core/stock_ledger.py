"""The stock ledger's rows: writing moves, reading on-hand, and proving the ledger agrees with itself.

Quantities are thousandths (pieces x 1000, or grams), signed: into the shop positive,
out negative. On-hand is the sum of a product's moves; `stock_levels` caches it (kept by
a trigger, see appliance/store/schema_stock.py) and `check` proves the two agree, and
that every sale, return and void moved exactly the stock its lines say.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Sequence

from appliance.core.catalog import Catalog, Product
from appliance.core.money import format_quantity
from appliance.errors import InputError, NotFound

# Moves that posting writes for sale documents, and the ones the stock commands write.
DOCUMENT_KINDS = ("sale", "return", "void")
STOCK_KINDS = ("receipt", "adjust", "count", "transfer_out", "transfer_in")
REASONS = ("damaged", "expired", "theft", "found", "correction")


@dataclass(frozen=True)
class Move:
    sku: str
    quantity: int  # thousandths, signed
    kind: str
    reason: str = ""
    unit_cost: int | None = None  # minor units per piece or kilogram, what the move is valued at
    party: str = ""  # the supplier, or the other shop of a transfer
    document: str = ""  # the delivery note or transfer slip number


def write(conn: sqlite3.Connection, moves: Sequence[Move], *, ref: str, at: str, operator: str) -> None:
    """Append moves inside the caller's event; the trigger keeps `stock_levels` in the same statement."""
    conn.executemany(
        "INSERT INTO stock_moves (sku, quantity, kind, ref, at, reason, unit_cost, party, document, operator) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(m.sku, m.quantity, m.kind, ref, at, m.reason, m.unit_cost, m.party, m.document, operator) for m in moves],
    )


def on_hand(conn: sqlite3.Connection, sku: str) -> int:
    row = conn.execute("SELECT on_hand FROM stock_levels WHERE sku = ?", (sku,)).fetchone()
    return int(row[0]) if row else 0


def product(conn: sqlite3.Connection, sku: str) -> Product:
    """The catalog product a stock command names; unknown SKUs are refused before anything is written."""
    found = Catalog(conn, ()).by_sku(sku.strip())
    if found is None:
        raise NotFound(f"no product with SKU {sku.strip()!r} (stock is kept per catalog product)")
    return found


def check_quantity(item: Product, quantity: int, what: str) -> None:
    """Piece goods move in whole pieces; weighed goods to the gram."""
    if item.unit == "piece" and quantity % 1000:
        raise InputError(f"{item.name} ({item.sku}) is kept by the piece: the {what} must be whole pieces, "
                         f"not {format_quantity(abs(quantity))}")


def describe(quantity: int, unit: str) -> str:
    """A quantity as a person reads it: "3" pieces, "1.250" kg."""
    if unit == "piece" and quantity % 1000 == 0:
        return str(quantity // 1000)
    return f"{format_quantity(quantity)} kg" if unit == "kg" else format_quantity(quantity)


# Cached balances that differ from the sum of the ledger (either side may be missing).
_CACHE = """
SELECT sku, coalesce(cached, 0), coalesce(ledger, 0) FROM (
    SELECT l.sku, l.on_hand AS cached, m.total AS ledger
    FROM stock_levels l LEFT JOIN (SELECT sku, sum(quantity) AS total FROM stock_moves GROUP BY sku) m USING (sku)
    UNION ALL
    SELECT m.sku, NULL, m.total FROM (SELECT sku, sum(quantity) AS total FROM stock_moves GROUP BY sku) m
    WHERE m.sku NOT IN (SELECT sku FROM stock_levels)
) WHERE coalesce(cached, 0) != coalesce(ledger, 0) ORDER BY sku
"""

# Products of sale documents whose stock moves differ from their lines. A return may have
# moved nothing at all: damaged goods are refunded without restocking.
_DOCUMENTS = """
SELECT id, receipt_no, sku, expected, moved FROM (
    SELECT s.id, s.receipt_no, s.kind, l.sku,
           sum(l.quantity) * CASE s.kind WHEN 'sale' THEN -1 ELSE 1 END AS expected,
           (SELECT coalesce(sum(m.quantity), 0) FROM stock_moves m WHERE m.ref = s.id AND m.sku = l.sku) AS moved,
           (SELECT count(*) FROM stock_moves m WHERE m.ref = s.id) AS doc_moves
    FROM sales s JOIN sale_lines l ON l.sale_id = s.id
    WHERE s.kind IN ('sale', 'return', 'void')
    GROUP BY s.id, l.sku
) WHERE moved != expected AND NOT (kind = 'return' AND doc_moves = 0)
ORDER BY id, sku
"""

_ORPHANS = """
SELECT count(*) FROM stock_moves m WHERE
   (m.kind IN ('sale', 'return', 'void') AND NOT EXISTS (SELECT 1 FROM sales s WHERE s.id = m.ref AND s.kind = m.kind))
   OR (m.kind NOT IN ('sale', 'return', 'void')
       AND m.ref NOT IN (SELECT ref FROM journal WHERE kind LIKE 'stock.%' OR kind = 'points.reward'))
"""


@dataclass
class CheckResult:
    lines: list[str]
    problems: list[str]


def check(conn: sqlite3.Connection) -> CheckResult:
    """Cache == ledger, sale documents == their moves, every move belongs to a journaled event."""
    result = CheckResult([], [])
    wrong = conn.execute(_CACHE).fetchall()
    for sku, cached, ledger in wrong[:20]:
        result.problems.append(f"stock of {sku}: the cached on-hand is {format_quantity(cached)} "
                               f"but the ledger adds up to {format_quantity(ledger)}")
    if len(wrong) > 20:
        result.problems.append(f"... and {len(wrong) - 20} more products whose cached on-hand is wrong")
    if not wrong:
        count = conn.execute("SELECT count(*) FROM stock_levels").fetchone()[0]
        result.lines.append(f"stock: the on-hand of {count} products equals the sum of their moves")
    bad = conn.execute(_DOCUMENTS).fetchall()
    for _, receipt_no, sku, expected, moved in bad[:20]:
        result.problems.append(f"receipt {receipt_no}: {sku} should have moved {format_quantity(expected)} "
                               f"but the ledger has {format_quantity(moved)}")
    if len(bad) > 20:
        result.problems.append(f"... and {len(bad) - 20} more document lines whose stock moves differ")
    if not bad:
        result.lines.append("stock: every sale, return and void moved the stock its lines say")
    orphans = conn.execute(_ORPHANS).fetchone()[0]
    if orphans:
        result.problems.append(f"{orphans} stock move(s) belong to no sale document or journaled stock event")
    else:
        result.lines.append("stock: every move belongs to a document or a journaled stock event")
    return result
