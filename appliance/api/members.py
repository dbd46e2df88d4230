"""Member routes: find, add and edit members; their ledgers, purchases and coupons; segments and campaign
coupons; a member's data export and erasure.

Every route calls the same core functions as `appliance member ...` (appliance/cli/member_cmd.py), with the
same permission checks, so the back office and the CLI cannot disagree. A member is named by `{key}`: phone,
card code, id or QR text, as at the till.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date
from typing import Any, Sequence

from appliance.api.openapi import (ANY_OBJECT, BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj,
                                   string)
from appliance.api.reports import DAY
from appliance.core import coupons, members, points, privacy, segments, tiers
from appliance.core.clock import business_day
from appliance.core.operators import authorize
from appliance.core.spreadsheet import BOM
from appliance.errors import InputError

MEMBER = obj({"id": TEXT, "phone": TEXT, "name": TEXT, "birthday": nullable(TEXT), "tags": array(TEXT),
              "consent_at": nullable(TEXT), "card_code": nullable(TEXT), "tier": TEXT})
MEMBER_DETAIL = obj({**MEMBER["properties"], "points": integer(-INT64), "stored_value": integer(-INT64),
                     "tier_basis": integer(-INT64), "tier_by": string(6, enum=["spend", "points"])})
KEY = {"key": string(64, min_length=1)}
STATEMENT = obj({"kind": TEXT, "earlier": integer(), "rows": array(obj({
    "at": TEXT, "kind": nullable(TEXT), "change": integer(-INT64), "balance": integer(-INT64), "ref": TEXT,
    "receipt_no": nullable(TEXT), "expires_on": nullable(TEXT)}))})
PURCHASE = obj({"receipt_no": TEXT, "kind": TEXT, "business_day": TEXT, "completed_at": TEXT, "total": integer(-INT64),
                "discount": integer(-INT64), "line_count": integer(), "points": integer(-INT64)})
COUPON = obj({"code": TEXT, "amount": integer(), "percent": integer(), "min_spend": integer(),
              "expires_on": nullable(TEXT), "redeemed_ref": nullable(TEXT)})
SEGMENT_QUERY = {"days": integer(1, 3700, description="rfm: window (default 365); lapsed: no purchase in this many"),
                 "month": integer(1, 12, description="birthdays: month (default: this month)"),
                 "value": string(32, min_length=1, description="tag: the tag; tier: the tier name")}
SEGMENT_PARAMS = {"days": nullable(integer()), "month": nullable(integer()), "value": nullable(TEXT)}
SEGMENT_NAME = {"name": string(16, enum=list(segments.NAMES))}
SEGMENT_MEMBER = obj({"id": TEXT, "name": TEXT, "phone": TEXT, "tier": TEXT, "consent": BOOLEAN,
                      "why": nullable(TEXT)})


def _today(daemon: Any) -> date:
    t = daemon.settings.time
    return business_day(daemon.clock.now(), t.zone, t.cutover_hour)


async def search(call: Call) -> tuple[int, Any]:
    text = call.query.get("search", "")
    return 200, await call.daemon.run_in_worker(lambda: members.search(call.daemon.store.conn, text))


async def lookup(call: Call) -> tuple[int, Any]:
    """The tier is worked out now (as the till prices with it), not the one stored at the last sale."""
    daemon = call.daemon

    def read() -> dict:
        conn = daemon.store.conn
        member = members.find(conn, call.params["key"])
        tier = tiers.current(conn, daemon.settings, member.id, daemon.clock.now())
        return {**{k: getattr(member, k) for k in MEMBER["properties"]}, "tier": tier.name,
                "points": points.available(conn, member.id, _today(daemon)),
                "stored_value": members.balance(conn, member.id), "tier_basis": tier.basis,
                "tier_by": daemon.settings.loyalty.tier_basis}

    return 200, await daemon.run_in_worker(read)


async def add(call: Call) -> tuple[int, Any]:
    daemon, body = call.daemon, call.body
    return 201, await daemon.run_in_worker(lambda: members.add(
        daemon.store, body["phone"], body["name"], at=daemon.clock.now(), birthday=body.get("birthday"),
        tags=body.get("tags", ()), consent=body.get("consent", False)))


async def edit(call: Call) -> tuple[int, Any]:
    daemon, body = call.daemon, call.body

    def run() -> members.Member:
        member = members.find(daemon.store.conn, call.params["key"])
        return members.edit(daemon.store, member.id, at=daemon.clock.now(), operator=call.operator,
                            name=body.get("name"), phone=body.get("phone"), birthday=body.get("birthday"),
                            tags=body.get("tags"), consent=body.get("consent"))

    return 200, await daemon.run_in_worker(run)


def _receipts(conn: sqlite3.Connection, refs: Sequence[str]) -> dict[str, str]:
    """Receipt numbers of the ledger references that are sales, so a statement line can be traced to its receipt."""
    return dict(conn.execute("SELECT id, receipt_no FROM sales WHERE id IN (SELECT value FROM json_each(?))",
                             (json.dumps(list(refs)),)).fetchall())


async def statement(call: Call) -> tuple[int, Any]:
    """The latest `limit` rows of the ledger, oldest first, each with the balance after it."""
    daemon, kind, limit = call.daemon, call.query.get("kind", "stored_value"), call.query.get("limit", 200)

    def read() -> dict:
        conn = daemon.store.conn
        member = members.find(conn, call.params["key"])
        if kind == "points":
            rows = [{"at": at, "kind": k, "change": d, "balance": b, "ref": ref, "expires_on": exp}
                    for at, k, d, b, ref, exp in points.statement(conn, member.id)]
        else:
            rows = [{"at": at, "kind": None, "change": d, "balance": b, "ref": ref, "expires_on": None}
                    for at, d, b, ref in members.statement(conn, member.id)]
        shown = rows[-limit:]
        receipts = _receipts(conn, [r["ref"] for r in shown])
        return {"kind": kind, "earlier": len(rows) - len(shown),
                "rows": [{**r, "receipt_no": receipts.get(r["ref"])} for r in shown]}

    return 200, await daemon.run_in_worker(read)


async def history(call: Call) -> tuple[int, Any]:
    """Sales, returns and post-voids of the member, newest first, with the points each moved."""
    daemon, limit = call.daemon, call.query.get("limit", 100)

    def read() -> list[dict]:
        conn = daemon.store.conn
        member = members.find(conn, call.params["key"])
        cursor = conn.execute(
            "SELECT s.receipt_no, s.kind, s.business_day, s.completed_at, s.total, s.discount, s.line_count, "
            "(SELECT coalesce(sum(p.delta), 0) FROM points p WHERE p.member_id = s.member_id AND p.ref = s.id) "
            "FROM sales s WHERE s.member_id = ? AND s.kind != 'cancel' ORDER BY s.completed_at DESC LIMIT ?",
            (member.id, limit))
        return [dict(zip(PURCHASE["properties"], row)) for row in cursor]

    return 200, await daemon.run_in_worker(read)


async def member_coupons(call: Call) -> tuple[int, Any]:
    daemon = call.daemon

    def read() -> list[dict]:
        conn = daemon.store.conn
        found = coupons.of_member(conn, members.find(conn, call.params["key"]).id)
        return [{k: getattr(c, k) for k in COUPON["properties"]} for c in found]

    return 200, await daemon.run_in_worker(read)


# --- segments and campaign coupons


def _segment(daemon: Any, name: str, given: dict[str, Any], where: str) -> tuple[dict, list[tuple[str, Any]]]:
    """(the parameters used, [(member id, what qualified them)]) of a segment, with the CLI's defaults."""
    try:
        return segments.select(daemon.store.conn, name, daemon.clock.now(), daemon.settings.time.zone,
                               days=given.get("days"), month=given.get("month"), value=given.get("value"))
    except InputError as exc:
        raise InputError(exc.message, where=f"{where}{exc.where}") from None


