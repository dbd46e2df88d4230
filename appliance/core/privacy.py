"""A member's data: everything kept about them (access request), and erasure.

Erasure removes the person, keeps the books. The member row stays as a pseudonym (its
id, which sales, ledgers and coupons point to, so foreign keys, `db check` and the
reports still hold) with every personal field cleared: name, phone (replaced by
`erased:<id>` to keep the column unique), birthday, tags, consent and card. Sale
documents journal only the member id, never a name or phone, so they need no change.
What the journal cannot forget: it is append-only and hash-chained, so the payloads of
the member's own earlier events (member.added, member.edited, member.card) still hold
the name, phone, birthday and tags given then. The erasure is itself journaled
(member.erased), which tells head office to erase its copy; an export of the journal
for anyone but the auditor should drop those member events.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from appliance.config import Settings
from appliance.core import members, points
from appliance.core.clock import business_day, iso
from appliance.core.money import format_amount
from appliance.core.operators import Operator, authorize
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store


def _rows(conn: sqlite3.Connection, sql: str, params: tuple) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def export(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    """Everything kept about one member, as plain data (written as JSON by the CLI)."""
    profile = _rows(conn, "SELECT id, phone, name, birthday, tags, consent_at, card_code, tier, created_at "
                          "FROM members WHERE id = ? AND erased_at IS NULL", (member_id,))
    if not profile:
        raise NotFound(f"no member {member_id!r} (or the member was erased)")
    sales = _rows(conn, "SELECT id, receipt_no, kind, completed_at, total, discount FROM sales WHERE member_id = ? "
                        "ORDER BY completed_at", (member_id,))
    for sale in sales:
        sale["lines"] = _rows(conn, "SELECT sku, name, quantity, amount FROM sale_lines WHERE sale_id = ? "
                                    "ORDER BY line_no", (sale["id"],))
    return {
        "profile": profile[0],
        "points": _rows(conn, "SELECT at, kind, delta, balance, ref, expires_on FROM points WHERE member_id = ? "
                              "ORDER BY id", (member_id,)),
        "stored_value": _rows(conn, "SELECT at, delta, balance, ref FROM stored_value WHERE member_id = ? ORDER BY id",
                              (member_id,)),
        "coupons": _rows(conn, "SELECT code, campaign, amount, percent, min_spend, expires_on, issued_at, redeemed_ref, "
                               "redeemed_at FROM coupons WHERE member_id = ? ORDER BY issued_at", (member_id,)),
        "purchases": sales,
    }


def blank(conn: sqlite3.Connection, member_id: str, at: str) -> None:
    """Clear the personal fields of a member (here, or on every terminal once head office sends it)."""
    conn.execute(
        "UPDATE members SET phone = 'erased:' || id, name = '', birthday = NULL, tags = '[]', consent_at = NULL, "
        "card_code = NULL, tier = '', erased_at = ? WHERE id = ?",
        (at, member_id),
    )


def erase(
    store: Store, settings: Settings, member_id: str, reason: str, *, at: datetime, operator: Operator
) -> dict[str, Any]:
    """Clear a member's personal fields for good; refused while stored value is owed to them."""
    authorize("member.erase", operator)
    if not reason.strip():
        raise InputError("give the reason for the erasure (the customer's request, its date)")
    at_text = iso(at)
    with store.event("member.erased", ref=member_id, at=at_text) as event:
        conn = event.conn
        row = conn.execute("SELECT erased_at FROM members WHERE id = ?", (member_id,)).fetchone()
        if row is None:
            raise NotFound(f"no member {member_id!r}")
        if row[0] is not None:
            raise DomainError(f"member {member_id} was already erased on {row[0]}", code="erased")
        owed = members.balance(conn, member_id)
        if owed:
            raise DomainError(
                f"the member still has {format_amount(owed, settings.currency.exponent)} of stored value: "
                "pay it out before erasing", code="balance"
            )
        today = business_day(at, settings.time.zone, settings.time.cutover_hour)
        forfeited = points.balance(conn, member_id)
        points.post(conn, member_id, -forfeited, kind="erase", ref=event.kind, at=at_text, today=today,
                    rules=settings.loyalty)
        blank(conn, member_id, at_text)
        event.payload = {"id": member_id, "by": operator.code, "reason": reason.strip(),
                         "points_forfeited": forfeited}
    return event.payload
