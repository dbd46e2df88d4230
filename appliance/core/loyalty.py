"""Loyalty at posting: what a sale, return or post-void does to its member's points and coupons.

It runs inside the document's own transaction (posting.post's `after` hooks), after
the tenders recorded their side effects (points used as a tender are already off the
balance), so the points, the coupon and the document commit together or not at all.
The document is annotated with `loyalty` (points earned or taken back, the balance,
the tier) for the receipt, and journaled with it.

Refunds: a return takes back the points earned on the share of the sale's money it
refunds (cumulatively, so returning everything in parts takes back exactly what was
earned); a post-void takes back all of it and gives back the coupon. Points already
spent cannot be taken back below zero: the shortfall is noted as `not_recovered`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.config import Settings
from appliance.core import coupons, points, tiers
from appliance.core.clock import business_day, parse_iso
from appliance.core.posting import AfterPosting


def after_posting(settings: Settings) -> AfterPosting:
    """What a posted sale, return or void does to the member's points."""

    def after(conn: sqlite3.Connection, doc: dict[str, Any], at: str) -> None:
        if doc["kind"] == "cancel":
            return
        moment = parse_iso(at)
        today = business_day(moment, settings.time.zone, settings.time.cutover_hour)
        if doc["kind"] == "sale" and doc.get("coupon"):
            _use_coupon(conn, settings, doc, at)
        member = doc.get("member_id")
        if not member or conn.execute("SELECT erased_at FROM members WHERE id = ?", (member,)).fetchone()[0]:
            return
        rules = settings.loyalty
        points.expire(conn, member, today=today, at=at, rules=rules)
        note: dict[str, Any] = {"member_id": member}
        if doc["kind"] == "sale":
            paid, eligible = points.eligible_payments(doc)
            lines = points.earn_lines(conn, doc)
            earned = points.earned(lines, paid, eligible, today, rules, settings.currency.exponent)
            points.post(conn, member, earned, kind="earn", ref=doc["id"], at=at, today=today, rules=rules)
            note["earned"] = earned
            note["redeemed"] = points.of_sale(conn, doc["id"], "redeem")
        else:
            wanted = _take_back(conn, doc)
            taken = min(wanted, points.balance(conn, member))
            points.post(conn, member, -taken, kind="take_back", ref=doc["id"], at=at, today=today, rules=rules,
                        origin=doc["original_id"])
            note["taken_back"] = taken
            note["given_back"] = points.of_sale(conn, doc["id"], "refund")
            if wanted > taken:
                note["not_recovered"] = wanted - taken
            if doc["kind"] == "void" and doc["original_id"]:
                note["coupons_back"] = coupons.reinstate(conn, doc["original_id"])
        tier = tiers.current(conn, settings, member, moment)
        conn.execute("UPDATE members SET tier = ? WHERE id = ? AND tier != ?", (tier.name, member, tier.name))
        note["balance"] = points.balance(conn, member)
        note["tier"] = tier.name
        doc["loyalty"] = note

    return after


def _use_coupon(conn: sqlite3.Connection, settings: Settings, doc: dict[str, Any], at: str) -> None:
    """Check the coupon again on the final basket, then mark it used by this sale."""
    coupon = coupons.find(conn, doc["coupon"])
    today = business_day(parse_iso(at), settings.time.zone, settings.time.cutover_hour)
    before_coupon = sum(line["amount"] + line["basket_share"] for line in doc["lines"])
    coupons.check_usable(coupon, doc.get("member_id"), today, before_coupon, settings.currency.exponent)
    coupons.redeem(conn, coupon.code, ref=doc["id"], at=at)


def _take_back(conn: sqlite3.Connection, doc: dict[str, Any]) -> int:
    """Points this refund should take back of those its original sale earned."""
    original = doc["original_id"]
    if original is None:  # a return without receipt: nothing was earned on it that we know of
        return 0
    earned = points.of_sale(conn, original, "earn")
    if doc["kind"] == "void":
        target = earned
    else:
        total, returned = conn.execute(
            "SELECT s.total, (SELECT coalesce(sum(r.total), 0) FROM sales r WHERE r.original_id = s.id "
            "AND r.kind = 'return') FROM sales s WHERE s.id = ?", (original,),
        ).fetchone()
        if total <= 0:  # nothing was paid, nothing was earned
            return 0
        target = earned * min(returned, total) // total
    return max(0, target - points.given_back(conn, original, "take_back"))
