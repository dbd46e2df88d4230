"""Suppliers, reorder points (a fixed minimum or learned from sales) and low-stock alerts, reorder suggestions.

A learned reorder point is the demand expected over the supplier's lead time plus a
safety stock:

    point = sum of expected daily demand over the lead days + z x sigma x sqrt(lead days)

Expected daily demand is an exponentially weighted moving average (EWMA) of the last
`[stock] history_days` days' sales, taken on the series with its weekday pattern divided
out, then multiplied back by the factor of each weekday of the lead time (a Saturday
that sells twice a Monday counts twice). sigma is the standard deviation of daily sales
over the window; z comes from `[stock] service_level` through the normal distribution
(95 % -> 1.645). This is the textbook reorder point for normally distributed demand
(e.g. Silver, Pyke & Peterson, "Inventory Management", ch. 7). Quantities are floats only
inside this calculation; the point stored is thousandths, rounded up to the unit.

A point is learned once per business day per product (cached in `stock_points`), so a
sale pays for one row lookup, not for reading weeks of history.
"""

from __future__ import annotations

import math
import re
import sqlite3
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from appliance.config import Settings
from appliance.core import stock_ledger
from appliance.core.clock import business_day, iso, parse_iso
from appliance.core.operators import Operator, authorize
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

_SUPPLIER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


# --- the learned demand


@dataclass(frozen=True)
class Forecast:
    level: float  # deseasonalised expected daily demand, thousandths
    factors: tuple[float, ...]  # Monday..Sunday multipliers of the level
    sigma: float  # standard deviation of daily demand, thousandths

    def lead_demand(self, start: date, days: int) -> float:
        """Demand expected on `days` days from `start` (the day the order is placed) on."""
        return sum(self.level * self.factors[(start + timedelta(d)).weekday()] for d in range(days))

    def point(self, start: date, days: int, z: float) -> float:
        return self.lead_demand(start, days) + z * self.sigma * math.sqrt(days)


def ewma(values: Iterable[float], alpha: float) -> float:
    """Oldest first; the first value starts the average (no warm-up bias towards zero)."""
    level = None
    for value in values:
        level = value if level is None else alpha * value + (1 - alpha) * level
    return level or 0.0


def forecast(history: Sequence[tuple[date, int]], alpha: float) -> Forecast:
    """From (day, demand) pairs, oldest first, one per day of the window (days without sales are 0)."""
    values = [q for _, q in history]
    if not values or not any(values):
        return Forecast(0.0, (1.0,) * 7, 0.0)
    mean = statistics.fmean(values)
    factors = []
    for weekday in range(7):
        same = [q for d, q in history if d.weekday() == weekday]
        factors.append(statistics.fmean(same) / mean if same else 1.0)
    # A weekday that never sells (the shop is closed) says nothing about the level.
    level = ewma((q / factors[d.weekday()] for d, q in history if factors[d.weekday()] > 0), alpha)
    sigma = statistics.pstdev(values) if len(values) > 1 else 0.0
    return Forecast(level, tuple(factors), sigma)


def daily_demand(conn: sqlite3.Connection, settings: Settings, sku: str, today: date) -> list[tuple[date, int]]:
    """Net units sold (sales less voids and returns) per business day of the window before `today`.

    The window starts at the product's first sale if that is later: a product on sale for a
    week is judged on that week, not on weeks of zeros from before it existed.
    """
    zone, cutover = settings.time.zone, settings.time.cutover_hour
    first = today - timedelta(days=settings.stock.history_days)
    start = datetime.combine(first, datetime.min.time(), ZoneInfo(zone)) + timedelta(hours=cutover)
    end = datetime.combine(today, datetime.min.time(), ZoneInfo(zone)) + timedelta(hours=cutover)
    per_day: dict[date, int] = {}
    for at, quantity in conn.execute(
        "SELECT at, quantity FROM stock_moves WHERE sku = ? AND kind IN ('sale', 'return', 'void') "
        "AND at >= ? AND at < ?",
        (sku, iso(start.astimezone(timezone.utc)), iso(end.astimezone(timezone.utc))),
    ):
        day = business_day(parse_iso(at), zone, cutover)
        per_day[day] = per_day.get(day, 0) - quantity
    if not per_day:
        return []
    day, days = min(per_day), []
    while day < today:
        days.append((day, max(0, per_day.get(day, 0))))
        day += timedelta(days=1)
    return days


def z_value(service_level_bp: int) -> float:
    return statistics.NormalDist().inv_cdf(service_level_bp / 10000)


# --- the point of a product


@dataclass(frozen=True)
class Point:
    point: int  # thousandths: an alert when on-hand falls below it
    lead_demand: int  # thousandths expected over the lead time
    source: str  # "minimum" or "learned"
    supplier_id: str | None
    pack_size: int
    min_order: int


