"""Reports on hand-made days: the net sales rule, business-day and time-zone edges, bad input, outputs."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.cli import main
from appliance.core import reports
from appliance.core.reports.period import Period
from appliance.core.returns import post_void, return_with_receipt
from appliance.display.document import render_text
from appliance.display.report_docs import report_document, terminal_table
from appliance.display.text import width
from appliance.errors import InputError
from tests.conftest import BREAD, COLA, RICE, START, WATER

DAY = START.date().isoformat()  # 2026-11-24, the till fixture's business day


def _period(first: str = DAY, last: str | None = None, zone: str = "Asia/Shanghai") -> Period:
    return Period.parse(first, last or first, zone, 4)


def _run(till, name: str, period: Period | None = None, **options):
    return reports.run(till.store.conn, name, period or _period(), **options)


def _sale(till, *codes, member=None):
    for code in codes:
        till.scan(code)
    if member:
        till.attach_member(member)
    return till.pay("cash", 100000)


def _total(table, key):
    return table.total[table.column(key)]


def test_net_sales_take_off_returns_and_post_voids_and_ignore_cancels(till, supervisor):
    kept = _sale(till, RICE, BREAD)  # 39.90 + 6.50
    voided = _sale(till, WATER)
    post_void(till, voided["receipt_no"], approver=supervisor, reason="twice")
    refund = return_with_receipt(till, kept["receipt_no"], [(2, 1000)], reason="stale")
    till.scan(COLA)
    till.cancel("left")
    day = _run(till, "sales-day")
    assert day.rows == [(DAY, 1, kept["total"] + voided["total"], -refund["total"], -voided["total"],
                         kept["total"] - refund["total"], kept["total"] - refund["total"])]
    # The voided sale cancels out product by product too; the cancelled cola is nowhere.
    products = {row[0]: row for row in _run(till, "sales-product").rows}
    assert set(products) == {"RICE5KG", "BREAD400", "WATER550"}
    assert products["WATER550"][2:4] == (0, 0) and products["BREAD400"][2:4] == (0, 0)
    assert products["RICE5KG"][2] == 1000
    voids = _run(till, "voids")
    assert voids.rows[0][1:5] == (1, voided["total"], 1, 350)
    returns = _run(till, "returns")
    assert returns.rows == [(DAY, 1, 1, 0, -refund["total"])]


def test_every_report_runs_on_an_empty_period(till):
    period = _period("2020-01-01", "2020-01-07")
    for name in reports.specs():
        table = _run(till, name, period)
        if name in ("sales-day", "basket", "trend"):
            assert len(table.rows) == 7 and all(row[1] in (0, "Wed", "Thu", "Fri", "Sat", "Sun", "Mon", "Tue")
                                                for row in table.rows)
        elif name not in ("peak-hours", "slow-movers", "inventory", "days-of-cover", "stockouts", "sales-member",
                          "discounts", "members"):
            assert table.rows == [], name
    assert _total(_run(till, "sales-day", period), "net") == 0
    assert all(row[-1] == 0 for row in _run(till, "peak-hours", period).rows)


def test_a_period_with_only_returns_is_negative(till, clock):
    sold = _sale(till, RICE, RICE)
    clock.advance(days=1)
    refund = return_with_receipt(till, sold["receipt_no"], [(1, 1000)], reason="broken bag")
    next_day = (START + timedelta(days=1)).date().isoformat()
    table = _run(till, "sales-day", _period(next_day))
    assert table.rows == [(next_day, 0, 0, -refund["total"], 0, -refund["total"], None)]
    profit = _run(till, "profit", _period(next_day))
    assert _total(profit, "revenue") < 0 and _total(profit, "cost") < 0
    assert _total(_run(till, "tax", _period(next_day)), "amount") == -refund["total"]


def test_a_sale_at_01_30_belongs_to_the_business_day_before(till, clock):
    zone = ZoneInfo("Asia/Shanghai")
    clock.set(datetime(2026, 11, 25, 1, 30, tzinfo=zone))  # after midnight, before the 04:00 cutover
    late = _sale(till, BREAD)
    assert late["business_day"] == DAY
    hours = _run(till, "sales-hour")
    assert ("01:00", 1, late["total"]) == hours.rows[0][:3]
    assert _run(till, "sales-day", _period("2026-11-25")).rows[0][1] == 0
    peak = _run(till, "peak-hours")
    tuesday = peak.rows[1]  # 2026-11-24 is a Tuesday: the 01:30 basket counts for Tuesday night
    assert tuesday[peak.column("h01")] == 1 and sum(row[-1] for row in peak.rows) == 1
    # ordered from the cutover hour: 01:00 comes last, after the evening
    assert [c.key for c in peak.columns][1] == "h01" or peak.columns[1].key >= "h04"


def test_local_hours_follow_daylight_saving_time():
    """Europe/Berlin goes from +01:00 to +02:00 at 01:00 UTC on 2026-03-29."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    period = Period.parse("2026-03-28", "2026-03-30", "Europe/Berlin", 4)
    expr = period.local_sql("t")
    for utc, local in (("2026-03-29T00:59:00.000Z", "2026-03-29 01:59:00"),
                       ("2026-03-29T01:00:00.000Z", "2026-03-29 03:00:00"),
                       ("2026-03-28T12:00:00.000Z", "2026-03-28 13:00:00"),
                       ("2026-03-30T12:00:00.000Z", "2026-03-30 14:00:00")):
        assert conn.execute(f"SELECT {expr} FROM (SELECT ? AS t)", (utc,)).fetchone()[0] == local
    assert "CASE" not in _period().local_sql("t")  # Shanghai: one constant offset


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2026-11-30", "2026-11-01", "swap --from and --to"),
    ("2026-02-30", "2026-03-01", "--from '2026-02-30' is not a date"),
    ("2026-11-01", "yesterday", "--to 'yesterday' is not a date"),
    ("2020-01-01", "2026-01-01", "at most 800"),
])
def test_bad_periods_are_refused_with_a_message(first, last, message):
    with pytest.raises(InputError, match=message):
        Period.parse(first, last, "Asia/Shanghai", 4)


