"""Coupons: single-use codes issued to members, taken off the basket at the till.

A coupon is one row per member (issuing to a segment writes one per member in it), so
each can be used once and traced to whom it was given. At the till it becomes the
sale's basket discount, marked by its reason `coupon:CODE` (which survives a suspended
sale); posting the sale marks it used with the same guarded UPDATE as vouchers, so two
tills racing for one coupon cannot both succeed.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from appliance.core.clock import iso
from appliance.core.money import format_amount, format_percent
from appliance.core.operators import Operator, authorize
from appliance.core.sale import Discount
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

REASON = "coupon:"


@dataclass(frozen=True)
class Coupon:
    code: str
    member_id: str
    amount: int
    percent: int
    min_spend: int
    expires_on: str | None
    redeemed_ref: str | None

    def describe(self, exponent: int) -> str:
        value = format_percent(self.percent) if self.percent else format_amount(self.amount, exponent)
        spend = f", spend at least {format_amount(self.min_spend, exponent)}" if self.min_spend else ""
        until = f", until {self.expires_on}" if self.expires_on else ""
        return f"{self.code}: {value} off{spend}{until}"


def issue(
    store: Store, member_ids: Sequence[str], *, amount: int = 0, percent: int = 0, min_spend: int = 0,
    expires_on: str | None = None, campaign: str = "", at: datetime, operator: Operator,
) -> list[str]:
    """One coupon per member, as one event; returns the codes in the order of `member_ids`."""
    authorize("coupon.issue", operator)
    if (amount > 0) == (percent > 0) or amount < 0 or percent < 0:
        raise InputError("a coupon is worth either an amount or a percentage, more than zero")
    if percent > 10000 or min_spend < 0:
        raise InputError("a coupon's percentage is at most 100% and its minimum spend not negative")
    if expires_on is not None:
        try:
            expires_on = date.fromisoformat(expires_on).isoformat()
        except ValueError:
            raise InputError(f"expiry date {expires_on!r} must be a date like 2026-12-31") from None
    if not member_ids:
        raise InputError("no members to issue coupons to (is the segment empty?)")
    codes = [f"CP{secrets.randbelow(10**10):010d}" for _ in member_ids]
    with store.event("coupons.issued", ref=campaign or codes[0], at=iso(at)) as event:
        known = {m for (m,) in event.conn.execute(
            "SELECT id FROM members WHERE erased_at IS NULL AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(member_ids)),),
        )}
        unknown = [m for m in member_ids if m not in known]
        if unknown:
            raise NotFound(f"no member {unknown[0]!r} to give a coupon to ({len(unknown)} unknown or erased)")
        event.conn.executemany(
            "INSERT INTO coupons (code, member_id, campaign, amount, percent, min_spend, expires_on, issued_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(c, m, campaign, amount, percent, min_spend, expires_on, iso(at)) for c, m in zip(codes, member_ids)],
        )
        event.payload = {"campaign": campaign, "amount": amount, "percent": percent, "min_spend": min_spend,
                         "expires_on": expires_on, "coupons": dict(zip(codes, member_ids)), "by": operator.code}
    return codes


def find(conn: sqlite3.Connection, code: str) -> Coupon:
    row = conn.execute(
        "SELECT code, member_id, amount, percent, min_spend, expires_on, redeemed_ref FROM coupons WHERE code = ?",
        (code.strip().upper(),),
    ).fetchone()
    if row is None:
        raise NotFound(f"no coupon with code {code!r}")
    return Coupon(*row)


def of_member(conn: sqlite3.Connection, member_id: str) -> list[Coupon]:
    return [Coupon(*row) for row in conn.execute(
        "SELECT code, member_id, amount, percent, min_spend, expires_on, redeemed_ref FROM coupons "
        "WHERE member_id = ? ORDER BY issued_at, code", (member_id,))]


def check_usable(coupon: Coupon, member_id: str | None, today: date, basket: int, exponent: int) -> None:
    """Refuse a coupon that is used, expired, someone else's, or above the basket's amount."""
    if coupon.redeemed_ref is not None:
        raise DomainError(f"coupon {coupon.code} has already been used", code="coupon_used")
    if coupon.expires_on is not None and today.isoformat() > coupon.expires_on:
        raise DomainError(f"coupon {coupon.code} expired on {coupon.expires_on}", code="coupon_expired")
    if member_id != coupon.member_id:
        raise DomainError(f"coupon {coupon.code} belongs to another member: attach its owner first",
                          code="coupon_owner")
    if basket < coupon.min_spend:
        raise DomainError(
            f"coupon {coupon.code} needs a spend of {format_amount(coupon.min_spend, exponent)} "
            f"(this sale is {format_amount(basket, exponent)})", code="coupon_min_spend",
        )


def as_discount(coupon: Coupon) -> Discount:
    # A coupon's value was decided when it was issued, not by the cashier: the manual
    # discount limit does not apply (approved_share 100%).
    return Discount(percent=coupon.percent, amount=coupon.amount, reason=f"{REASON}{coupon.code}",
                    approved_share=10000)


def code_of(discount: Discount | None) -> str | None:
    if discount is None or not discount.reason.startswith(REASON):
        return None
    return discount.reason[len(REASON):]


def redeem(conn: sqlite3.Connection, code: str, *, ref: str, at: str) -> None:
    """Mark used inside the sale's transaction; fails if another till used it in the meantime."""
    cursor = conn.execute(
        "UPDATE coupons SET redeemed_ref = ?, redeemed_at = ? WHERE code = ? AND redeemed_ref IS NULL", (ref, at, code)
    )
    if cursor.rowcount != 1:
        raise DomainError(f"coupon {code} was used on another till meanwhile; remove it from the sale",
                          code="coupon_used")


def reinstate(conn: sqlite3.Connection, original_id: str) -> list[str]:
    """A post-void gives back the coupons its sale used."""
    codes = [c for (c,) in conn.execute("SELECT code FROM coupons WHERE redeemed_ref = ?", (original_id,))]
    conn.execute("UPDATE coupons SET redeemed_ref = NULL, redeemed_at = NULL WHERE redeemed_ref = ?", (original_id,))
    return codes
