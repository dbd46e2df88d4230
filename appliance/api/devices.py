"""Device status routes: every configured device online or not and why, and the till's overall state."""

from __future__ import annotations

from typing import Any

from appliance import __version__
from appliance.api.openapi import BOOLEAN, TEXT, Call, Route, array, integer, nullable, obj
from appliance.display.testpage import printer_test_page
from appliance.errors import DomainError

DEVICE = obj({"name": TEXT, "kind": TEXT, "address": TEXT, "required": BOOLEAN, "online": BOOLEAN,
              "last_error": TEXT})


def device_states(daemon: Any) -> list[dict]:
    return [{"name": s.name, "kind": s.kind, "address": s.address, "required": s.required, "online": s.online,
             "last_error": s.last_error} for s in list(daemon.manager.states.values())]


async def device_list(call: Call) -> tuple[int, Any]:
    return 200, device_states(call.daemon)


async def status(call: Call) -> tuple[int, Any]:
    daemon = call.daemon
    missing = [d["name"] for d in device_states(daemon) if d["required"] and not d["online"]]
    operator = daemon.till.operator
    return 200, {"version": __version__, "shop": daemon.settings.shop.name, "state": daemon.session.state.value,
                 "operator": operator.code if operator else None, "selling": not missing, "missing": missing}


async def printer_test(call: Call) -> tuple[int, Any]:
    """The page `appliance doctor --test-page` prints, so a manager can check paper, head and cutter from here."""
    daemon, settings = call.daemon, call.daemon.settings

    def run() -> bool:
        state = daemon.manager.first("printer")
        columns = getattr(state.device if state else None, "columns", settings.receipt.width)
        return daemon.print_slip(printer_test_page(settings.shop.name, settings.device.id, columns))

    if not await daemon.run_in_worker(run):
        raise DomainError("the receipt printer is offline or not configured: check it (GET /devices) and try again")
    return 200, {"printed": 1}


ROUTES = [
    Route("GET", "/devices", "cashier", device_list, "every configured device and whether it works",
          array(DEVICE), tag="devices"),
    Route("GET", "/status", "cashier", status, "the till at a glance: state, operator, missing devices",
          obj({"version": TEXT, "shop": TEXT, "state": TEXT, "operator": nullable(TEXT), "selling": BOOLEAN,
               "missing": array(TEXT)}), tag="devices"),
    Route("POST", "/devices/printer/test-page", "supervisor", printer_test, "print the printer test page",
          obj({"printed": integer()}), body=obj(), tag="devices"),
]