def test_unknown_report_and_bad_limit_are_refused(till):
    with pytest.raises(InputError, match="there is no report 'sales-year'.*sales-day"):
        _run(till, "sales-year")
    with pytest.raises(InputError, match="--limit 0"):
        _run(till, "top-movers", limit=0)


def test_tenders_members_operators_and_tax_add_up_to_net_sales(till):
    from appliance.core import members

    member = members.add(till.store, "13800000001", "Li", at=till.clock.now())
    _sale(till, RICE, member=member.id)
    _sale(till, COLA, WATER)
    net = _total(_run(till, "sales-day"), "net")
    rounding = till.store.scalar("SELECT sum(rounding) FROM sales")
    assert _total(_run(till, "sales-tender"), "net") == net + rounding
    assert _total(_run(till, "tax"), "amount") == net
    assert _total(_run(till, "sales-operator"), "net") == net
    by_member = _run(till, "sales-member")
    assert [row[:2] for row in by_member.rows] == [("member", 1), ("non-member", 1)]
    assert sum(row[5] for row in by_member.rows) == net
    assert _total(_run(till, "members"), "new") == 1 and _total(_run(till, "members"), "active") == 1


def test_csv_json_and_terminal_outputs_say_the_same(till):
    _sale(till, RICE, COLA)
    table = _run(till, "sales-product")
    rows = list(csv.DictReader(io.StringIO(table.as_csv(2))))
    assert rows[-1]["sku"] == "TOTAL" and rows[0]["amount"] == f"{table.rows[0][3] / 100:.2f}"
    data = json.loads(table.as_json())
    assert data["rows"][0]["amount"] == table.rows[0][3] and data["from"] == DAY
    text = terminal_table(table, 2)
    assert "TOTAL" in text and "RICE5KG" in text


@pytest.mark.parametrize("cells", [32, 48])
def test_the_printed_version_fits_the_paper(till, cells):
    _sale(till, RICE, COLA, BREAD)
    for name in ("sales-day", "sales-product", "profit", "peak-hours", "members", "inventory"):
        table = _run(till, name)
        lines = render_text(report_document(table, "Demo Mart", 2), cells)
        assert all(width(line) == cells for line in lines), name
        headline = table.columns[table.column(table.headline)].title
        assert any(headline in line for line in lines), (name, headline)
        assert sum(table.title in line for line in lines) == 1


def test_cli_report_list_csv_json_and_refusals(till, settings, tmp_path, capsys, monkeypatch):
    _sale(till, RICE)
    config = tmp_path / "appliance.toml"
    config.write_text(f'[paths]\ndata_dir = "{settings.database_path.parent}"\n', encoding="utf-8")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    assert main(["report", "list"]) == 0
    assert "peak-hours" in capsys.readouterr().out
    assert main(["report", "sales-day", "--from", DAY, "--to", DAY, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["baskets"] == 1
    assert main(["report", "sales-day", "--from", DAY, "--to", DAY, "--print", "--width", "32"]) == 0
    assert "Sales by day" in capsys.readouterr().out
    assert main(["report", "sales-day", "--from", DAY, "--to", "2026-11-01"]) == 2
    assert "swap --from and --to" in capsys.readouterr().err
    assert main(["report", "sales-decade", "--to", DAY]) == 2
    assert main(["report", "tax", "--to", DAY, "--chart", str(tmp_path / "x.png")]) == 2
    assert "has no chart" in capsys.readouterr().err
    assert main(["report", "trend", "--to", DAY, "--chart", str(tmp_path / "x.gif")]) == 2
