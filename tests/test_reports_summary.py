"""The report summaries on hand-made days: kept with every document, exact to the quarter hour, checked and rebuilt."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from appliance.cli import main
from appliance.core import reports
from appliance.core.reports import summary
from appliance.core.reports.period import Period
from appliance.core.returns import post_void, return_with_receipt
from tests.conftest import BREAD, COLA, RICE, START, WATER

DAY = START.date().isoformat()  # 2026-11-24, the till fixture's business day (Asia/Shanghai)


def _run(till, name: str, zone: str = "Asia/Shanghai", first: str = DAY, last: str = DAY):
    return reports.run(till.store.conn, name, Period.parse(first, last, zone, 4))


def _sale(till, *codes):
    for code in codes:
        till.scan(code)
    return till.pay("cash", 100000)


def _total(table, key):
    return table.total[table.column(key)]


def test_a_post_void_an_hour_later_takes_the_basket_out_of_the_sales_own_quarter_hour(till, supervisor, clock):
    clock.set(START.replace(hour=10, minute=5))
    voided = _sale(till, WATER)
    clock.set(START.replace(hour=11, minute=20))
    post_void(till, voided["receipt_no"], approver=supervisor, reason="rang twice")
    slots = till.store.conn.execute(
        "SELECT slot, sales, voids, sale_total, void_total, baskets, basket_value, basket_items FROM report_slots "
        "ORDER BY slot").fetchall()
    # 10:05 and 11:20 in Shanghai are 02:05 and 03:20 UTC: the sale's quarter keeps the sale, loses the basket.
    assert slots == [(f"{DAY}T02:00:00.000Z", 1, 0, voided["total"], 0, 0, 0, 0),
                     (f"{DAY}T03:15:00.000Z", 0, 1, 0, voided["total"], 0, 0, 0)]
    hours = _run(till, "sales-hour")
    assert [(row[0], row[1]) for row in hours.rows] == [("10:00", 1), ("11:00", -1)]  # as the documents say
    peak = _run(till, "peak-hours")
    assert _total(peak, "baskets") == 0 and len(peak.columns) == 24 + 2  # no basket left: no hour was traded
    assert _total(_run(till, "basket"), "baskets") == 0
    assert summary.check(till.store.conn).problems == []


def test_returns_post_voids_and_cancels_keep_the_summaries_equal_to_the_documents(till, supervisor, clock):
    kept = _sale(till, RICE, BREAD, BREAD)
    voided = _sale(till, COLA, WATER)
    post_void(till, voided["receipt_no"], approver=supervisor, reason="twice")
    till.scan(COLA)
    till.cancel("left")
    clock.advance(days=1)
    refund = return_with_receipt(till, kept["receipt_no"], [(2, 1000)], reason="stale")
    conn = till.store.conn
    days = dict(((day, sku), (qty, amount)) for day, sku, qty, amount in conn.execute(
        "SELECT business_day, sku, quantity, amount FROM report_sku_days"))
    bread = next(line for line in kept["lines"] if line["sku"] == "BREAD400")
    next_day = (START + timedelta(days=1)).date().isoformat()
    assert days[(DAY, "BREAD400")] == (bread["quantity"], bread["amount"])
    # The post-void nets the voided sale out; the cancelled cola adds nothing.
    assert days[(DAY, "COLA330")] == days[(DAY, "WATER550")] == (0, 0)
    assert days[(next_day, "BREAD400")] == (-1000, -refund["lines"][0]["amount"])
    assert summary.check(conn).problems == []
    both = _run(till, "sales-product", last=next_day)
    assert {row[0]: row[2] for row in both.rows} == {"RICE5KG": 1000, "BREAD400": bread["quantity"] - 1000,
                                                   "COLA330": 0, "WATER550": 0}


def test_local_hours_of_a_zone_a_quarter_off_the_hour_split_at_the_quarter(till, clock):
    """Asia/Kathmandu is 5:45 ahead of UTC: 04:10 UTC is 09:55 there, 04:20 UTC is 10:05."""
    for minute in (10, 20):
        clock.set(datetime(2026, 11, 24, 4, minute, tzinfo=timezone.utc))
        _sale(till, BREAD)
    hours = _run(till, "sales-hour", zone="Asia/Kathmandu")
    assert [(row[0], row[1]) for row in hours.rows] == [("09:00", 1), ("10:00", 1)]
    shanghai = _run(till, "sales-hour")  # 12:10 and 12:20 in the shop's own zone
    assert [(row[0], row[1]) for row in shanghai.rows] == [("12:00", 2)]


def test_db_check_names_a_summary_that_differs_and_a_rebuild_mends_it(till, settings, tmp_path, capsys, monkeypatch):
    _sale(till, RICE, COLA)
    config = tmp_path / "appliance.toml"
    config.write_text(f'[paths]\ndata_dir = "{settings.database_path.parent}"\n', encoding="utf-8")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    assert main(["db", "check"]) == 0
    assert "report_sku_days equal the sale documents" in capsys.readouterr().out
    with sqlite3.connect(settings.database_path) as conn:
        conn.execute("UPDATE report_sku_days SET amount = amount + 1 WHERE sku = 'COLA330'")
    assert main(["db", "check"]) == 3
    assert f"PROBLEM: report summary report_sku_days: 1 product rows differ from the sale documents, " \
           f"on business days {DAY}" in capsys.readouterr().out
    assert main(["db", "rebuild-reports"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert main(["db", "check"]) == 0
