"""The back office's first page in one call: today against the same weekday last week, alerts, devices, sync.

One request rather than six keeps the page quick on a phone over shop Wi-Fi; every
figure comes from the same reports the report pages show, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from appliance.api.devices import device_states
from appliance.api.openapi import ANY_OBJECT, BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj
from appliance.api.reports import run_report
from appliance.core import reorder
from appliance.core.clock import business_day
from appliance.core.reports.period import Period
from appliance.sync.outbox import SyncState, status as sync_status

TREND_DAYS = 28  # four weeks: each weekday four times, enough for the 7-day average to mean something
FIGURES = obj({"day": TEXT, "net": integer(-INT64), "baskets": integer(), "average": nullable(integer(-INT64))})


def _figures(trend_row: dict, basket_row: dict) -> dict[str, Any]:
    return {"day": trend_row["day"], "net": trend_row["net"], "baskets": basket_row["baskets"],
            "average": trend_row["net"] // basket_row["baskets"] if basket_row["baskets"] else None}  # fmt: skip


async def dashboard(call: Call) -> tuple[int, Any]:
    daemon, settings = call.daemon, call.daemon.settings
    time = settings.time
    today = business_day(daemon.clock.now(), time.zone, time.cutover_hour)
    first = today - timedelta(days=TREND_DAYS - 1)
    trend = (await run_report(call, "trend", Period.parse(first.isoformat(), today.isoformat(), time.zone,
                                                           time.cutover_hour))).records()  # fmt: skip
    week = (await run_report(call, "basket", Period.parse((today - timedelta(days=7)).isoformat(), today.isoformat(),
                                                          time.zone, time.cutover_hour))).records()  # fmt: skip

    def read() -> dict[str, Any]:
        conn = daemon.store.conn
        sync = sync_status(conn, SyncState.beside(settings.database_path))
        return {"alerts": [dataclasses.asdict(a) for a in reorder.alerts(conn)],
                "sync": {"enabled": bool(settings.sync.url), "pending": sync.pending,
                         "alert": sync.pending >= settings.sync.outbox_alert,
                         "last_success": (sync.last_success or {}).get("at"),
                         "last_error": (sync.last_error or {}).get("message")}}  # fmt: skip

    live = await daemon.run_in_worker(read)
    devices = device_states(daemon)
    return 200, {
        "shop": settings.shop.name, "currency": settings.currency.code, "exponent": settings.currency.exponent,
        "zone": time.zone,
        "today": _figures(trend[-1], week[-1]), "last_week": _figures(trend[-8], week[0]),
        "trend": {"from": first.isoformat(), "to": today.isoformat()},
        "selling": not [d for d in devices if d["required"] and not d["online"]], "devices": devices, **live,
    }


ROUTES = [
    Route("GET", "/dashboard", "manager", dashboard, "today against last week, low-stock alerts, devices, sync",
          obj({"shop": TEXT, "currency": TEXT, "exponent": integer(0, 4), "zone": TEXT, "today": FIGURES, "last_week": FIGURES,
               "trend": obj({"from": TEXT, "to": TEXT}), "selling": BOOLEAN, "devices": array(ANY_OBJECT),
               "alerts": array(ANY_OBJECT), "sync": ANY_OBJECT}), tag="reports"),
]
