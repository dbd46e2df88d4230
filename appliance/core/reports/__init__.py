"""The back-office reports: a registry of named reports over a period of business days.

Net sales, the one figure every report agrees on (docs/reports.md):
- a sale counts its total (what the customer owed, tax included, before cash rounding);
- a return counts minus its total, on the business day of the return;
- a post-void counts minus the total of the sale it cancels, on its own business day
  (always the sale's shift), so a voided sale nets to zero;
- a cancelled sale (voided before payment) counts nothing; the voids report lists it.
This is the Z report's "net sales", so the Z reports of a period add up to these reports.
Every report is SQL aggregation, never a Python loop over sales: over the documents
(`sales`, `payments`, `sale_taxes`, `stock_moves`, the points ledger) or, for the figures
that would otherwise join every line of a year, over the daily summaries that posting
keeps in the same transaction (`report_sku_days`, `report_slots`: summary.py and
appliance/store/schema_summary.py; `appliance db check` proves them equal to the documents).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable

from appliance.core.reports.period import Period
from appliance.core.reports.summary import after_posting
from appliance.core.reports.table import Table
from appliance.errors import InputError

__all__ = ["Context", "Period", "Spec", "Table", "after_posting", "run", "spec", "specs"]


@dataclass(frozen=True)
class Context:
    """What a report reads: the store, the period and the shop's rules that change figures."""

    conn: sqlite3.Connection
    period: Period
    exclusive: bool = False  # tax mode: prices exclude tax (line amounts are net of it)
    limit: int | None = None  # rows of a product list (top and slow movers default to 20)
    exponent: int = 2  # decimals of the currency
    redeem_rate: int = 100  # [loyalty] points that pay 1.00: values the points liability

    @property
    def days(self) -> tuple[str, str]:
        return self.period.bounds


@dataclass(frozen=True)
class Spec:
    name: str
    summary: str
    run: Callable[[Context], Table]
    chart: str | None = None  # "trend", "heatmap", "bars" (appliance/display/charts.py) or None


def _specs() -> dict[str, Spec]:
    from appliance.core.reports import basket, inventory, members, profit, sales, trend

    specs = [
        Spec("sales-hour", "net sales by local hour of the day", lambda c: sales.by_time(c, "hour"), "bars"),
        Spec("sales-day", "net sales by business day", lambda c: sales.by_time(c, "day"), "trend"),
        Spec("sales-week", "net sales by week (Monday to Sunday)", lambda c: sales.by_time(c, "week"), "bars"),
        Spec("sales-month", "net sales by calendar month", lambda c: sales.by_time(c, "month"), "bars"),
        Spec("sales-product", "quantity and net amount by product", sales.by_product, "bars"),
        Spec("sales-category", "quantity and net amount by category", sales.by_category, "bars"),
        Spec("sales-operator", "net sales by operator", sales.by_operator, "bars"),
        Spec("sales-tender", "taken, refunded and net by tender", sales.by_tender, "bars"),
        Spec("sales-member", "members against non-members", sales.by_member, "bars"),
        Spec("returns", "returns by business day, with and without receipt", sales.returns),
        Spec("voids", "post-voids, cancelled sales and line voids by business day", sales.voids),
        Spec("discounts", "discounts given, by promotion, manual line and basket discounts", sales.discounts, "bars"),
        Spec("tax", "net and tax by tax rate", sales.tax),
        Spec("profit", "revenue without tax, cost, gross profit and margin by category", profit.by_category, "bars"),
        Spec("profit-product", "gross profit and margin by product", profit.by_product, "bars"),
        Spec("basket", "baskets, average basket value and items per basket by day", basket.by_day, "trend"),
        Spec("peak-hours", "baskets by weekday and local hour", basket.peak_hours, "heatmap"),
        Spec("trend", "daily net sales, 7-day moving average, week-over-week change", trend.trend, "trend"),
        Spec("top-movers", "best-selling products by net amount", trend.top_movers, "bars"),
        Spec("slow-movers", "active products that sold least (none at all first)", trend.slow_movers),
        Spec("inventory", "stock value at cost by category at the end of the period", inventory.value),
        Spec("days-of-cover", "on hand, daily sales and days of cover by product", inventory.days_of_cover),
        Spec("stockouts", "active products with nothing on hand at the end of the period", inventory.stockouts),
        Spec("members", "new and active members, member sales, points liability", members.summary),
    ]
    return {spec.name: spec for spec in specs}


REPORTS: dict[str, Spec] = {}


def specs() -> dict[str, Spec]:
    if not REPORTS:
        REPORTS.update(_specs())
    return REPORTS


def spec(name: str) -> Spec:
    try:
        return specs()[name]
    except KeyError:
        raise InputError(
            f"there is no report {name!r}; the reports are: {', '.join(specs())} (see `appliance report list`)"
        ) from None


def run(conn: sqlite3.Connection, name: str, period: Period, *, exclusive: bool = False, limit: int | None = None,
        exponent: int = 2, redeem_rate: int = 100) -> Table:
    """Run report `name` over `period`; reads only, in one read transaction (a consistent snapshot)."""
    if limit is not None and limit <= 0:
        raise InputError(f"--limit {limit} must be at least 1")
    report = spec(name)
    ctx = Context(conn, period, exclusive, limit, exponent, redeem_rate)
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # deferred: takes no write lock, the till keeps selling
    try:
        return report.run(ctx)
    finally:
        if own:
            conn.execute("COMMIT")
