"""Till routes (sign in, scan, subtotal, pay, cancel), receipts and returns: the same actions as the keypad."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import ANY_OBJECT, BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.core.returns import find_receipt, return_with_receipt, returnable
from appliance.core.session import Action, Result, State
from appliance.errors import DomainError

QUANTITY = integer(1, 10**9, description="thousandths: 1000 is one piece or one kilogram")
AMOUNT = integer(0, 10**12, description="minor units (fen, cents)")
RESULT = obj({"ok": BOOLEAN, "state": TEXT, "message": TEXT, "document": nullable(ANY_OBJECT)})
LINE = obj({"line_no": integer(), "sku": TEXT, "name": TEXT, "quantity": integer(), "unit_price": integer(),
            "amount": integer(-INT64)})
TILL = obj({"state": TEXT, "operator": nullable(TEXT),
            "sale": nullable(obj({"id": TEXT, "lines": array(LINE), "total": integer(-INT64), "due": integer(-INT64)}))})


class Refused(DomainError):
    """The till refused an action in its state (the message says what to do instead)."""

    code = "refused"


async def act(call: Call, name: str, **args: Any) -> tuple[int, Any]:
    """Run one till action like a key press; a refusal is a 409 carrying the till's message and state."""
    result: Result = await call.daemon.perform(Action(name, {k: v for k, v in args.items() if v is not None}))
    if not result.ok:
        raise Refused(result.message or "refused")
    return 200, {"ok": True, "state": result.state.value, "message": result.message, "document": result.document}


async def till_state(call: Call) -> tuple[int, Any]:
    def read() -> dict:
        till = call.daemon.till
        sale = None
        if till.sale is not None:
            priced = till.priced()
            sale = {"id": till.sale.id, "total": priced.total, "due": till.remaining(), "lines": [
                {"line_no": p.line.line_no, "sku": p.line.sku, "name": p.line.name, "quantity": p.line.quantity,
                 "unit_price": p.line.unit_price, "amount": p.result.amount} for p in priced.lines]}
        operator = till.operator.code if till.operator else None
        return {"state": call.daemon.session.state.value, "operator": operator, "sale": sale}

    return 200, await call.daemon.run_in_worker(read)


async def sign_in(call: Call) -> tuple[int, Any]:
    return await act(call, "sign_in", code=call.body["code"], pin=call.body["pin"])


async def sign_out(call: Call) -> tuple[int, Any]:
    return await act(call, "sign_out")


async def scan(call: Call) -> tuple[int, Any]:
    return await act(call, "scan", code=call.body["code"], quantity=call.body.get("quantity"))


async def subtotal(call: Call) -> tuple[int, Any]:
    return await act(call, "subtotal")


async def tender(call: Call) -> tuple[int, Any]:
    body = call.body
    return await act(call, "tender", kind=body["kind"], amount=body.get("amount"), reference=body.get("reference"))


async def cancel(call: Call) -> tuple[int, Any]:
    return await act(call, "cancel", reason=call.body.get("reason"))


async def done(call: Call) -> tuple[int, Any]:
    return await act(call, "done")


async def receipt(call: Call) -> tuple[int, Any]:
    till = call.daemon.till
    return 200, await call.daemon.run_in_worker(lambda: find_receipt(till, call.params["number"]))


async def make_return(call: Call) -> tuple[int, Any]:
    """A return with its receipt, by the operator signed in at the till, during the open shift."""
    daemon, body = call.daemon, call.body

    def run() -> dict:
        if daemon.session.state not in (State.IDLE, State.RECEIPT):
            raise Refused(f"the till is {daemon.session.state.value}: returns are taken between sales, signed in")
        till = daemon.till
        if "lines" in body:
            items = [(line["line_no"], line["quantity"]) for line in body["lines"]]
        else:
            items = [(r.line_no, r.left) for r in returnable(till, find_receipt(till, body["receipt"])) if r.left > 0]
            if not items:
                raise DomainError(f"everything on receipt {body['receipt']} has already been returned")
        doc = return_with_receipt(till, body["receipt"], items, refund_to=body.get("refund_to", "original"),
                                  restock=body.get("restock", True), reason=body.get("reason", ""))
        daemon.print_document(doc)  # the customer gets the refund slip, as at the till
        return doc

    return 201, await daemon.run_in_worker(run)


ROUTES = [
    Route("GET", "/till", "cashier", till_state, "the till's state and the sale in progress", TILL, tag="till"),
    Route("POST", "/till/sign-in", "cashier", sign_in, "sign an operator in at the till", RESULT, tag="till",
          body=obj({"code": string(8, min_length=1), "pin": string(8, min_length=1)})),
    Route("POST", "/till/sign-out", "cashier", sign_out, "sign the operator out", RESULT, tag="till", body=obj()),
    Route("POST", "/till/scan", "cashier", scan, "add an item by barcode, PLU label or SKU", RESULT, tag="till",
          body=obj({"code": string(64, min_length=1)}, {"quantity": QUANTITY})),
    Route("POST", "/till/subtotal", "cashier", subtotal, "finish ringing up: what is due", RESULT, tag="till",
          body=obj()),
    Route("POST", "/till/tender", "cashier", tender, "take a payment (cash, card, voucher, stored value...)", RESULT,
          tag="till", body=obj({"kind": string(32, min_length=1)}, {"amount": AMOUNT, "reference": string(64)})),
    Route("POST", "/till/cancel", "cashier", cancel, "cancel the sale in progress", RESULT, tag="till",
          body=obj({}, {"reason": string(200)})),
    Route("POST", "/till/done", "cashier", done, "the customer has gone: back to idle", RESULT, tag="till",
          body=obj()),
    Route("GET", "/receipts/{number}", "cashier", receipt, "a completed sale, return or void by receipt number",
          ANY_OBJECT, params={"number": string(32, min_length=1)}, tag="sales"),
    Route("POST", "/returns", "cashier", make_return, "return goods of a receipt (all that is left, or some lines)",
          ANY_OBJECT, status=201, tag="sales",
          body=obj({"receipt": string(32, min_length=1)}, {
              "lines": array(obj({"line_no": integer(1, 10**6), "quantity": QUANTITY}), max_items=500),
              "refund_to": {"type": "string", "enum": ["original", "cash"]}, "restock": BOOLEAN,
              "reason": string(200)})),
]
