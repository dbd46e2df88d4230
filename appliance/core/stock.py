"""Stock: receiving deliveries (moving-average cost), adjustments, transfers, the negative-stock
policy at the scan, and what every posted document does to alerts.

Each operation is one business event: its moves, the new average cost, any alert raised
or cleared, its journal entry and outbox entry commit together (ARCHITECTURE.md,
"a business event is ONE SQLite transaction").

Moving-average cost, on each receipt line, in minor units per piece or kilogram:

    new_avg = (on_hand x avg + qty x unit_cost) / (on_hand + qty), rounded half up

When on-hand before the receipt is zero or negative (goods were sold before they were
booked in) the average restarts at the receipt's unit cost: there is no stock left at the
old average to blend with. `products.cost` is the current average, and sale lines copy
it, so margins in the reports use what the goods really cost.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from appliance.config import Settings
from appliance.core import reorder, stock_ledger
from appliance.core.catalog import Product
from appliance.core.catalog_csv import RowError, csv_rows
from appliance.core.clock import iso
from appliance.core.ids import uuid7
from appliance.core.money import MAX_MINOR, div_round_half_up, parse_amount, parse_quantity
from appliance.core.operators import Operator, authorize
from appliance.core.posting import AfterPosting
from appliance.core.stock_ledger import REASONS, Move
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store


def moving_average(on_hand: int, average: int, quantity: int, unit_cost: int) -> int:
    """The average cost after receiving `quantity` at `unit_cost` (see the module docstring)."""
    if on_hand <= 0:
        return unit_cost
    return div_round_half_up(on_hand * average + quantity * unit_cost, on_hand + quantity)


@dataclass(frozen=True)
class ReceiptLine:
    sku: str
    quantity: int  # thousandths, > 0
    unit_cost: int  # minor units per piece or kilogram, >= 0


def receive(store: Store, settings: Settings, lines: Sequence[ReceiptLine], *, operator: Operator, at: datetime,
            supplier_id: str = "", document: str = "", kind: str = "receipt", party: str = "",
            approver: Operator | None = None) -> dict[str, Any]:
    """Book goods in (a delivery, or `kind="transfer_in"` from another shop); returns the journaled payload."""
    if kind not in ("receipt", "transfer_in"):
        raise ValueError(f"receive books receipts or transfers in, not {kind!r}")
    who = authorize("stock.receive" if kind == "receipt" else "stock.adjust", operator, approver,
                    why="a transfer from another shop")
    if not lines:
        raise InputError("a delivery needs at least one line")
    at_text, ref = iso(at), uuid7(at)
    event_kind = "stock.received" if kind == "receipt" else "stock.transferred_in"
    with store.event(event_kind, ref=ref, at=at_text) as event:
        conn = event.conn
        if supplier_id and not conn.execute("SELECT 1 FROM suppliers WHERE id = ?", (supplier_id,)).fetchone():
            raise NotFound(f"no supplier {supplier_id!r} (add it with `appliance stock supplier add`)")
        booked = []
        for line in lines:
            item = stock_ledger.product(conn, line.sku)
            if line.quantity <= 0:
                raise InputError(f"{item.sku}: the quantity received must be more than zero")
            if line.unit_cost < 0:
                raise InputError(f"{item.sku}: a unit cost cannot be negative")
            stock_ledger.check_quantity(item, line.quantity, "quantity received")
            have = stock_ledger.on_hand(conn, item.sku)
            # The catalog row is read again for each line: the same SKU twice in one note blends twice.
            before = int(conn.execute("SELECT cost FROM products WHERE sku = ?", (item.sku,)).fetchone()[0])
            after = moving_average(have, before, line.quantity, line.unit_cost)
            stock_ledger.write(conn, [Move(item.sku, line.quantity, kind, unit_cost=line.unit_cost,
                                           party=supplier_id or party, document=document)],
                               ref=ref, at=at_text, operator=operator.code)
            conn.execute("UPDATE products SET cost = ? WHERE sku = ?", (after, item.sku))
            booked.append({"sku": item.sku, "quantity": line.quantity, "unit_cost": line.unit_cost,
                           "cost_before": before, "cost_after": after, "on_hand": have + line.quantity})
        event.payload = {"id": ref, "kind": kind, "supplier": supplier_id, "from_shop": party, "document": document,
                         "operator": operator.code, "approved_by": who, "lines": booked,
                         "stock_alerts": reorder.evaluate(conn, settings, [b["sku"] for b in booked], ref=ref, at=at_text)}
    return event.payload


def adjust(store: Store, settings: Settings, sku: str, quantity: int, reason: str, *, operator: Operator,
           approver: Operator | None = None, at: datetime, note: str = "") -> dict[str, Any]:
    """Correct stock by a signed quantity with a reason code (damaged, expired, theft, found, correction)."""
    who = authorize("stock.adjust", operator, approver, why=f"stock adjustment of {sku}")
    if reason not in REASONS:
        raise InputError(f"reason {reason!r} must be one of {', '.join(REASONS)}")
    if quantity == 0:
        raise InputError("an adjustment of zero changes nothing")
    if reason == "found" and quantity < 0 or reason in ("damaged", "expired", "theft") and quantity > 0:
        raise InputError(f"{reason} goods {'come into' if reason == 'found' else 'leave'} stock: "
                         f"the quantity must be {'positive' if reason == 'found' else 'negative'}")
    return _single_move(store, settings, "stock.adjusted", sku, quantity, "adjust", operator=operator, at=at,
                        reason=reason, extra={"approved_by": who, "note": note})


def transfer_out(store: Store, settings: Settings, sku: str, quantity: int, to_shop: str, *, operator: Operator,
                 approver: Operator | None = None, at: datetime, document: str = "") -> dict[str, Any]:
    """Send goods to another shop: they leave at the current average cost (which stays as it is)."""
    who = authorize("stock.adjust", operator, approver, why=f"transfer of {sku}")
    if quantity <= 0:
        raise InputError("the quantity sent must be more than zero")
    if not to_shop.strip():
        raise InputError("name the shop the goods go to")
    return _single_move(store, settings, "stock.transferred_out", sku, -quantity, "transfer_out", operator=operator,
                        at=at, party=to_shop.strip(), document=document, extra={"approved_by": who})


def _single_move(store: Store, settings: Settings, event_kind: str, sku: str, quantity: int, kind: str, *,
                 operator: Operator, at: datetime, reason: str = "", party: str = "", document: str = "",
                 extra: dict[str, Any]) -> dict[str, Any]:
    at_text, ref = iso(at), uuid7(at)
    with store.event(event_kind, ref=ref, at=at_text) as event:
        conn = event.conn
        item = stock_ledger.product(conn, sku)
        stock_ledger.check_quantity(item, quantity, "quantity")
        stock_ledger.write(conn, [Move(item.sku, quantity, kind, reason=reason, unit_cost=item.cost, party=party,
                                       document=document)], ref=ref, at=at_text, operator=operator.code)
        event.payload = {"id": ref, "kind": kind, "sku": item.sku, "quantity": quantity, "reason": reason,
                         "unit_cost": item.cost, "party": party, "document": document, "operator": operator.code,
                         "on_hand": stock_ledger.on_hand(conn, item.sku), **extra,
                         "stock_alerts": reorder.evaluate(conn, settings, [item.sku], ref=ref, at=at_text)}
    return event.payload


# --- delivery notes as CSV

DELIVERY_COLUMNS = ("sku", "quantity", "unit_cost")


def read_delivery(conn, text: Iterable[str], exponent: int) -> tuple[list[ReceiptLine], list[RowError]]:
    """Every row of a delivery note checked on its own, so one pass names every bad row
    (line, column, reason) as the catalog import does; the caller books nothing if any is bad."""
    rows = csv_rows(csv.reader(text))
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError("the file is empty; the first line must be sku,quantity,unit_cost", where="line 1") from None
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    if sorted(header) != sorted(DELIVERY_COLUMNS):
        raise InputError(f"the columns must be {','.join(DELIVERY_COLUMNS)}, not {','.join(header)}", where="line 1")
    lines, errors = [], []
    for start, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(RowError(start, "*", f"has {len(row)} fields, the header has {len(header)}"))
            continue
        try:
            lines.append(_delivery_row(conn, dict(zip(header, (cell.strip() for cell in row))), exponent))
        except _BadRow as bad:
            errors.append(RowError(start, bad.column, bad.reason))
    if not lines and not errors:
        raise InputError("the delivery note has no lines", where="line 2")
    return lines, errors


class _BadRow(Exception):
    def __init__(self, column: str, reason: str):
        self.column, self.reason = column, reason


def _delivery_row(conn, values: dict[str, str], exponent: int) -> ReceiptLine:
    try:
        item = stock_ledger.product(conn, values["sku"])
    except NotFound as exc:
        raise _BadRow("sku", exc.message) from None
    try:
        quantity = parse_quantity(values["quantity"], what="quantity")
        stock_ledger.check_quantity(item, quantity, "quantity")
    except InputError as exc:
        raise _BadRow("quantity", exc.message) from None
    try:
        cost = parse_amount(values["unit_cost"], exponent, what="unit cost")
    except InputError as exc:
        raise _BadRow("unit_cost", exc.message) from None
    if not 0 <= cost < MAX_MINOR // 1000:
        raise _BadRow("unit_cost", f"{values['unit_cost']} must not be negative" if cost < 0 else "is too large")
    return ReceiptLine(item.sku, quantity, cost)


# --- the till: negative stock at the scan, alerts after posting


def scan_notice(conn, settings: Settings, item: Product, quantity: int, lines: Iterable[Any]) -> list[str]:
    """Check the on-hand before a scan adds `quantity` of `item` to a sale whose `lines` are given.

    `[stock] negative = "refuse"` refuses a scan the stock cannot cover (nothing is added);
    "warn" lets it through and returns what the operator is told (an empty list: enough stock).
    """
    wanted = quantity + sum(line.quantity for line in lines if line.sku == item.sku)
    have = stock_ledger.on_hand(conn, item.sku)
    if have >= wanted:
        return []
    text = (f"{item.name} ({item.sku}): {stock_ledger.describe(have, item.unit)} in stock, "
            f"{stock_ledger.describe(wanted, item.unit)} on this sale")
    if settings.stock.negative == "refuse":
        raise DomainError(f"{text}; not enough stock to sell (book the delivery in, or count the shelf)",
                          code="no_stock")
    return [f"{text}: the stock goes negative; tell the back office"]


def after_posting(settings: Settings) -> AfterPosting:
    """Alerts raised or cleared by a posted sale, return or void, in its transaction.

    The changes go into the document as `doc["stock_alerts"]` (only when there are any), so
    they are journaled and queued upstream with the sale, and the daemon can show them.
    """

    def after(conn, doc: dict[str, Any], at: str) -> None:
        if doc["kind"] == "cancel" or not doc["lines"]:
            return
        changes = reorder.evaluate(conn, settings, (line["sku"] for line in doc["lines"]), ref=doc["id"], at=at)
        if changes:
            doc["stock_alerts"] = changes

    return after


# --- the back office view


@dataclass(frozen=True)
class Level:
    sku: str
    name: str
    unit: str
    on_hand: int
    cost: int
    value: int  # on-hand at the average cost, minor units
    point: int | None
    below: bool


def report(store: Store, settings: Settings, at: datetime, *, category: str = "") -> list[Level]:
    """Every product with stock moves or a reorder rule: on-hand, value at cost, reorder point."""
    today = reorder.today_of(settings, iso(at))
    levels = []
    with store.atomic() as conn:  # learned points are cached as they are read
        rows = conn.execute(
            "SELECT p.sku, p.name, p.unit, p.cost, coalesce(l.on_hand, 0) FROM products p "
            "LEFT JOIN stock_levels l ON l.sku = p.sku "
            "WHERE (l.sku IS NOT NULL OR p.sku IN (SELECT sku FROM stock_rules)) AND (? = '' OR p.category = ?) "
            "ORDER BY p.sku",
            (category, category),
        ).fetchall()
        for sku, name, unit, cost, have in rows:
            point = reorder.point_of(conn, settings, sku, today)
            value = div_round_half_up(have * cost, 1000)
            levels.append(Level(sku, name, unit, have, cost, value, point.point if point else None,
                                point is not None and point.point > 0 and have < point.point))
    return levels