async def segment_list(call: Call) -> tuple[int, Any]:
    """Every segment with its default parameters, and one per tag in use and per configured tier, with sizes."""
    daemon = call.daemon

    def read() -> list[dict]:
        conn = daemon.store.conn
        tags = [t for (t,) in conn.execute(
            "SELECT DISTINCT j.value FROM members m, json_each(m.tags) j WHERE m.erased_at IS NULL ORDER BY 1")]
        wanted = [("rfm", {}), ("lapsed", {}), ("birthdays", {}), *[("tag", {"value": t}) for t in tags],
                  *[("tier", {"value": name}) for name, _, _ in daemon.settings.loyalty.tiers]]
        out = []
        for name, given in wanted:
            used, found = _segment(daemon, name, given, "")
            out.append({"segment": name, **used, "size": len(found)})
        return out

    return 200, await daemon.run_in_worker(read)


async def segment(call: Call) -> tuple[int, Any]:
    daemon, name, limit = call.daemon, call.params["name"], call.query.get("limit", 500)

    def read() -> dict:
        conn = daemon.store.conn
        used, found = _segment(daemon, name, call.query, "")
        rows = []
        for member_id, why in found[:limit]:
            m = members.get(conn, member_id)
            rows.append({"id": m.id, "name": m.name, "phone": m.phone, "tier": m.tier,
                         "consent": m.consent_at is not None, "why": why})
        return {"segment": name, **used, "size": len(found), "members": rows}

    return 200, await daemon.run_in_worker(read)


