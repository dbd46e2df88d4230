"""Delivery orders paid at the door: a local file of orders, found by the barcode on the order slip.

Orders come from upstream (the shop's web shop or a delivery platform); until the sync
issue lands they are read from `delivery_orders.json` in the data folder, a list of
`{order_no, items: [{sku, qty}], total, paid}`. The courier's handheld scans the slip's
barcode (`ORD` and the order number), the order's items become a sale, and the customer
pays it like any other. The file is rewritten (to a temporary file, then renamed, so a
power cut leaves the old or the new file, never half of one) when an order is paid.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import DomainError, InputError, NotFound

PREFIX = "ORD"
FILE_NAME = "delivery_orders.json"


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


def _order(raw: Any, where: str) -> Order:
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


class OrderSource:
    """The orders file of one data folder; read on every lookup so an updated file is seen at once."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FILE_NAME

    def orders(self) -> list[Order]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise InputError(f"the delivery orders file {self.path} cannot be read: {exc}") from None
        if not isinstance(raw, list):
            raise InputError(f"the delivery orders file {self.path} must hold a list of orders")
        return [_order(item, str(self.path)) for item in raw]

    def find(self, code: str) -> Order:
        """The unpaid order a slip's barcode names; paid and unknown orders are refused with the reason."""
        number = code.strip().upper()
        for order in self.orders():
            if order.order_no in (number, number.removeprefix(PREFIX)) or f"{PREFIX}{order.order_no}" == number:
                if order.paid:
                    paid_by = f" (receipt {order.receipt_no})" if order.receipt_no else ""
                    raise DomainError(f"delivery order {order.order_no} is already paid{paid_by}")
                return order
        raise NotFound(f"no delivery order {number} in {self.path.name}: has the order list been updated?")

    def mark_paid(self, order_no: str, receipt_no: str) -> None:
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        for item in raw:
            if str(item.get("order_no", "")).strip().upper() == order_no:
                item["paid"], item["receipt_no"] = True, receipt_no
                break
        else:
            raise NotFound(f"delivery order {order_no} is no longer in {self.path.name}")
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(raw, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
