"""Head office's delivery orders feed: the orders of this terminal's store, to be paid at the door.

Head office wins until the order is paid here: a paid order is never reopened or
changed by a later page (the payment's `delivery.paid` event travels up and head office
marks it paid for the other terminals of the store). An order head office withdraws
(removed) is dropped unless it was paid here.
"""

from __future__ import annotations

import json

from appliance.config import Settings
from appliance.core.delivery_orders import parse_order
from appliance.errors import InputError
from appliance.store.db import Store
from appliance.sync.feeds import Item, page_event


def apply(store: Store, settings: Settings, items: list[Item], at: str) -> list[str]:
    with page_event(store, "delivery_orders", items, at) as (conn, refused):
        for item in items:
            if item.body is None:
                conn.execute("DELETE FROM delivery_orders WHERE order_no = ? AND paid = 0", (item.key,))
                continue
            try:
                order = parse_order(item.body, "head office's delivery orders")
            except InputError as exc:
                refused.append(f"delivery order {item.key}: {exc}")
                continue
            conn.execute(
                "INSERT INTO delivery_orders (order_no, items, total, paid, receipt_no, version) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (order_no) DO UPDATE SET items = excluded.items, total = excluded.total,"
                " paid = max(delivery_orders.paid, excluded.paid),"
                " receipt_no = CASE WHEN delivery_orders.paid THEN delivery_orders.receipt_no ELSE excluded.receipt_no END,"
                " version = excluded.version WHERE delivery_orders.paid = 0 OR excluded.paid = 1",
                (order.order_no, json.dumps([{"sku": i.sku, "qty": i.quantity} for i in order.items]), order.total,
                 int(order.paid), order.receipt_no, item.version),
            )  # fmt: skip
    return refused
