"""Stock routes: levels, deliveries, adjustments, stocktakes, low-stock alerts and what to reorder.

Each handler calls the same core function as `appliance stock ...` in the daemon's worker;
the least role of a route is the role core's `authorize` asks for, so the API never
needs an approver: a cashier's token simply cannot reach a supervisor's action.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from appliance.api.openapi import ANY_OBJECT, BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.api.sales import QUANTITY
from appliance.core import reorder, stock, stocktake
from appliance.core.clock import iso
from appliance.core.money import parse_amount
from appliance.core.stock_ledger import REASONS
from appliance.errors import DomainError, InputError, NotFound

SIGNED = integer(-INT64)
SKU = string(64, min_length=1)
LEVEL = obj({"sku": TEXT, "name": TEXT, "unit": TEXT, "on_hand": SIGNED, "cost": SIGNED,
             "value": SIGNED, "point": nullable(SIGNED), "below": BOOLEAN})
ALERTS = array(ANY_OBJECT)
RECEIVED = obj({"id": TEXT, "lines": array(obj({"sku": TEXT, "quantity": integer(), "unit_cost": integer(),
                                                "cost_before": SIGNED, "cost_after": SIGNED,
                                                "on_hand": SIGNED})),
                "stock_alerts": ALERTS}, closed=False)
ADJUSTED = obj({"id": TEXT, "sku": TEXT, "quantity": SIGNED, "reason": TEXT, "on_hand": SIGNED,
                "stock_alerts": ALERTS}, closed=False)
ALERT = obj({"sku": TEXT, "name": TEXT, "unit": TEXT, "on_hand": SIGNED, "point": SIGNED, "raised_at": TEXT,
             "cleared_at": nullable(TEXT)})
SUPPLIER = obj({"id": TEXT, "name": TEXT, "lead_days": integer()})
SUGGESTION = obj({"supplier_id": TEXT, "sku": TEXT, "name": TEXT, "unit": TEXT, "on_hand": SIGNED, "point": SIGNED,
                  "order_up_to": SIGNED, "quantity": SIGNED})
SESSION = obj({"id": TEXT, "scope": TEXT, "blind": BOOLEAN, "status": TEXT, "opened_at": TEXT, "opened_by": TEXT})
COUNT = obj({"session": nullable(SESSION), "lines": array(obj({
    "sku": TEXT, "name": TEXT, "unit": TEXT, "expected": nullable(SIGNED), "counted": nullable(integer())}))})
VARIANCE = obj({"session": SESSION, "value": SIGNED, "lines": array(obj({
    "sku": TEXT, "name": TEXT, "unit": TEXT, "expected": SIGNED, "counted": integer(), "variance": SIGNED,
    "cost": SIGNED, "value": SIGNED}))})
APPLIED = obj({"id": TEXT, "variance_value": SIGNED, "stock_alerts": ALERTS, "lines": array(obj({
    "sku": TEXT, "expected": SIGNED, "counted": integer(), "variance": SIGNED, "value": SIGNED}))}, closed=False)


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


async def adjust(call: Call) -> tuple[int, Any]:
    """Core's refusals do not say which field; past the schema only the SKU can be unknown and
    only the quantity can break a rule (zero, wrong sign for the reason, part of a piece)."""
    daemon, body = call.daemon, call.body
    try:
        return 201, await daemon.run_in_worker(lambda: stock.adjust(
            daemon.store, daemon.settings, body["sku"], body["quantity"], body["reason"], operator=call.operator,
            at=daemon.clock.now(), note=body.get("note", "")))
    except NotFound as exc:
        exc.where = exc.where or "body.sku"
        raise
    except InputError as exc:
        exc.where = exc.where or "body.quantity"
        raise


async def alerts(call: Call) -> tuple[int, Any]:
    return 200, await call.daemon.run_in_worker(lambda: reorder.alerts(call.daemon.store.conn))


async def suppliers(call: Call) -> tuple[int, Any]:
    found = await call.daemon.run_in_worker(lambda: reorder.suppliers(call.daemon.store.conn))
    return 200, [{"id": i, "name": name, "lead_days": lead} for i, name, lead in found]


async def suggestions(call: Call) -> tuple[int, Any]:
    daemon = call.daemon

    def read() -> list[reorder.Suggestion]:
        with daemon.store.atomic() as conn:  # learned points are cached as they are read
            today = reorder.today_of(daemon.settings, iso(daemon.clock.now()))
            return reorder.suggestions(conn, daemon.settings, today, call.query.get("supplier"))

    return 200, await daemon.run_in_worker(read)


def _count_view(conn: Any) -> dict[str, Any]:
    """The open stocktake and its sheet. The lines are read from core's own count sheet, so a
    blind count shows no expected quantity here either; counted so far comes from the variance."""
    try:
        session = stocktake.current(conn)
    except DomainError as exc:
        if exc.code != "no_stocktake":
            raise
        return {"session": None, "lines": []}
    sheet = io.StringIO()
    stocktake.write_sheet(conn, sheet, session.id)
    counted = {v.sku: v.counted for v in stocktake.variance(conn, session.id)[1]}
    sheet.seek(0)
    return {"session": session, "lines": [
        {"sku": row["sku"], "name": row["name"], "unit": row["unit"], "counted": counted.get(row["sku"]),
         "expected": None if session.blind else parse_amount(row["expected"], 3)} for row in csv.DictReader(sheet)]}


async def count(call: Call) -> tuple[int, Any]:
    return 200, await call.daemon.run_in_worker(lambda: _count_view(call.daemon.store.conn))


async def count_open(call: Call) -> tuple[int, Any]:
    daemon, body = call.daemon, call.body
    return 201, await daemon.run_in_worker(lambda: stocktake.open_session(
        daemon.store, category=body.get("category", ""), blind=body.get("blind", False), operator=call.operator,
        at=daemon.clock.now()))


async def count_enter(call: Call) -> tuple[int, Any]:
    daemon, entries = call.daemon, [(e["sku"], e["quantity"]) for e in call.body["entries"]]
    return 200, await daemon.run_in_worker(
        lambda: stocktake.enter(daemon.store, entries, operator=call.operator, at=daemon.clock.now()))


async def count_variance(call: Call) -> tuple[int, Any]:
    session, lines = await call.daemon.run_in_worker(lambda: stocktake.variance(call.daemon.store.conn))
    return 200, {"session": session, "lines": lines, "value": sum(v.value for v in lines)}


async def count_apply(call: Call) -> tuple[int, Any]:
    daemon = call.daemon
    return 200, await daemon.run_in_worker(
        lambda: stocktake.apply(daemon.store, daemon.settings, operator=call.operator, at=daemon.clock.now()))


async def count_cancel(call: Call) -> tuple[int, Any]:
    daemon = call.daemon
    cancelled = await daemon.run_in_worker(
        lambda: stocktake.cancel(daemon.store, operator=call.operator, at=daemon.clock.now()))
    return 200, {"id": cancelled}


ROUTES = [
    Route("GET", "/stock", "cashier", levels, "on hand, value at cost and reorder point per product",
          array(LEVEL), query={"category": string(64)}, tag="stock"),
    Route("POST", "/stock/receive", "cashier", receive, "book a delivery in (moving average cost)", RECEIVED,
          status=201, tag="stock", body=obj(
              {"lines": array(obj({"sku": SKU, "quantity": QUANTITY, "unit_cost": integer(0, 10**12)}),
                              max_items=1000)},
              {"supplier": string(32), "document": string(64)})),
    Route("POST", "/stock/adjust", "supervisor", adjust, "correct stock by a signed quantity with a reason", ADJUSTED,
          status=201, tag="stock", body=obj(
              {"sku": SKU, "quantity": integer(-10**9, 10**9, description="thousandths, signed: -2000 takes two out"),
               "reason": string(16, enum=list(REASONS))}, {"note": string(200)})),
    Route("GET", "/stock/alerts", "cashier", alerts, "open low-stock alerts, oldest first", array(ALERT), tag="stock"),
    Route("GET", "/stock/suppliers", "cashier", suppliers, "suppliers and their lead times", array(SUPPLIER),
          tag="stock"),
    Route("GET", "/stock/reorder", "cashier", suggestions, "what to order, per supplier, for products below a point",
          array(SUGGESTION), query={"supplier": string(32)}, tag="stock"),
    Route("GET", "/stock/count", "cashier", count, "the open stocktake and its count sheet (no expected when blind)",
          COUNT, tag="stock"),
    Route("POST", "/stock/count/open", "cashier", count_open, "start a stocktake of every product or one category",
          SESSION, status=201, tag="stock", body=obj({}, {"category": string(64), "blind": BOOLEAN})),
    Route("POST", "/stock/count/enter", "cashier", count_enter, "add counted quantities (entries of one SKU add up)",
          obj({"id": TEXT, "entries": array(obj({"sku": TEXT, "quantity": integer()}))}, closed=False), tag="stock",
          body=obj({"entries": array(obj({"sku": SKU, "quantity": integer(0, 10**9)}), max_items=1000)})),
    # A supervisor's: the expected quantities would undo a blind count for the cashier counting.
    Route("GET", "/stock/count/variance", "supervisor", count_variance, "counted against expected, and at cost",
          VARIANCE, tag="stock"),
    Route("POST", "/stock/count/apply", "supervisor", count_apply, "write the variances to stock, close the stocktake",
          APPLIED, body=obj(), tag="stock"),
    Route("POST", "/stock/count/cancel", "supervisor", count_cancel, "close the stocktake without changing stock",
          obj({"id": TEXT}), body=obj(), tag="stock"),
]
