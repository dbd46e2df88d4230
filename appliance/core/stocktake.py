"""Stocktakes: a counting session over all products or one category, count sheets, entries,
the variance, and applying it to the ledger as one event.

Sales go on while people count. The variance of a product is taken against its on-hand
at the moment of its first count entry (a snapshot per line), not at the moment the
session is applied: a cola sold between the count and the apply was already off the
shelf the counter looked at, so it must not show as missing twice. Applying adds each
variance to the on-hand of that moment. Known limit: a sale between two entries of the
same product (shelf, then back room) is counted against the first entry's snapshot, so
count one product in one go. Products never counted are left as they are (partial counts).
Only one session is open at a time, so entries cannot go to the wrong one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Iterable, Sequence

from appliance.config import Settings
from appliance.core import reorder, stock_ledger
from appliance.core.clock import iso
from appliance.core.money import div_round_half_up
from appliance.core.operators import Operator, authorize
from appliance.core.stock_ledger import Move
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store


@dataclass(frozen=True)
class Session:
    id: str
    scope: str  # "" for every product, else the category counted
    blind: bool
    status: str
    opened_at: str
    opened_by: str


def _session(conn, session_id: str | None) -> Session:
    """The named session, or the open one."""
    cols = "id, scope, blind, status, opened_at, opened_by"
    if session_id is None:
        row = conn.execute(f"SELECT {cols} FROM stocktakes WHERE status = 'open'").fetchone()
        if row is None:
            raise DomainError("no stocktake is open (start one with `appliance stock count open`)", code="no_stocktake")
    else:
        row = conn.execute(f"SELECT {cols} FROM stocktakes WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise NotFound(f"no stocktake {session_id}")
    return Session(row[0], row[1], bool(row[2]), row[3], row[4], row[5])


def _require_open(conn, session_id: str | None) -> Session:
    session = _session(conn, session_id)
    if session.status != "open":
        raise DomainError(f"stocktake {session.id} is {session.status}; open a new one to count again",
                          code="stocktake_closed")
    return session


def current(conn, session_id: str | None = None) -> Session:
    return _session(conn, session_id)


def open_session(store: Store, *, category: str = "", blind: bool = False, operator: Operator,
                 at: datetime) -> Session:
    """Start counting every active product, or those of one category."""
    authorize("stock.count", operator)
    at_text = iso(at)
    with store.atomic() as conn:
        number = store.next_counter(conn, "stocktake")
        session_id = f"ST{number:05d}"
        with store.event("stock.count_opened", ref=session_id, at=at_text) as event:
            if conn.execute("SELECT id FROM stocktakes WHERE status = 'open'").fetchone():
                raise DomainError("a stocktake is already open: apply or cancel it first", code="stocktake_open")
            skus = [r[0] for r in conn.execute(
                "SELECT sku FROM products WHERE active = 1 AND (? = '' OR category = ?) ORDER BY sku", (category, category)
            )]
            if not skus:
                raise InputError(f"no active products in category {category!r}" if category else "the catalog is empty")
            conn.execute("INSERT INTO stocktakes (id, scope, blind, status, opened_at, opened_by) "
                         "VALUES (?, ?, ?, 'open', ?, ?)", (session_id, category, int(blind), at_text, operator.code))
            conn.executemany("INSERT INTO stocktake_lines (stocktake_id, sku) VALUES (?, ?)",
                             [(session_id, sku) for sku in skus])
            event.payload = {"id": session_id, "category": category, "blind": blind, "products": len(skus),
                             "by": operator.code}
    return _session(store.conn, session_id)


def write_sheet(conn, out: IO[str], session_id: str | None = None) -> int:
    """The count sheet as CSV: sku, name, unit, expected (left out when blind), counted (to fill in)."""
    session = _session(conn, session_id)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("sku", "name", "unit", "counted") if session.blind else ("sku", "name", "unit", "expected", "counted"))
    count = 0
    for sku, name, unit, have in conn.execute(
        "SELECT l.sku, p.name, p.unit, coalesce(s.on_hand, 0) FROM stocktake_lines l "
        "JOIN products p ON p.sku = l.sku LEFT JOIN stock_levels s ON s.sku = l.sku "
        "WHERE l.stocktake_id = ? ORDER BY p.category, l.sku", (session.id,)
    ):
        shown = stock_ledger.describe(have, unit).removesuffix(" kg")
        writer.writerow((sku, name, unit, "") if session.blind else (sku, name, unit, shown, ""))
        count += 1
    return count


def enter(store: Store, entries: Sequence[tuple[str, int]], *, operator: Operator, at: datetime,
          session_id: str | None = None) -> dict[str, Any]:
    """Add counted quantities (several entries of one SKU add up: shelf, then back room)."""
    authorize("stock.count", operator)
    if not entries:
        raise InputError("no counts to enter")
    at_text = iso(at)
    with store.atomic() as conn:
        session = _require_open(conn, session_id)
        with store.event("stock.counted", ref=session.id, at=at_text) as event:
            entered = []
            for sku, quantity in entries:
                item = stock_ledger.product(conn, sku)
                if quantity < 0:
                    raise InputError(f"{item.sku}: a count cannot be negative")
                stock_ledger.check_quantity(item, quantity, "count")
                if not conn.execute("SELECT 1 FROM stocktake_lines WHERE stocktake_id = ? AND sku = ?",
                                    (session.id, item.sku)).fetchone():
                    raise DomainError(f"{item.name} ({item.sku}) is not in stocktake {session.id} "
                                      f"(it counts category {session.scope!r})")
                conn.execute(
                    "UPDATE stocktake_lines SET counted = coalesce(counted, 0) + ?, "
                    "on_hand_at_count = coalesce(on_hand_at_count, ?), first_counted_at = coalesce(first_counted_at, ?) "
                    "WHERE stocktake_id = ? AND sku = ?",
                    (quantity, stock_ledger.on_hand(conn, item.sku), at_text, session.id, item.sku),
                )
                conn.execute("INSERT INTO stocktake_entries (stocktake_id, sku, quantity, operator, at) "
                             "VALUES (?, ?, ?, ?, ?)", (session.id, item.sku, quantity, operator.code, at_text))
                entered.append({"sku": item.sku, "quantity": quantity})
            event.payload = {"id": session.id, "entries": entered, "by": operator.code}
    return event.payload


def read_counts(text: Iterable[str]) -> list[tuple[str, str, int]]:
    """(line, sku, counted text) from a filled-in count sheet; rows left empty were not counted."""
    reader = csv.DictReader(text)
    if reader.fieldnames is None or not {"sku", "counted"} <= {f.strip().lower() for f in reader.fieldnames}:
        raise InputError("a count sheet needs the columns sku and counted", where="line 1")
    rows = []
    for row in reader:
        values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if values.get("counted"):
            rows.append((reader.line_num, values["sku"], values["counted"]))
    return rows


@dataclass(frozen=True)
class Variance:
    sku: str
    name: str
    unit: str
    expected: int  # on-hand when first counted
    counted: int
    variance: int  # counted - expected, thousandths
    cost: int
    value: int  # variance at the average cost, minor units


def variance(conn, session_id: str | None = None) -> tuple[Session, list[Variance]]:
    """Counted products with their variance in quantity and at cost."""
    session = _session(conn, session_id)
    rows = []
    for sku, name, unit, expected, counted, cost in conn.execute(
        "SELECT l.sku, p.name, p.unit, l.on_hand_at_count, l.counted, p.cost FROM stocktake_lines l "
        "JOIN products p ON p.sku = l.sku WHERE l.stocktake_id = ? AND l.counted IS NOT NULL ORDER BY l.sku",
        (session.id,),
    ):
        diff = counted - expected
        rows.append(Variance(sku, name, unit, expected, counted, diff, cost, div_round_half_up(diff * cost, 1000)))
    return session, rows


def apply(store: Store, settings: Settings, *, operator: Operator, approver: Operator | None = None,
          at: datetime, session_id: str | None = None) -> dict[str, Any]:
    """Write one count move per product whose count differs, close the session: one event."""
    who = authorize("stock.adjust", operator, approver, why="applying a stocktake")
    at_text = iso(at)
    with store.atomic() as conn:
        session = _require_open(conn, session_id)
        with store.event("stock.count_applied", ref=session.id, at=at_text) as event:
            _, lines = variance(conn, session.id)
            moves = [Move(v.sku, v.variance, "count", reason="stocktake", unit_cost=v.cost, document=session.id)
                     for v in lines if v.variance]
            stock_ledger.write(conn, moves, ref=session.id, at=at_text, operator=operator.code)
            conn.execute("UPDATE stocktakes SET status = 'applied', closed_at = ?, closed_by = ? WHERE id = ?",
                         (at_text, operator.code, session.id))
            event.payload = {
                "id": session.id, "by": operator.code, "approved_by": who,
                "lines": [{"sku": v.sku, "expected": v.expected, "counted": v.counted, "variance": v.variance,
                           "value": v.value} for v in lines],
                "variance_value": sum(v.value for v in lines),
                "stock_alerts": reorder.evaluate(conn, settings, [v.sku for v in lines], ref=session.id, at=at_text),
            }
    return event.payload


def cancel(store: Store, *, operator: Operator, approver: Operator | None = None, at: datetime,
           session_id: str | None = None) -> str:
    """Drop a session without touching stock; its entries stay for the record."""
    who = authorize("stock.adjust", operator, approver, why="cancelling a stocktake")
    at_text = iso(at)
    with store.atomic() as conn:
        session = _require_open(conn, session_id)
        with store.event("stock.count_cancelled", ref=session.id, at=at_text) as event:
            conn.execute("UPDATE stocktakes SET status = 'cancelled', closed_at = ?, closed_by = ? WHERE id = ?",
                         (at_text, operator.code, session.id))
            event.payload = {"id": session.id, "by": operator.code, "approved_by": who}
    return session.id
