"""Reports on a small generated shop (bench/gen_shop.py, the benchmark's own generator): the books agree.

The sum of the Z reports of the period equals the sales reports; the stock ledger equals
the goods received plus the documents' lines; every report's totals agree with each other;
the report summaries equal the documents, whether posting kept them or migration 10 built them.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pytest

from appliance.core import reports
from appliance.core.reports import summary
from appliance.core.reports.period import Period
from appliance.store import schema_summary
from appliance.store.db import Store

REPO = Path(__file__).resolve().parent.parent
FIRST, DAYS = date(2025, 3, 3), 21


def _generator():
    spec = importlib.util.spec_from_file_location("gen_shop", REPO / "bench" / "gen_shop.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_shop"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    summary = _generator().generate(path, sales=1500, products=200, members_count=120, days=DAYS, seed=7, first=FIRST)
    with Store(path) as store:
        yield store, summary


def _period(first: str = "2025-03-03", last: str = "2025-03-23") -> Period:
    return Period.parse(first, last, "Asia/Shanghai", 4)


def _run(store, name, period=None, **options):
    return reports.run(store.conn, name, period or _period(), **options)


def _total(table, key):
    return table.total[table.column(key)]


def _z_reports(store, first: str, last: str) -> list[dict]:
    return [
        json.loads(payload) for (payload,) in store.conn.execute(
            "SELECT payload FROM journal WHERE kind = 'shift.closed' ORDER BY seq")
        if first <= json.loads(payload)["shift"]["business_day"] <= last
    ]


def test_the_generator_wrote_a_real_shop(shop):
    store, summary = shop
    assert summary["sales"] + summary["cancels"] == 1500 and summary["shifts"] == DAYS
    assert summary["returns"] > 0 and summary["voids"] >= 0 and summary["lines"] > 3 * summary["sales"]
    counts = dict(store.conn.execute("SELECT kind, count(*) FROM sales GROUP BY kind").fetchall())
    assert counts["sale"] == summary["sales"] and counts["return"] == summary["returns"]
    # Every document is journaled and queued upstream.
    assert store.scalar("SELECT count(*) FROM sales s JOIN journal j ON j.seq = s.journal_seq") == sum(counts.values())
    assert store.scalar("SELECT count(*) FROM outbox") == store.scalar("SELECT count(*) FROM journal")


@pytest.mark.parametrize(("first", "last"), [("2025-03-03", "2025-03-23"), ("2025-03-10", "2025-03-16"),
                                             ("2025-03-05", "2025-03-05")])
def test_the_z_reports_of_a_period_add_up_to_the_sales_reports(shop, first, last):
    store, _ = shop
    period = _period(first, last)
    zs = _z_reports(store, first, last)
    assert len(zs) == period.days
    days = _run(store, "sales-day", period)
    assert _total(days, "net") == sum(z["net_sales"] for z in zs)
    assert _total(days, "sales") == sum(z["totals"]["sale"] for z in zs)
    assert _total(days, "returns") == -sum(z["totals"]["return"] for z in zs)
    assert _total(days, "voids") == -sum(z["totals"]["void"] for z in zs)
    assert _total(days, "baskets") == sum(z["counts"]["sale"] - z["counts"]["void"] for z in zs)
    for grain in ("sales-hour", "sales-week", "sales-month", "sales-operator", "sales-member"):
        assert _total(_run(store, grain, period), "net") == _total(days, "net"), grain
    tenders: dict[str, int] = {}
    for z in zs:
        for tender in z["tenders"]:
            tenders[tender["kind"]] = tenders.get(tender["kind"], 0) + tender["taken"] - tender["refunded"]
    assert {row[0]: row[4] for row in _run(store, "sales-tender", period).rows} == tenders
    taxes: dict[int, list[int]] = {}
    for z in zs:
        for tax in z["taxes"]:
            entry = taxes.setdefault(tax["rate"], [0, 0])
            entry[0] += tax["net"]
            entry[1] += tax["tax"]
    assert {row[0]: [row[2], row[3]] for row in _run(store, "tax", period).rows} == taxes
    assert _total(_run(store, "discounts", period), "amount") == sum(z["discounts"] for z in zs)
    voids = _run(store, "voids", period)
    assert _total(voids, "cancelled") == sum(z["counts"]["cancel"] for z in zs)
    assert _total(voids, "line_voids") == sum(z["line_voids"] for z in zs)


def test_the_stock_ledger_equals_deliveries_plus_the_documents(shop):
    store, _ = shop
    conn = store.conn
    received = dict(conn.execute(
        "SELECT sku, sum(quantity) FROM stock_moves WHERE kind NOT IN ('sale', 'return', 'void') GROUP BY sku"))
    sold = dict(conn.execute(
        "SELECT l.sku, sum(CASE s.kind WHEN 'sale' THEN l.quantity ELSE -l.quantity END) FROM sales s "
        "JOIN sale_lines l ON l.sale_id = s.id WHERE s.kind != 'cancel' GROUP BY l.sku"))
    ledger = dict(conn.execute("SELECT sku, sum(quantity) FROM stock_moves GROUP BY sku"))
    for sku in set(received) | set(sold):
        assert ledger.get(sku, 0) == received.get(sku, 0) - sold.get(sku, 0), sku
    # The reports read the same ledger: on hand at the end of the last day is today's cached level.
    cover = _run(store, "days-of-cover")
    levels = dict(conn.execute("SELECT sku, on_hand FROM stock_levels"))
    assert {row[0]: row[2] for row in cover.rows} == {sku: levels.get(sku, 0) for sku, *_ in cover.rows}
    value = _run(store, "inventory")
    assert _total(value, "on_hand") == sum(levels.values())  # every generated product is active
    assert _total(value, "stockouts") == len(_run(store, "stockouts").rows)
    # Before the first sale, on hand is what was received at the start.
    opening = _run(store, "days-of-cover", _period("2025-03-02", "2025-03-02"))
    assert all(row[2] > 0 for row in opening.rows)


def test_product_profit_basket_and_trend_reports_agree(shop):
    store, _ = shop
    net = _total(_run(store, "sales-day"), "net")
    products = _run(store, "sales-product")
    categories = _run(store, "sales-category")
    assert _total(products, "amount") == _total(categories, "amount") == net  # prices include tax, no rounding
    assert _total(products, "quantity") == _total(categories, "quantity")
    profit, by_product = _run(store, "profit"), _run(store, "profit-product")
    tax = _run(store, "tax")
    assert _total(profit, "revenue") == _total(by_product, "revenue") == _total(tax, "net")
    assert _total(profit, "profit") == _total(profit, "revenue") - _total(profit, "cost")
    assert 0 < _total(profit, "margin") < 5000
    top = _run(store, "top-movers", limit=5)
    assert [row[1] for row in top.rows] == [row[0] for row in products.rows[:5]]
    slow = _run(store, "slow-movers", limit=5)
    assert slow.rows[0][3] <= slow.rows[-1][3] and slow.rows[0][3] <= products.rows[-1][2]
    trend = _run(store, "trend")
    assert [row[2] for row in trend.rows] == _run(store, "sales-day").values("net")
    ninth = trend.rows[8]
    window = _run(store, "sales-day", _period("2025-03-05", "2025-03-11"))
    assert ninth[0] == "2025-03-11" and ninth[3] == round(_total(window, "net") / 7)
    assert ninth[4] == trend.rows[1][2]  # the week before 2025-03-11 is 2025-03-04
    basket = _run(store, "basket")
    peak = _run(store, "peak-hours")
    assert _total(basket, "baskets") == peak.total[-1] == _total(_run(store, "sales-day"), "baskets")
    saturday, tuesday = peak.rows[5][-1], peak.rows[1][-1]
    assert saturday > tuesday  # the generator's weekly rhythm shows


def test_the_member_report_counts_sign_ups_activity_and_points(shop):
    store, _ = shop
    members = _run(store, "members")
    conn = store.conn
    assert _total(members, "new") == conn.execute(
        "SELECT count(*) FROM members WHERE created_at >= ? AND created_at < ?", _period().utc_bounds).fetchone()[0]
    assert _total(members, "active") == conn.execute(
        "SELECT count(DISTINCT member_id) FROM sales WHERE kind = 'sale'").fetchone()[0]
    assert _total(members, "member_sales") == _run(store, "sales-member").rows[0][5]
    balances = conn.execute(
        "SELECT coalesce(sum(balance), 0) FROM points p WHERE id = (SELECT max(id) FROM points q "
        "WHERE q.member_id = p.member_id)").fetchone()[0]
    assert _total(members, "points") == balances
    assert _total(members, "liability") == round(balances * 100 / 100)


def test_every_report_reads_the_generated_year_and_charts_draw(shop, tmp_path):
    from appliance.display import charts

    store, _ = shop
    for name, spec in reports.specs().items():
        table = _run(store, name)
        assert table.rows or name == "stockouts", name  # the generator restocks every week
        if spec.chart:
            svg = charts.save(table, spec.chart, tmp_path / f"{name}.svg", 2).read_text(encoding="utf-8")
            assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_the_report_summaries_posting_kept_equal_the_documents(shop):
    store, summary_ = shop
    assert summary_["returns"] > 0 and summary_["voids"] > 0  # both kinds of refund went through the hook
    result = summary.check(store.conn)
    assert result.problems == [] and len(result.lines) == 2
    # Post-voided sales left their quarter hours' baskets (the documents still count the sale there).
    assert store.scalar("SELECT sum(sales) - sum(baskets) FROM report_slots") == summary_["voids"]


def test_migration_10_fills_the_summaries_from_the_documents_as_posting_does(shop, tmp_path):
    store, _ = shop
    copy = sqlite3.connect(tmp_path / "copy.db", isolation_level=None)
    store.conn.backup(copy)
    copy.execute("BEGIN")
    copy.execute("DROP TABLE report_sku_days")
    copy.execute("DROP TABLE report_slots")
    copy.execute("DROP INDEX points_history")
    schema_summary.migrate(copy)  # what migration 10 does to a store of documents posted without summaries
    copy.execute("COMMIT")
    for table in ("report_sku_days", "report_slots"):
        rows = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert copy.execute(rows).fetchall() == store.conn.execute(rows).fetchall(), table
    for period in (_period(), _period("2025-03-10", "2025-03-10"), Period.parse("2025-03-03", "2025-03-23",
                                                                               "Asia/Kathmandu", 4)):
        for name in reports.specs():
            mine, theirs = reports.run(copy, name, period), reports.run(store.conn, name, period)
            assert (mine.rows, mine.total, mine.notes) == (theirs.rows, theirs.total, theirs.notes), name
