"""Report routes: the list of reports, and one report over business days as typed columns and integer rows."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from typing import Any, Callable

from appliance.api.openapi import (ANY_OBJECT, BOOLEAN, TEXT, Call, JsonText, Route, array, integer, nullable, obj,
                                   string)
from appliance.core import reports
from appliance.core.clock import business_day
from appliance.core.reports.period import Period
from appliance.core.reports.table import Table
from appliance.core.spreadsheet import BOM
from appliance.display import charts
from appliance.errors import InputError

MAX_DAYS = 3700  # ten years: the store keeps no more, and a longer range is a typo

DAY = string(10, pattern=r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$", description="a business day, YYYY-MM-DD")
TABLE = obj({"report": TEXT, "title": TEXT, "from": TEXT, "to": TEXT,
             "columns": array(obj({"key": TEXT, "title": TEXT, "kind": TEXT})),
             "rows": array(ANY_OBJECT), "total": nullable(ANY_OBJECT), "notes": array(TEXT)})


async def report_list(call: Call) -> tuple[int, Any]:
    return 200, [{"name": name, "summary": spec.summary, "chart": bool(spec.chart)}
                 for name, spec in reports.specs().items()]


def period_of(call: Call) -> Period:
    """The query's from/to as business days (default: today), checked against MAX_DAYS."""
    daemon, query, settings = call.daemon, call.query, call.daemon.settings
    today = business_day(daemon.clock.now(), settings.time.zone, settings.time.cutover_hour).isoformat()
    last = query.get("to", today)
    period = Period.parse(query.get("from", last), last, settings.time.zone, settings.time.cutover_hour)
    if not 1 <= period.days <= MAX_DAYS:
        raise InputError(f"from {period.first} to {period.last}: a report covers 1 to {MAX_DAYS} days", where="from")
    return period


class Recent:
    """The last few reports run, by what they were asked and the journal's head when they ran.

    A report page asks for the table and then for its chart: the second answer reuses
    the first's work. Anything written since (a sale, a refund) moves the journal's head,
    so a figure is never older than the store. Used on the daemon's one worker only.
    """

    def __init__(self, size: int = 8):
        self.size = size
        self._tables: OrderedDict[tuple, Table] = OrderedDict()

    def get(self, conn: sqlite3.Connection, key: tuple, make: Callable[[], Table]) -> Table:
        key = (*key, conn.execute("SELECT max(seq) FROM journal").fetchone()[0])
        if key in self._tables:
            self._tables.move_to_end(key)
            return self._tables[key]
        table = self._tables[key] = make()
        while len(self._tables) > self.size:
            self._tables.popitem(last=False)
        return table

    def clear(self) -> None:
        self._tables.clear()


RECENT = Recent()


async def run_report(call: Call, name: str, period: Period) -> Table:
    """One report over `period`, on the worker (the store's one connection)."""
    reports.spec(name)  # an unknown report is a 422 naming the known ones, before any work
    settings, conn, limit = call.daemon.settings, call.daemon.store.conn, call.query.get("limit")
    key = (settings.database_path, name, period.first, period.last, limit)
    return await call.daemon.run_in_worker(lambda: RECENT.get(conn, key, lambda: reports.run(
        conn, name, period, exclusive=settings.tax.mode == "exclusive", limit=limit,
        exponent=settings.currency.exponent, redeem_rate=settings.loyalty.redeem_rate)))


async def report(call: Call) -> tuple[int, Any]:
    table = await run_report(call, call.params["name"], period_of(call))
    return 200, JsonText(table.as_json())  # the same JSON as `appliance report NAME --format json`


async def report_csv(call: Call) -> tuple[int, Any]:
    table = await run_report(call, call.params["name"], period_of(call))
    return 200, BOM + table.as_csv(call.daemon.settings.currency.exponent)


async def report_chart(call: Call) -> tuple[int, Any]:
    """The report's chart as SVG, drawn by the same code as `appliance report NAME --chart F.svg`."""
    name = call.params["name"]
    kind = reports.spec(name).chart
    if kind is None:
        raise InputError(f"the {name} report has no chart; the reports with one say chart: true in GET /reports")
    table = await run_report(call, name, period_of(call))
    return 200, charts.to_svg(charts.draw(table, kind, call.daemon.settings.currency.exponent))


PERIOD = {"from": DAY, "to": DAY, "limit": integer(1, 10000)}
NAME = {"name": string(32, min_length=1)}

ROUTES = [
    Route("GET", "/reports", "cashier", report_list, "the reports there are",
          array(obj({"name": TEXT, "summary": TEXT, "chart": BOOLEAN})), tag="reports"),
    Route("GET", "/reports/{name}", "manager", report, "one report over business days (default: today)", TABLE,
          params=NAME, query=PERIOD, tag="reports"),
    Route("GET", "/reports/{name}/csv", "manager", report_csv, "one report as CSV (amounts in major units)", TEXT,
          params=NAME, query=PERIOD, tag="reports", content="text/csv"),
    Route("GET", "/reports/{name}/chart", "manager", report_chart, "one report's chart as SVG", TEXT,
          params=NAME, query=PERIOD, tag="reports", content="image/svg+xml"),
]
