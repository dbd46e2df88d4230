"""Member routes: find by phone, card, id or QR; search; add a member (the consent is recorded with them)."""

from __future__ import annotations

from typing import Any

from appliance.api.openapi import BOOLEAN, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.core import members, points
from appliance.core.clock import business_day

MEMBER = obj({"id": TEXT, "phone": TEXT, "name": TEXT, "birthday": nullable(TEXT), "tags": array(TEXT),
              "consent_at": nullable(TEXT), "card_code": nullable(TEXT), "tier": TEXT})
MEMBER_DETAIL = obj({**MEMBER["properties"], "points": integer(-2**63), "stored_value": integer(-2**63)})


async def search(call: Call) -> tuple[int, Any]:
    text = call.query.get("search", "")
    return 200, await call.daemon.run_in_worker(lambda: members.search(call.daemon.store.conn, text))


async def lookup(call: Call) -> tuple[int, Any]:
    daemon = call.daemon

    def read() -> dict:
        conn, now, t = daemon.store.conn, daemon.clock.now(), daemon.settings.time
        member = members.find(conn, call.params["key"])
        return {**{k: getattr(member, k) for k in MEMBER["properties"]},
                "points": points.available(conn, member.id, business_day(now, t.zone, t.cutover_hour)),
                "stored_value": members.balance(conn, member.id)}

    return 200, await daemon.run_in_worker(read)


async def add(call: Call) -> tuple[int, Any]:
    daemon, body = call.daemon, call.body
    return 201, await daemon.run_in_worker(lambda: members.add(
        daemon.store, body["phone"], body["name"], at=daemon.clock.now(), birthday=body.get("birthday"),
        tags=body.get("tags", ()), consent=body.get("consent", False)))


ROUTES = [
    Route("GET", "/members", "cashier", search, "members whose name contains, or phone ends with, the text",
          array(MEMBER), query={"search": string(64, min_length=1)}, tag="members"),
    Route("GET", "/members/{key}", "cashier", lookup, "a member by phone, card code, id or QR text, with balances",
          MEMBER_DETAIL, params={"key": string(64, min_length=1)}, tag="members"),
    Route("POST", "/members", "cashier", add, "add a member", MEMBER, status=201, tag="members", body=obj(
        {"phone": string(32, min_length=1), "name": string(64, min_length=1)},
        {"birthday": string(10), "tags": array(string(32), max_items=20), "consent": BOOLEAN})),
]
