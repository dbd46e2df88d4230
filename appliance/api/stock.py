"""Stock routes: levels with value at cost and reorder point, and booking a delivery in."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import ANY_OBJECT, BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.api.sales import QUANTITY
from appliance.core import stock

LEVEL = obj({"sku": TEXT, "name": TEXT, "unit": TEXT, "on_hand": integer(-INT64), "cost": integer(-INT64),
             "value": integer(-INT64), "point": nullable(integer(-INT64)), "below": BOOLEAN})
RECEIVED = obj({"id": TEXT, "lines": array(obj({"sku": TEXT, "quantity": integer(), "unit_cost": integer(),
                                                "cost_before": integer(-INT64), "cost_after": integer(-INT64),
                                                "on_hand": integer(-INT64)})),
                "stock_alerts": array(ANY_OBJECT)}, closed=False)


async def levels(call: Call) -> tuple[int, Any]:
    daemon, category = call.daemon, call.query.get("category", "")
    # On the worker: reading learned reorder points caches them (a write).
    return 200, await daemon.run_in_worker(
        lambda: stock.report(daemon.store, daemon.settings, daemon.clock.now(), category=category))


async def receive(call: Call) -> tuple[int, Any]:
    daemon, body = call.daemon, call.body
    lines = [stock.ReceiptLine(line["sku"], line["quantity"], line["unit_cost"]) for line in body["lines"]]
    return 201, await daemon.run_in_worker(lambda: stock.receive(
        daemon.store, daemon.settings, lines, operator=call.operator, at=daemon.clock.now(),
        supplier_id=body.get("supplier", ""), document=body.get("document", "")))


ROUTES = [
    Route("GET", "/stock", "cashier", levels, "on hand, value at cost and reorder point per product",
          array(LEVEL), query={"category": string(64)}, tag="stock"),
    Route("POST", "/stock/receive", "cashier", receive, "book a delivery in (moving average cost)", RECEIVED,
          status=201, tag="stock", body=obj(
              {"lines": array(obj({"sku": string(64, min_length=1), "quantity": QUANTITY,
                                   "unit_cost": integer(0, 10**12)}), max_items=1000)},
              {"supplier": string(32), "document": string(64)})),
]
