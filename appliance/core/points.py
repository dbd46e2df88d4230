"""Points: the ledger with FIFO lots and expiry, what a sale earns, and points as a tender.

Expiry works on lots: every positive row is a lot whose unspent rest (`remaining`)
lapses after its `expires_on` business day ([loyalty] expiry_months after it was
earned). Spending, take-backs and expiry consume lots soonest-expiring first, so a
member always spends the points that would lapse first. Expired lots are written off
(one `expire` row) before the member's balance is used: at a redemption, on a posting
with the member, and by `appliance member points --expire`.
"""

from __future__ import annotations

import calendar
import math
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from appliance.config import Loyalty, Settings
from appliance.core.clock import business_day, iso, parse_iso
from appliance.core.ids import uuid7
from appliance.core.members import get
from appliance.core.operators import Operator, authorize
from appliance.core.tenders import Payment, Tender, TenderContext
from appliance.errors import DomainError, InputError
from appliance.store.db import Store

NO_EARN_TENDERS = ("stored_value", "points")  # money already counted when it was loaded, or points themselves


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def balance(conn: sqlite3.Connection, member_id: str) -> int:
    row = conn.execute("SELECT balance FROM points WHERE member_id = ? ORDER BY id DESC LIMIT 1", (member_id,)).fetchone()
    return row[0] if row else 0


def statement(conn: sqlite3.Connection, member_id: str) -> list[tuple[str, str, int, int, str, str | None]]:
    """The points ledger oldest first: (at, kind, change, balance after, ref, expires on)."""
    return conn.execute("SELECT at, kind, delta, balance, ref, expires_on FROM points WHERE member_id = ? ORDER BY id",
                        (member_id,)).fetchall()  # fmt: skip


def expired(conn: sqlite3.Connection, member_id: str, today: date) -> int:
    """Points of lots past their expiry day not yet written off."""
    return conn.execute(
        "SELECT coalesce(sum(remaining), 0) FROM points WHERE member_id = ? AND remaining > 0 AND expires_on < ?",
        (member_id, today.isoformat()),
    ).fetchone()[0]


def available(conn: sqlite3.Connection, member_id: str, today: date) -> int:
    return balance(conn, member_id) - expired(conn, member_id, today)


def post(
    conn: sqlite3.Connection, member_id: str, delta: int, *, kind: str, ref: str, at: str, today: date,
    rules: Loyalty, origin: str | None = None,
) -> int:
    """A ledger row in the caller's transaction; a negative one spends lots, never below zero."""
    if delta == 0:
        return balance(conn, member_id)
    new_balance = balance(conn, member_id) + delta
    if new_balance < 0:
        raise DomainError(f"the member has only {new_balance - delta} points", code="insufficient")
    expires = add_months(today, rules.expiry_months).isoformat() if delta > 0 and rules.expiry_months else None
    conn.execute(
        "INSERT INTO points (member_id, delta, balance, kind, ref, origin, at, expires_on, remaining) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (member_id, delta, new_balance, kind, ref, origin, at, expires, max(delta, 0)),
    )
    left = -delta
    lots = conn.execute(
        "SELECT id, remaining FROM points WHERE member_id = ? AND remaining > 0 "
        "ORDER BY expires_on IS NULL, expires_on, id", (member_id,),
    ).fetchall()
    for lot_id, remaining in lots:
        if left <= 0:
            break
        used = min(left, remaining)
        conn.execute("UPDATE points SET remaining = remaining - ? WHERE id = ?", (used, lot_id))
        left -= used
    return new_balance


def expire(conn: sqlite3.Connection, member_id: str, *, today: date, at: str, rules: Loyalty) -> int:
    """Write off lapsed lots (one row); returns the points written off."""
    lapsed = expired(conn, member_id, today)
    if lapsed:
        post(conn, member_id, -lapsed, kind="expire", ref=f"expiry {today.isoformat()}", at=at, today=today, rules=rules)
    return lapsed


def expire_all(store: Store, settings: Settings, *, at: datetime) -> dict[str, int]:
    """Write off every member's lapsed points as one event (run daily or before a report)."""
    today = business_day(at, settings.time.zone, settings.time.cutover_hour)
    with store.event("points.expired", ref=today.isoformat(), at=iso(at)) as event:
        due = [m for (m,) in event.conn.execute(
            "SELECT DISTINCT member_id FROM points WHERE remaining > 0 AND expires_on < ?", (today.isoformat(),)
        )]
        written = {m: expire(event.conn, m, today=today, at=iso(at), rules=settings.loyalty) for m in due}
        event.payload = {"business_day": today.isoformat(), "expired": written}
    return written


