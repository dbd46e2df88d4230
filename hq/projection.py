"""What head office derives from a stored journal event for its cross-store reports: sales, their lines and stock moves.

Derived in the ingest transaction from the same text that was hash-checked, so a report
never counts an event that is not held, and a duplicate (never stored twice) is never
counted twice. Returns and post-voids carry positive amounts in the terminal's journal
(the till prints them that way); here they are signed, so a sum over a day is its net.

Stock follows the terminals' own ledger rules: a sale takes its lines out, a return or
post-void puts them back unless it says `"restocked": false` (damaged goods), deliveries and transfers in add, adjustments and transfers out
carry their signed quantity, an applied stocktake books each variance, a points reward
takes one piece. Quantities are
thousandths like everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SALE_SIGN = {"sale.completed": 1, "sale.returned": -1, "sale.voided": -1}
RECEIVED = ("stock.received", "stock.transferred_in")
SINGLE_MOVE = ("stock.adjusted", "stock.transferred_out")
COUNTED = "stock.count_applied"
REWARD = "points.reward"  # a catalog item handed out for points: one piece leaves the shelf


@dataclass
class Projection:
    """Rows to add for the events of one batch; `store` is filled in by the batch."""

    sales: list[tuple] = field(default_factory=list)  # seq, sale_id, receipt_no, kind, day, at, total, tax, lines
    lines: list[tuple] = field(default_factory=list)  # seq, line_no, sku, name, quantity, amount, cost
    stock: list[tuple] = field(default_factory=list)  # seq, sku, quantity
    # What the downstream feeds are rebuilt from (hq/projection_feeds.py):
    profiles: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # member id, fields to set
    ledger: dict[str, list[int]] = field(default_factory=dict)  # member id -> [points, stored value]
    coupons: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # code, body
    redeemed: list[tuple[str, str, str]] = field(default_factory=list)  # code, sale id ('' given back), at
    orders_paid: list[tuple[str, str]] = field(default_factory=list)  # order no, receipt no


def as_int(value: Any) -> int:
    # A malformed field in an otherwise hash-valid event must not stop ingest: the event is
    # held as sent, only its contribution to the reports is zero.
    return value if type(value) is int else 0


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    lines = payload.get("lines")
    return [line for line in lines if isinstance(line, dict)] if isinstance(lines, list) else []


def add(projection: Projection, seq: int, kind: str, payload: dict[str, Any]) -> None:
    """Add what event `seq` of kind `kind` with `payload` contributes to the reports (nothing for most kinds)."""
    if kind in SALE_SIGN:
        sign = SALE_SIGN[kind]
        lines = _lines(payload)
        projection.sales.append((seq, as_str(payload.get("id")), as_str(payload.get("receipt_no")), kind,
                                 as_str(payload.get("business_day")), as_str(payload.get("completed_at")),
                                 sign * as_int(payload.get("total")), sign * as_int(payload.get("tax")), len(lines)))
        # Events older than the "restocked" field always put refunded goods back.
        moves_stock = sign > 0 or payload.get("restocked", True) is not False
        for line in lines:
            quantity = sign * as_int(line.get("quantity"))
            projection.lines.append((seq, as_int(line.get("line_no")), as_str(line.get("sku")), as_str(line.get("name")),
                                     quantity, sign * as_int(line.get("amount")), sign * as_int(line.get("cost"))))
            if moves_stock:
                projection.stock.append((seq, as_str(line.get("sku")), -quantity))
    elif kind in RECEIVED:
        projection.stock += [(seq, as_str(line.get("sku")), as_int(line.get("quantity"))) for line in _lines(payload)]
    elif kind in SINGLE_MOVE:
        projection.stock.append((seq, as_str(payload.get("sku")), as_int(payload.get("quantity"))))
    elif kind == REWARD:
        projection.stock.append((seq, as_str(payload.get("sku")), -1000))
    elif kind == COUNTED:
        projection.stock += [(seq, as_str(line.get("sku")), as_int(line.get("variance"))) for line in _lines(payload)]