async def segment_csv(call: Call) -> tuple[int, Any]:
    """Only members who gave marketing consent are written (segments.export_csv): the file is for a campaign."""
    daemon = call.daemon

    def write() -> str:
        out = io.StringIO()
        found = _segment(daemon, call.params["name"], call.query, "")[1]
        segments.export_csv(daemon.store.conn, [m for m, _ in found], out)
        return BOM + out.getvalue()

    return 200, await daemon.run_in_worker(write)


async def issue_coupons(call: Call) -> tuple[int, Any]:
    """One coupon to a member, or one to every member of a segment, as one event (coupons.issue)."""
    daemon, body = call.daemon, call.body
    if ("member" in body) == ("segment" in body):
        raise InputError("give either member (one member) or segment (every member in it)", where="body.member")

    def run() -> dict:
        if "member" in body:
            ids = [members.find(daemon.store.conn, body["member"]).id]
        else:
            ids = [m for m, _ in _segment(daemon, body["segment"], body, "body.")[1]]
        codes = coupons.issue(daemon.store, ids, amount=body.get("amount", 0), percent=body.get("percent", 0),
                              min_spend=body.get("min_spend", 0), expires_on=body.get("expires_on"),
                              campaign=body.get("campaign", ""), at=daemon.clock.now(), operator=call.operator)
        return {"issued": len(codes), "coupons": [{"code": c, "member_id": m} for c, m in zip(codes, ids)]}

    return 201, await daemon.run_in_worker(run)


# --- privacy


async def export(call: Call) -> tuple[int, Any]:
    daemon = call.daemon
    authorize("member.export", call.operator)

    def read() -> dict:
        conn = daemon.store.conn
        return privacy.export(conn, members.find(conn, call.params["key"]).id)

    return 200, await daemon.run_in_worker(read)


async def erase(call: Call) -> tuple[int, Any]:
    """The member's phone, typed again, confirms which person is erased: erasure cannot be undone."""
    daemon, body = call.daemon, call.body

    def run() -> dict:
        member = members.find(daemon.store.conn, call.params["key"])
        try:
            typed = members.normalize_phone(body["confirm"])
        except InputError:
            typed = None
        if typed != member.phone:
            raise InputError("type the member's phone number to confirm the erasure", where="body.confirm")
        return privacy.erase(daemon.store, daemon.settings, member.id, body["reason"], at=daemon.clock.now(),
                             operator=call.operator)

    return 200, await daemon.run_in_worker(run)


