"""Cross-store reports at head office from real till journals: figures equal the terminals' own, on both databases."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from appliance.core import stock
from appliance.core.clock import iso
from appliance.core.returns import return_with_receipt
from appliance.core.stock import ReceiptLine
from appliance.sync.client import enroll, read_secret
from appliance.sync.drain import Target, drain
from appliance.sync.outbox import SyncState
from hq import projection
from hq.projection import Projection
from tests.conftest import BREAD, COLA, RICE, WATER
from tests.hq_server import REPORT_TOKEN

ROOT = Path(__file__).resolve().parent.parent


def _sell(till, *codes: str) -> dict:
    for code in codes:
        till.scan(code)
    return till.pay("cash")


@pytest.fixture
def synced(tmp_path, hq, till, store, clock):
    """A day at store shop-1 (sales, a delivery, a return restocked, one not), delivered to head office."""
    secret_file = tmp_path / "device.secret"
    enroll(hq.url, hq.storage.new_enrollment_code("shop-1"), "T01", secret_file)
    stock.receive(store, till.settings, [ReceiptLine("COLA330", 24000, 200), ReceiptLine("WATER550", 12000, 90)],
                  operator=till.operators.get("9001"), at=clock.now())  # fmt: skip
    first = _sell(till, COLA, COLA, WATER)
    _sell(till, BREAD, RICE)
    _sell(till, WATER)
    return_with_receipt(till, first["receipt_no"], [(1, 1000)], reason="wrong flavour")
    return_with_receipt(till, first["receipt_no"], [(2, 1000)], reason="dented", restock=False)
    target = Target(hq.url, "T01", read_secret(secret_file), batch_max_events=4, timeout_s=5)
    result = drain(store, SyncState.beside(tmp_path / "appliance.db"), target, now=lambda: iso(clock.now()))
    assert result.error is None
    return hq, first["business_day"]


def _report(hq, name: str, query: str = "", token: str = REPORT_TOKEN) -> tuple[int, dict]:
    return hq.request("GET", f"/v1/reports/{name}?{query}", headers={"Authorization": f"Bearer {token}"})


def test_sales_by_store_and_day_is_the_terminals_net(synced, store):
    hq, day = synced
    status, report = _report(hq, "sales", f"from={day}&to={day}")
    assert status == 200 and report["columns"] == ["store", "day", "sales", "refunds", "net", "tax"]
    sign = "CASE kind WHEN 'sale.completed' THEN 1 ELSE -1 END"
    net, tax = store.conn.execute(
        f"SELECT sum({sign} * json_extract(payload, '$.total')), sum({sign} * json_extract(payload, '$.tax'))"
        " FROM journal WHERE kind IN ('sale.completed', 'sale.returned', 'sale.voided')").fetchone()  # fmt: skip
    assert report["rows"] == [["shop-1", day, 3, 2, net, tax]]
    assert _report(hq, "sales", "from=2020-01-01&to=2020-01-02")[1]["rows"] == []


def test_stock_by_store_equals_the_terminals_ledger(synced, store):
    hq, _ = synced
    status, report = _report(hq, "stock", "store=shop-1")
    assert status == 200
    ledger = store.conn.execute("SELECT sku, sum(quantity) FROM stock_moves GROUP BY sku ORDER BY sku").fetchall()
    assert [tuple(row[1:]) for row in report["rows"]] == [tuple(row) for row in ledger]
    assert {row[0] for row in report["rows"]} == {"shop-1"}


def test_top_products_rank_by_net_revenue(synced):
    hq, day = synced
    status, report = _report(hq, "top-products", f"from={day}&to={day}&limit=2")
    assert status == 200 and len(report["rows"]) == 2
    nets = [row[3] for row in report["rows"]]
    assert nets == sorted(nets, reverse=True)


def test_a_resent_journal_is_not_counted_twice(synced, store, clock, tmp_path):
    hq, day = synced
    before = _report(hq, "sales", f"from={day}&to={day}")[1]
    store.conn.execute("UPDATE outbox SET sent_at = NULL")  # answers lost: everything goes again
    target = Target(hq.url, "T01", read_secret(tmp_path / "device.secret"), batch_max_events=100, timeout_s=5)
    assert drain(store, SyncState.beside(tmp_path / "appliance.db"), target, now=lambda: iso(clock.now())).error is None
    assert _report(hq, "sales", f"from={day}&to={day}")[1] == before


@pytest.mark.parametrize("query, where", [
    ("from=2026-13-01&to=2026-12-01", "from"),
    ("from=2026-12-02&to=2026-12-01", "from"),
    ("to=2026-12-01", "from"),
    ("from=2026-12-01&to=2026-12-01&limit=x", "limit"),
    ("from=2026-12-01&to=2026-12-01&limit=0", "limit"),
])  # fmt: skip
def test_a_bad_report_parameter_is_refused_naming_it(hq, query, where):
    status, answer = _report(hq, "top-products", query)
    assert status == 400 and answer["error"] == "malformed" and where in answer["message"]


def test_reports_need_the_token(hq):
    assert _report(hq, "stock", token="wrong-token-wrong-token")[0] == 401
    request = urllib.request.Request(hq.url + "/v1/reports/stock")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 401
    assert _report(hq, "nonsense")[0] == 404


def test_the_report_command_prints_a_table(synced):
    hq, day = synced
    result = subprocess.run([sys.executable, "-m", "hq", "report", "sales", "--from", day, "--to", day, "--db", hq.db],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Sales by store and day", "store\tday\tsales\trefunds\tnet\ttax"]
    assert lines[2].startswith(f"shop-1\t{day}\t3\t2\t")


def test_projection_ignores_fields_it_cannot_read():
    rows = Projection()
    projection.add(rows, 7, "sale.completed", {"total": "12", "lines": [{"sku": 5, "quantity": None}, "junk"]})
    projection.add(rows, 8, "stock.adjusted", {"sku": "A", "quantity": 1.5})
    projection.add(rows, 9, "shift.opened", {"anything": 1})
    assert rows.sales == [(7, "", "", "sale.completed", "", "", 0, 0, 1)]
    assert rows.stock == [(7, "", 0), (8, "A", 0)]
