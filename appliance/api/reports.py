"""Report routes: the list of reports, and one report over business days as typed columns and integer rows."""

from __future__ import annotations

import json
from typing import Any

from appliance.api.openapi import ANY_OBJECT, BOOLEAN, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.core import reports
from appliance.core.clock import business_day
from appliance.core.reports.period import Period
from appliance.errors import InputError

MAX_DAYS = 3700  # ten years: the store keeps no more, and a longer range is a typo

DAY = string(10, pattern=r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$", description="a business day, YYYY-MM-DD")
TABLE = obj({"report": TEXT, "title": TEXT, "from": TEXT, "to": TEXT,
             "columns": array(obj({"key": TEXT, "title": TEXT, "kind": TEXT})),
             "rows": array(ANY_OBJECT), "total": nullable(ANY_OBJECT), "notes": array(TEXT)})


async def report_list(call: Call) -> tuple[int, Any]:
    return 200, [{"name": name, "summary": spec.summary, "chart": bool(spec.chart)}
                 for name, spec in reports.specs().items()]


async def report(call: Call) -> tuple[int, Any]:
    daemon, query = call.daemon, call.query
    settings = daemon.settings
    name = call.params["name"]
    reports.spec(name)  # an unknown report is a 422 naming the known ones, before any work
    today = business_day(daemon.clock.now(), settings.time.zone, settings.time.cutover_hour).isoformat()
    last = query.get("to", today)
    period = Period.parse(query.get("from", last), last, settings.time.zone, settings.time.cutover_hour)
    if not 1 <= period.days <= MAX_DAYS:
        raise InputError(f"from {period.first} to {period.last}: a report covers 1 to {MAX_DAYS} days", where="from")
    loyalty = settings.loyalty

    def run() -> Any:
        table = reports.run(daemon.store.conn, name, period, exclusive=settings.tax.mode == "exclusive",
                            limit=query.get("limit"), exponent=settings.currency.exponent,
                            redeem_rate=loyalty.redeem_rate)
        return json.loads(table.as_json())  # the same JSON as `appliance report NAME --format json`

    return 200, await daemon.run_in_worker(run)


ROUTES = [
    Route("GET", "/reports", "cashier", report_list, "the reports there are",
          array(obj({"name": TEXT, "summary": TEXT, "chart": BOOLEAN})), tag="reports"),
    Route("GET", "/reports/{name}", "manager", report, "one report over business days (default: today)", TABLE,
          params={"name": string(32, min_length=1)}, query={"from": DAY, "to": DAY, "limit": integer(1, 10000)},
          tag="reports"),
]