def _round_up(quantity: float, unit: str) -> int:
    step = 1000 if unit == "piece" else 1
    return int(math.ceil(round(quantity, 6) / step)) * step


def point_of(conn: sqlite3.Connection, settings: Settings, sku: str, today: date) -> Point | None:
    """The reorder point of a product with a fixed minimum or a supplier; None: not watched."""
    rule = conn.execute(
        "SELECT r.minimum, r.supplier_id, r.pack_size, r.min_order, coalesce(r.lead_days, s.lead_days), p.unit "
        "FROM stock_rules r JOIN products p ON p.sku = r.sku LEFT JOIN suppliers s ON s.id = r.supplier_id "
        "WHERE r.sku = ?",
        (sku,),
    ).fetchone()
    if rule is None:
        return None
    minimum, supplier_id, pack_size, min_order, lead_days, unit = rule
    if minimum is None and supplier_id is None:
        return None
    lead_days = settings.stock.default_lead_days if lead_days is None else lead_days
    cached = conn.execute("SELECT point, lead_demand FROM stock_points WHERE sku = ? AND day = ?",
                          (sku, today.isoformat())).fetchone()
    if cached is None:
        fc = forecast(daily_demand(conn, settings, sku, today), settings.stock.alpha / 10000)
        cached = (_round_up(fc.point(today, lead_days, z_value(settings.stock.service_level)), unit),
                  _round_up(fc.lead_demand(today, lead_days), unit))
        conn.execute("INSERT OR REPLACE INTO stock_points (sku, day, point, lead_demand) VALUES (?, ?, ?, ?)",
                     (sku, today.isoformat(), *cached))
    learned, lead_demand = cached
    if minimum is not None:
        return Point(minimum, lead_demand, "minimum", supplier_id, pack_size, min_order)
    return Point(learned, lead_demand, "learned", supplier_id, pack_size, min_order)


def today_of(settings: Settings, at: str) -> date:
    return business_day(parse_iso(at), settings.time.zone, settings.time.cutover_hour)


# --- alerts


def evaluate(conn: sqlite3.Connection, settings: Settings, skus: Iterable[str], *, ref: str, at: str) -> list[dict[str, Any]]:
    """Raise an alert when a product is below its point and has none open; clear it once it is not.

    Runs inside the event that moved the stock (a sale, a receipt, a count), so the alert
    is journaled and queued upstream with that event: the returned changes go into its payload.
    """
    today = today_of(settings, at)
    changes = []
    for sku in sorted(set(skus)):
        point = point_of(conn, settings, sku, today)
        have = stock_ledger.on_hand(conn, sku)
        open_alert = conn.execute("SELECT id FROM stock_alerts WHERE sku = ? AND cleared_at IS NULL", (sku,)).fetchone()
        if point is not None and point.point > 0 and have < point.point:
            if open_alert is None:
                conn.execute(
                    "INSERT INTO stock_alerts (sku, on_hand, point, raised_at, raised_ref) VALUES (?, ?, ?, ?, ?)",
                    (sku, have, point.point, at, ref),
                )
                changes.append({"sku": sku, "state": "raised", "on_hand": have, "point": point.point})
        elif open_alert is not None:
            conn.execute("UPDATE stock_alerts SET cleared_at = ?, cleared_ref = ?, cleared_on_hand = ? WHERE id = ?",
                         (at, ref, have, open_alert[0]))
            changes.append({"sku": sku, "state": "cleared", "on_hand": have,
                            "point": point.point if point is not None else 0})
    for change in changes:
        change["name"], change["unit"] = conn.execute(
            "SELECT name, unit FROM products WHERE sku = ?", (change["sku"],)).fetchone()
    return changes


@dataclass(frozen=True)
class Alert:
    sku: str
    name: str
    unit: str
    on_hand: int
    point: int
    raised_at: str
    cleared_at: str | None


def alerts(conn: sqlite3.Connection, *, include_cleared: bool = False) -> list[Alert]:
    """Open alerts (oldest first), or every alert with `include_cleared`."""
    where = "" if include_cleared else "WHERE a.cleared_at IS NULL"
    return [Alert(*row) for row in conn.execute(
        "SELECT a.sku, coalesce(p.name, ''), coalesce(p.unit, 'piece'), a.on_hand, a.point, a.raised_at, a.cleared_at "
        f"FROM stock_alerts a LEFT JOIN products p ON p.sku = a.sku {where} ORDER BY a.id"
    )]


# --- suppliers and rules


