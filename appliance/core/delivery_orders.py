"""Delivery orders paid at the door, found by the barcode on the order slip.

Orders come from upstream (the shop's web shop or a delivery platform) through head
office's delivery orders feed (appliance/sync/apply_orders.py), each
`{order_no, items: [{sku, qty}], total, paid}`. The courier's handheld scans the slip's
barcode (`ORD` and the order number), the order's items become a sale, and the customer
pays it like any other; the payment is then recorded as a `delivery.paid` event, which
head office passes on so no other terminal of the store takes the order again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator

from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

PREFIX = "ORD"


@dataclass(frozen=True)
class OrderItem:
    sku: str
    quantity: int  # whole pieces, as the order lists them


@dataclass(frozen=True)
class Order:
    order_no: str
    items: tuple[OrderItem, ...]
    total: int  # minor units, what the customer was quoted
    paid: bool
    receipt_no: str = ""


def is_order_code(code: str) -> bool:
    """A scanned code is a delivery order's slip when it starts with ORD (product barcodes are digits)."""
    return code.strip().upper().startswith(PREFIX)


def parse_order(raw: Any, where: str) -> Order:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each order must be an object with order_no, items, total and paid")
    try:
        order_no = str(raw["order_no"]).strip().upper()
        items = tuple(OrderItem(str(item["sku"]), int(item["qty"])) for item in raw["items"])
        total, paid = int(raw["total"]), bool(raw["paid"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: order {raw.get('order_no', '?')!r} lacks or mistypes {exc}") from None
    if not items or any(item.quantity <= 0 for item in items):
        raise InputError(f"{where}: order {order_no} must list items with quantities above zero")
    return Order(order_no, items, total, paid, str(raw.get("receipt_no", "")))


def _rows(conn: sqlite3.Connection, where: str = "", params: tuple = ()) -> Iterator[Order]:
    for order_no, items, total, paid, receipt_no in conn.execute(
        f"SELECT order_no, items, total, paid, receipt_no FROM delivery_orders {where} ORDER BY order_no", params
    ):
        yield Order(order_no, tuple(OrderItem(i["sku"], i["qty"]) for i in json.loads(items)), total, bool(paid),
                    receipt_no)


def orders(conn: sqlite3.Connection) -> list[Order]:
    """Every order head office sent this store, paid or not."""
    return list(_rows(conn))


def find(conn: sqlite3.Connection, code: str) -> Order:
    """The unpaid order a slip's barcode names; paid and unknown orders are refused with the reason."""
    number = code.strip().upper().removeprefix(PREFIX)
    order = next(_rows(conn, "WHERE order_no IN (?, ?)", (number, f"{PREFIX}{number}")), None)
    if order is None:
        raise NotFound(f"no delivery order {PREFIX}{number}: has head office sent the store's orders? "
                       "(appliance sync now)")  # fmt: skip
    if order.paid:
        paid_by = f" (receipt {order.receipt_no})" if order.receipt_no else ""
        raise DomainError(f"delivery order {order.order_no} is already paid{paid_by}")
    return order


def mark_paid(store: Store, order_no: str, receipt_no: str, *, at: str) -> None:
    """Record the order paid by `receipt_no`, as an event head office passes on to the store's other terminals."""
    with store.event("delivery.paid", ref=order_no, at=at) as event:
        if event.conn.execute("UPDATE delivery_orders SET paid = 1, receipt_no = ? WHERE order_no = ? AND paid = 0",
                              (receipt_no, order_no)).rowcount != 1:  # fmt: skip
            raise DomainError(f"delivery order {order_no} is unknown or already paid")
        event.payload = {"order_no": order_no, "receipt_no": receipt_no}
