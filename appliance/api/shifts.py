"""Shift routes: the open shift, open one, X report, close with a Z report (as the till's signed-in operator)."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import TEXT, Call, Route, integer, nullable, obj
from appliance.api.sales import AMOUNT, RESULT, act

SHIFT = obj({"id": TEXT, "device": TEXT, "business_day": TEXT, "opened_at": TEXT, "opened_by": TEXT,
             "opening_float": integer(), "closed_at": nullable(TEXT), "z_number": nullable(integer())})


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


ROUTES = [
    Route("GET", "/shifts/current", "cashier", current, "the shift open on this terminal, if any",
          obj({"shift": nullable(SHIFT)}), tag="shifts"),
    Route("POST", "/shifts/open", "cashier", open_shift, "open a shift with its opening float", RESULT,
          body=obj({"opening_float": AMOUNT}), tag="shifts"),
    Route("POST", "/shifts/x-report", "cashier", x_report, "the X report (shift so far, nothing closed)", RESULT,
          body=obj(), tag="shifts"),
    Route("POST", "/shifts/close", "supervisor", close_shift, "close the shift with the counted cash: Z report",
          RESULT, body=obj({"counted": AMOUNT}), tag="shifts"),
]