def adjust(
    store: Store, settings: Settings, member_id: str, delta: int, reason: str, *, at: datetime, operator: Operator
) -> int:
    """A manual correction (goodwill, a lost receipt), by a supervisor, with its reason."""
    authorize("points.adjust", operator)
    if delta == 0:
        raise InputError("the adjustment must not be zero")
    if not reason.strip():
        raise InputError("give a reason for the points adjustment")
    today = business_day(at, settings.time.zone, settings.time.cutover_hour)
    with store.event("points.adjusted", ref=member_id, at=iso(at)) as event:
        get(event.conn, member_id)
        expire(event.conn, member_id, today=today, at=iso(at), rules=settings.loyalty)
        new = post(event.conn, member_id, delta, kind="adjust", ref=reason.strip(), at=iso(at), today=today,
                   rules=settings.loyalty)
        event.payload = {"member_id": member_id, "delta": delta, "balance": new, "reason": reason.strip(),
                         "by": operator.code}
    return new


def redeem_reward(
    store: Store, settings: Settings, member_id: str, sku: str, cost: int, *, at: datetime, operator: Operator
) -> dict[str, Any]:
    """Hand out a catalog item for `cost` points: the points row and the stock move, one event."""
    authorize("member.edit", operator)
    if cost <= 0:
        raise InputError("a reward costs a positive number of points")
    today = business_day(at, settings.time.zone, settings.time.cutover_hour)
    reward_id = uuid7(at)
    with store.event("points.reward", ref=reward_id, at=iso(at)) as event:
        conn = event.conn
        get(conn, member_id)
        name = conn.execute("SELECT name FROM products WHERE sku = ? AND active = 1", (sku,)).fetchone()
        if name is None:
            raise InputError(f"no active product with SKU {sku!r} to give as a reward")
        expire(conn, member_id, today=today, at=iso(at), rules=settings.loyalty)
        new = post(conn, member_id, -cost, kind="reward", ref=reward_id, at=iso(at), today=today, rules=settings.loyalty)
        conn.execute("INSERT INTO stock_moves (sku, quantity, kind, ref, at) VALUES (?, -1000, 'reward', ?, ?)",
                     (sku, reward_id, iso(at)))
        event.payload = {"id": reward_id, "member_id": member_id, "sku": sku, "name": name[0], "points": cost,
                         "balance": new, "by": operator.code}
    return event.payload


# --- earning


@dataclass(frozen=True)
class EarnLine:
    sku: str
    category: str
    amount: int
    on_promotion: bool


def earned(lines: list[EarnLine], paid: int, eligible_paid: int, day: date, rules: Loyalty, exponent: int) -> int:
    """Points for a sale: the eligible money paid, weighted by each line's multipliers, floored.

    Each line's share of the money is weighted by its category multiplier (0 excludes),
    the promotion bonus when on promotion, and the campaign of the day; tax is spread like
    the money, so inclusive and exclusive shops earn alike.
    """
    total = sum(l.amount for l in lines)
    if total <= 0 or paid <= 0 or eligible_paid <= 0 or not rules.earn_per_unit:
        return 0
    campaign = max((m for start, end, m in rules.campaigns if start <= day.isoformat() <= end), default=100)
    weight = 0
    for line in lines:
        if line.sku in rules.excluded_skus:
            continue
        factor = rules.category_multipliers.get(line.category, 100) * campaign
        factor *= rules.promotion_bonus if line.on_promotion else 100
        weight += line.amount * factor
    base = eligible_paid * weight // (total * 100 ** 3)  # money the points are earned on
    return base * rules.earn_per_unit // 10**exponent


def earn_lines(conn: sqlite3.Connection, doc: dict[str, Any]) -> list[EarnLine]:
    skus = sorted({l["sku"] for l in doc["lines"]})
    categories = dict(conn.execute(
        f"SELECT sku, category FROM products WHERE sku IN ({', '.join('?' * len(skus))})", skus
    ).fetchall())
    return [EarnLine(l["sku"], categories.get(l["sku"], ""), l["amount"], bool(l["promotion"])) for l in doc["lines"]]


