"""Shift routes: the open shift, open one, X report, close with a Z report (as the till's signed-in operator)."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import ANY_OBJECT, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.api.sales import AMOUNT, RESULT, act
from appliance.display.document import Text
from appliance.display.report import shift_report
from appliance.errors import DomainError

SHIFT = obj({"id": TEXT, "device": TEXT, "business_day": TEXT, "opened_at": TEXT, "opened_by": TEXT,
             "opening_float": integer(), "closed_at": nullable(TEXT), "z_number": nullable(integer())})

SHIFT_ID = {"id": string(64, min_length=1)}


async def current(call: Call) -> tuple[int, Any]:
    return 200, {"shift": await call.daemon.run_in_worker(call.daemon.till.shifts.current)}


async def open_shift(call: Call) -> tuple[int, Any]:
    return await act(call, "open_shift", opening_float=call.body["opening_float"])


async def x_report(call: Call) -> tuple[int, Any]:
    return await act(call, "x_report")


async def close_shift(call: Call) -> tuple[int, Any]:
    # The route needs a supervisor token; the till still checks its own signed-in operator
    # (shift.close in operators.PERMISSIONS), as it would at the keypad.
    return await act(call, "close_shift", counted=call.body["counted"])


async def history(call: Call) -> tuple[int, Any]:
    shifts = call.daemon.till.shifts
    return 200, await call.daemon.run_in_worker(lambda: shifts.history(call.query.get("limit", 60)))


async def z_report(call: Call) -> tuple[int, Any]:
    shifts = call.daemon.till.shifts
    report = await call.daemon.run_in_worker(lambda: shifts.z_report(call.params["id"]))
    return 200, report.as_payload()


async def reprint_z(call: Call) -> tuple[int, Any]:
    daemon = call.daemon

    def run() -> bool:
        report = daemon.till.shifts.z_report(call.params["id"])
        return daemon.print_slip([Text("重印 COPY", "center", bold=True), *shift_report(report, daemon.settings)])

    if not await daemon.run_in_worker(run):
        raise DomainError("the receipt printer is offline or not configured: check it (GET /devices) and print again")
    return 200, {"printed": 1}


ROUTES = [
    Route("GET", "/shifts/current", "cashier", current, "the shift open on this terminal, if any",
          obj({"shift": nullable(SHIFT)}), tag="shifts"),
    Route("POST", "/shifts/open", "cashier", open_shift, "open a shift with its opening float", RESULT,
          body=obj({"opening_float": AMOUNT}), tag="shifts"),
    Route("POST", "/shifts/x-report", "cashier", x_report, "the X report (shift so far, nothing closed)", RESULT,
          body=obj(), tag="shifts"),
    Route("POST", "/shifts/close", "supervisor", close_shift, "close the shift with the counted cash: Z report",
          RESULT, body=obj({"counted": AMOUNT}), tag="shifts"),
    Route("GET", "/shifts", "manager", history, "this terminal's shifts, the latest first", array(SHIFT),
          query={"limit": integer(1, 1000)}, tag="shifts"),
    Route("GET", "/shifts/{id}/z-report", "manager", z_report, "a closed shift's Z report as it was printed",
          ANY_OBJECT, params=SHIFT_ID, tag="shifts"),
    Route("POST", "/shifts/{id}/reprint", "supervisor", reprint_z, "print a closed shift's Z report again, marked COPY",
          obj({"printed": integer()}), params=SHIFT_ID, body=obj(), tag="shifts"),
]