PROFILE_FIELDS = {"name": string(64, min_length=1), "phone": string(32, min_length=1),
                  "birthday": string(10, description='YYYY-MM-DD; "" clears it'),
                  "tags": array(string(32), max_items=20), "consent": BOOLEAN}

ROUTES = [
    Route("GET", "/members", "cashier", search, "members whose name contains, or phone ends with, the text",
          array(MEMBER), query={"search": string(64, min_length=1)}, tag="members"),
    Route("GET", "/members/{key}", "cashier", lookup,
          "a member by phone, card code, id or QR text, with balances and the tier reached now",
          MEMBER_DETAIL, params=KEY, tag="members"),
    Route("POST", "/members", "cashier", add, "add a member", MEMBER, status=201, tag="members", body=obj(
        {"phone": string(32, min_length=1), "name": string(64, min_length=1)},
        {"birthday": string(10), "tags": array(string(32), max_items=20), "consent": BOOLEAN})),
    Route("PATCH", "/members/{key}", "cashier", edit, "change profile fields (those left out stay as they are)",
          MEMBER, params=KEY, body=obj({}, PROFILE_FIELDS), tag="members"),
    Route("GET", "/members/{key}/statement", "cashier", statement,
          "the stored value or points ledger with the balance after each row, oldest first", STATEMENT, params=KEY,
          query={"kind": string(12, enum=["stored_value", "points"]), "limit": integer(1, 1000)}, tag="members"),
    Route("GET", "/members/{key}/history", "cashier", history, "the member's receipts, newest first",
          array(PURCHASE), params=KEY, query={"limit": integer(1, 1000)}, tag="members"),
    Route("GET", "/members/{key}/coupons", "cashier", member_coupons, "the member's coupons, used or not",
          array(COUPON), params=KEY, tag="members"),
    Route("GET", "/members/{key}/export", "manager", export, "everything kept about the member (access request)",
          obj({"profile": ANY_OBJECT, "points": array(ANY_OBJECT), "stored_value": array(ANY_OBJECT),
               "coupons": array(ANY_OBJECT), "purchases": array(ANY_OBJECT)}), params=KEY, tag="members"),
    Route("POST", "/members/{key}/erase", "manager", erase,
          "erase the member's personal data for good (sales are kept); refused while stored value is owed",
          obj({"id": TEXT, "by": TEXT, "reason": TEXT, "points_forfeited": integer()}), params=KEY, tag="members",
          body=obj({"reason": string(200, min_length=1), "confirm": string(32, min_length=1)})),
    Route("GET", "/segments", "supervisor", segment_list, "segments with their default parameters and sizes",
          array(obj({"segment": TEXT, **SEGMENT_PARAMS, "size": integer()})), tag="members"),
    # A manager's: names and phones of many members at once, as the CSV export and the member export are.
    Route("GET", "/segments/{name}", "manager", segment, "the members of a segment (the first `limit`)",
          obj({"segment": TEXT, **SEGMENT_PARAMS, "size": integer(), "members": array(SEGMENT_MEMBER)}),
          params=SEGMENT_NAME, query={**SEGMENT_QUERY, "limit": integer(1, 5000)}, tag="members"),
    Route("GET", "/segments/{name}/csv", "manager", segment_csv,
          "a segment's members who gave marketing consent, as CSV for a campaign", TEXT, params=SEGMENT_NAME,
          query=SEGMENT_QUERY, tag="members", content="text/csv"),
    Route("POST", "/coupons", "supervisor", issue_coupons,
          "issue a coupon to one member, or one to every member of a segment", obj({
              "issued": integer(), "coupons": array(obj({"code": TEXT, "member_id": TEXT}))}), status=201,
          tag="members", body=obj({}, {
              "member": string(64, min_length=1), "segment": string(16, enum=list(segments.NAMES)), **SEGMENT_QUERY,
              "amount": integer(0, 10**12, description="money off, minor units"),
              "percent": integer(0, 10000, description="basis points off: 1000 is 10%"),
              "min_spend": integer(0, 10**12), "expires_on": DAY, "campaign": string(64)})),
]