def eligible_payments(doc: dict[str, Any]) -> tuple[int, int]:
    """(all money paid, money paid by tenders that earn points)."""
    paid = sum(p["amount"] for p in doc["payments"])
    return paid, sum(p["amount"] for p in doc["payments"] if p["kind"] not in NO_EARN_TENDERS)


def of_sale(conn: sqlite3.Connection, sale_id: str, kind: str) -> int:
    """Points of `kind` rows a sale caused (earn: positive; redeem: counted positive)."""
    return abs(conn.execute("SELECT coalesce(sum(delta), 0) FROM points WHERE ref = ? AND kind = ?",
                            (sale_id, kind)).fetchone()[0])


def given_back(conn: sqlite3.Connection, original_id: str, kind: str) -> int:
    """Points already moved back by earlier refunds of a sale (take-backs or redemptions refunded)."""
    return abs(conn.execute("SELECT coalesce(sum(delta), 0) FROM points WHERE origin = ? AND kind = ?",
                            (original_id, kind)).fetchone()[0])


# --- points as a tender


class PointsTender(Tender):
    """Points pay part of a sale: [loyalty] redeem_rate points = 1.00, at least redeem_min, no change."""

    kind = "points"

    def __init__(self, conn: sqlite3.Connection, settings: Settings):
        self.conn = conn
        self.settings = settings

    def points_for(self, amount: int, exponent: int) -> int:
        points, rest = divmod(amount * self.settings.loyalty.redeem_rate, 10**exponent)
        if rest:
            raise InputError(f"{self.settings.loyalty.redeem_rate} points pay 1.00: this amount is not whole points")
        return points

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        if ctx.member_id is None:
            raise DomainError("attach the member first: points belong to a member")
        rules, unit = self.settings.loyalty, 10**ctx.exponent
        pending = sum(self.points_for(p.amount, ctx.exponent) for p in ctx.pending if p.kind == "points")
        have = available(self.conn, ctx.member_id, ctx.today) - pending
        if amount is None:  # as much as the points and the due allow, in whole points
            step = unit // math.gcd(unit, rules.redeem_rate)  # the smallest amount that is whole points
            amount = min(due, have * unit // rules.redeem_rate)
            amount -= amount % step
        if amount <= 0:
            raise DomainError(f"the member has {have} points: not enough to pay anything", code="insufficient")
        if amount > due:
            raise DomainError(f"only {ctx.money(due)} is due; points give no change", code="exceeds_due")
        points = self.points_for(amount, ctx.exponent)
        if points < rules.redeem_min:
            raise DomainError(f"at least {rules.redeem_min} points are used at once ({points} asked)", code="min_points")
        if points > have:
            raise DomainError(f"the member has only {have} points ({points} needed)", code="insufficient")
        return Payment(kind="points", amount=amount, reference=ctx.member_id, effect="redeem")

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        if original is None:
            raise DomainError("points are given back only against the sale that used them")
        return Payment(kind="points", amount=amount, reference=original["reference"], original_seq=original["seq"],
                       effect="credit")

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        today = business_day(parse_iso(at), self.settings.time.zone, self.settings.time.cutover_hour)
        rules, member = self.settings.loyalty, payment.reference
        if payment.effect == "redeem":
            expire(conn, member, today=today, at=at, rules=rules)
            points = self.points_for(payment.amount, self.settings.currency.exponent)
            post(conn, member, -points, kind="redeem", ref=ref, at=at, today=today, rules=rules)
            return
        # Back in proportion to the money refunded, cumulatively: refunding all of it gives back exactly
        # the points used, however many returns it takes.
        original_id, = conn.execute("SELECT original_id FROM sales WHERE id = ?", (ref,)).fetchone()
        used = of_sale(conn, original_id, "redeem")
        paid = conn.execute("SELECT coalesce(sum(amount), 0) FROM payments WHERE sale_id = ? AND kind = 'points'",
                            (original_id,)).fetchone()[0]
        refunded = conn.execute(
            "SELECT coalesce(sum(p.amount), 0) FROM payments p JOIN sales s ON s.id = p.sale_id "
            "WHERE s.original_id = ? AND p.kind = 'points'", (original_id,),
        ).fetchone()[0]
        back = used * min(refunded, paid) // paid - given_back(conn, original_id, "refund") if paid else 0
        post(conn, member, back, kind="refund", ref=ref, at=at, today=today, rules=rules, origin=original_id)