def add_supplier(store: Store, settings: Settings, supplier_id: str, name: str, lead_days: int | None, *,
                 operator: Operator, at: datetime) -> None:
    authorize("stock.manage", operator)
    if not _SUPPLIER_ID.fullmatch(supplier_id):
        raise InputError(f"supplier id {supplier_id!r} must be 1-32 letters, digits or . _ -")
    if not name.strip():
        raise InputError("a supplier needs a name")
    lead = settings.stock.default_lead_days if lead_days is None else lead_days
    if not 0 <= lead <= 365:
        raise InputError(f"lead time {lead} must be 0 to 365 days")
    with store.event("stock.supplier_added", ref=supplier_id, at=iso(at)) as event:
        if event.conn.execute("SELECT 1 FROM suppliers WHERE id = ?", (supplier_id,)).fetchone():
            raise DomainError(f"supplier {supplier_id} already exists")
        event.conn.execute("INSERT INTO suppliers (id, name, lead_days, created_at) VALUES (?, ?, ?, ?)",
                           (supplier_id, name.strip(), lead, iso(at)))
        event.payload = {"id": supplier_id, "name": name.strip(), "lead_days": lead, "by": operator.code}


def suppliers(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    return conn.execute("SELECT id, name, lead_days FROM suppliers ORDER BY id").fetchall()


RULE_FIELDS = ("minimum", "supplier_id", "pack_size", "min_order", "lead_days")


def set_rule(store: Store, sku: str, changes: dict[str, Any], *, operator: Operator, at: datetime) -> dict[str, Any]:
    """Change how a product is reordered; keys of `changes` are RULE_FIELDS (None clears minimum/lead_days)."""
    authorize("stock.manage", operator)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown or not changes:
        raise InputError(f"say what to change: {', '.join(RULE_FIELDS)}")
    with store.event("stock.rule_set", ref=sku, at=iso(at)) as event:
        conn = event.conn
        item = stock_ledger.product(conn, sku)
        for name in ("minimum", "pack_size", "min_order"):
            if changes.get(name) is not None:
                stock_ledger.check_quantity(item, changes[name], name.replace("_", " "))
        if changes.get("pack_size") is not None and changes["pack_size"] <= 0:
            raise InputError("a pack size must be more than zero")
        if any((changes.get(n) or 0) < 0 for n in ("minimum", "min_order", "lead_days")):
            raise InputError("a minimum, minimum order or lead time cannot be negative")
        if changes.get("supplier_id") is not None and not conn.execute(
                "SELECT 1 FROM suppliers WHERE id = ?", (changes["supplier_id"],)).fetchone():
            raise NotFound(f"no supplier {changes['supplier_id']!r} (add it with `appliance stock supplier add`)")
        conn.execute("INSERT INTO stock_rules (sku) VALUES (?) ON CONFLICT (sku) DO NOTHING", (item.sku,))
        for name, value in changes.items():
            conn.execute(f"UPDATE stock_rules SET {name} = ? WHERE sku = ?", (value, item.sku))
        conn.execute("DELETE FROM stock_points WHERE sku = ?", (item.sku,))  # learn again with the new lead time
        row = conn.execute(f"SELECT {', '.join(RULE_FIELDS)} FROM stock_rules WHERE sku = ?", (item.sku,)).fetchone()
        rule = dict(zip(RULE_FIELDS, row))
        event.payload = {"sku": item.sku, "rule": rule, "by": operator.code}
    return rule


# --- what to order


@dataclass(frozen=True)
class Suggestion:
    supplier_id: str
    sku: str
    name: str
    unit: str
    on_hand: int
    point: int
    order_up_to: int
    quantity: int


def suggestions(conn: sqlite3.Connection, settings: Settings, today: date, supplier_id: str | None = None) -> list[Suggestion]:
    """Products below their point: order up to the point plus the lead time's demand, at least
    the minimum order, rounded up to whole packs. Call inside a transaction (points are cached)."""
    if supplier_id is not None and not conn.execute("SELECT 1 FROM suppliers WHERE id = ?", (supplier_id,)).fetchone():
        raise NotFound(f"no supplier {supplier_id!r}")
    rows = conn.execute(
        "SELECT r.sku, p.name, p.unit FROM stock_rules r JOIN products p ON p.sku = r.sku "
        "WHERE r.supplier_id IS NOT NULL AND (? IS NULL OR r.supplier_id = ?) ORDER BY r.supplier_id, r.sku",
        (supplier_id, supplier_id),
    ).fetchall()
    found = []
    for sku, name, unit in rows:
        point = point_of(conn, settings, sku, today)
        have = stock_ledger.on_hand(conn, sku)
        if point is None or point.point <= 0 or have >= point.point:
            continue
        up_to = point.point + point.lead_demand
        need = max(up_to - have, point.min_order)
        packs = -(-need // point.pack_size)
        found.append(Suggestion(point.supplier_id or "", sku, name, unit, have, point.point, up_to, packs * point.pack_size))
    return found
