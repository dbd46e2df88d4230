"""Operator routes for the back office: who works here, in which role, unlocking after wrong PINs."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import BOOLEAN, TEXT, Call, Route, array, obj, string
from appliance.api.settings import PLAIN
from appliance.core.operators import PERMISSIONS, ROLES

OPERATOR = obj({"code": TEXT, "name": TEXT, "role": string(16, enum=list(ROLES)), "locked": BOOLEAN})


def _operator_rows(call: Call) -> list[dict[str, Any]]:
    daemon = call.daemon
    rows = daemon.till.operators.list(at=daemon.clock.now())  # code, name and role only: never the PIN hash or salt
    return [{"code": code, "name": name, "role": role, "locked": locked} for code, name, role, locked in rows]


async def operator_list(call: Call) -> tuple[int, Any]:
    return 200, await call.daemon.run_in_worker(lambda: _operator_rows(call))


async def add_operator(call: Call) -> tuple[int, Any]:
    """The core checks the code, name, PIN and that the caller is a manager, as at the till."""
    daemon, body = call.daemon, call.body

    def run() -> dict[str, Any]:
        added = daemon.till.operators.add(body["code"], body["name"], body["role"], body["pin"],
                                          at=daemon.clock.now(), by=call.operator)
        return {"code": added.code, "name": added.name, "role": added.role, "locked": False}

    return 201, await daemon.run_in_worker(run)


async def unlock_operator(call: Call) -> tuple[int, Any]:
    daemon, code = call.daemon, call.params["code"]

    def run() -> dict[str, Any]:
        daemon.till.operators.unlock(code, by=call.operator, at=daemon.clock.now())
        return next(row for row in _operator_rows(call) if row["code"] == code)

    return 200, await daemon.run_in_worker(run)


async def roles(call: Call) -> tuple[int, Any]:
    return 200, {"roles": list(ROLES),
                 "permissions": [{"action": action, "role": role} for action, role in PERMISSIONS.items()]}



ROUTES = [
    Route("GET", "/operators", "supervisor", operator_list, "operators: code, name, role, locked out",
          array(OPERATOR), tag="settings"),
    Route("POST", "/operators", "manager", add_operator, "add an operator", OPERATOR, status=201, tag="settings",
          body=obj({"code": string(8, pattern=r"^[0-9]{1,8}$"), "name": string(64, min_length=1, pattern=PLAIN),
                    "role": string(16, enum=list(ROLES)), "pin": string(8, pattern=r"^[0-9]{4,8}$")})),
    Route("POST", "/operators/{code}/unlock", "supervisor", unlock_operator, "unlock an operator locked out after "
          "wrong PINs", OPERATOR, params={"code": string(8, min_length=1)}, body=obj(), tag="settings"),
    Route("GET", "/roles", "supervisor", roles, "the roles and the least role of each sensitive action",
          obj({"roles": array(TEXT), "permissions": array(obj({"action": TEXT, "role": TEXT}))}), tag="settings"),
]
