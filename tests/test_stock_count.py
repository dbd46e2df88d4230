"""Stocktakes (sessions, sheets, entries, variance, apply, cancel) and the `appliance stock` commands."""

from __future__ import annotations

import io
import json
import sys
from io import StringIO

import pytest

from appliance.core import stock, stock_ledger, stocktake
from appliance.core.stock import ReceiptLine
from appliance.errors import DomainError, InputError, PermissionDenied
from tests.conftest import COLA
from tests.test_cli import CASHIER, MANAGER, SUPERVISOR, Cli, write_config


def _setup(till):
    manager = till.operators.get("9001")
    stock.receive(till.store, till.settings, [ReceiptLine("COLA330", 10000, 200), ReceiptLine("SPRITE330", 5000, 220),
                                              ReceiptLine("WATER550", 8000, 90)], operator=manager, at=till.clock.now())
    return manager


def test_a_stocktake_from_open_to_apply(till, supervisor):
    manager = _setup(till)
    cashier = till.operators.get("1001")
    session = stocktake.open_session(till.store, category="drinks", operator=cashier, at=till.clock.now())
    with pytest.raises(DomainError, match="already open"):
        stocktake.open_session(till.store, operator=cashier, at=till.clock.now())
    sheet = StringIO()
    assert stocktake.write_sheet(till.store.conn, sheet) == 6  # the demo catalog's six drinks
    assert "COLA330,可口可乐 330ml,piece,10," in sheet.getvalue().splitlines()
    stocktake.enter(till.store, [("COLA330", 6000)], operator=cashier, at=till.clock.now())  # the shelf
    till.scan(COLA)
    till.pay("cash")  # sold while counting: off the shelf already counted
    stocktake.enter(till.store, [("COLA330", 1000), ("SPRITE330", 5000), ("WATER550", 9000)], operator=cashier,
                    at=till.clock.now())  # the back room: entries add up
    with pytest.raises(DomainError, match="not in stocktake"):
        stocktake.enter(till.store, [("MILK1L", 1000)], operator=cashier, at=till.clock.now())
    with pytest.raises(InputError, match="negative"):
        stocktake.enter(till.store, [("COLA330", -1000)], operator=cashier, at=till.clock.now())
    _, lines = stocktake.variance(till.store.conn)
    assert [(v.sku, v.expected, v.counted, v.variance, v.value) for v in lines] == [
        ("COLA330", 10000, 7000, -3000, -600), ("SPRITE330", 5000, 5000, 0, 0), ("WATER550", 8000, 9000, 1000, 90)]
    with pytest.raises(PermissionDenied):
        stocktake.apply(till.store, till.settings, operator=cashier, at=till.clock.now())
    done = stocktake.apply(till.store, till.settings, operator=cashier, approver=supervisor, at=till.clock.now())
    assert done["variance_value"] == -510 and done["approved_by"] == "2001"
    # 10 - 1 sold - 3 missing = 6; the sale during the count is not counted as missing twice.
    assert stock_ledger.on_hand(till.store.conn, "COLA330") == 6000
    assert stock_ledger.on_hand(till.store.conn, "WATER550") == 9000
    assert stock_ledger.on_hand(till.store.conn, "TEA500") == 0  # not counted: unchanged
    moves = till.store.conn.execute("SELECT sku, quantity FROM stock_moves WHERE ref = ? ORDER BY sku",
                                    (session.id,)).fetchall()
    assert moves == [("COLA330", -3000), ("WATER550", 1000)]
    assert till.store.scalar("SELECT count(*) FROM journal WHERE ref = ? AND kind = 'stock.count_applied'",
                             (session.id,)) == 1
    with pytest.raises(DomainError, match=f"stocktake {session.id} is applied") as err:
        stocktake.enter(till.store, [("COLA330", 1000)], operator=manager, at=till.clock.now(), session_id=session.id)
    assert err.value.code == "stocktake_closed"
    assert stock_ledger.check(till.store.conn).problems == []


def test_a_blind_sheet_hides_the_expected_quantity_and_a_cancelled_session_changes_nothing(till, supervisor):
    _setup(till)
    stocktake.open_session(till.store, blind=True, operator=supervisor, at=till.clock.now())
    sheet = StringIO()
    stocktake.write_sheet(till.store.conn, sheet)
    assert sheet.getvalue().splitlines()[0] == "sku,name,unit,counted"
    stocktake.enter(till.store, [("COLA330", 0)], operator=supervisor, at=till.clock.now())
    session_id = stocktake.cancel(till.store, operator=supervisor, at=till.clock.now())
    assert stock_ledger.on_hand(till.store.conn, "COLA330") == 10000
    assert stocktake.current(till.store.conn, session_id).status == "cancelled"
    with pytest.raises(DomainError, match="no stocktake is open"):
        stocktake.enter(till.store, [("COLA330", 1000)], operator=supervisor, at=till.clock.now())


def test_a_filled_in_sheet_is_read_back(till):
    rows = stocktake.read_counts(StringIO("sku,name,unit,expected,counted\nCOLA330,x,piece,10,7\nTEA500,y,piece,0,\n"))
    assert rows == [(2, "COLA330", "7")]
    with pytest.raises(InputError, match="sku and counted"):
        stocktake.read_counts(StringIO("sku,qty\n"))


# --- the commands


@pytest.fixture
def shop(tmp_path, monkeypatch, capsys) -> Cli:
    from tests.test_cli import DEMO_CSV

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    cli = Cli(write_config(tmp_path / "etc"), monkeypatch, capsys)
    assert cli("operator", "add", "--code", MANAGER[0], "--name", "Boss", "--role", "manager", new_pin=MANAGER[1]).code == 0
    for (code, pin), role in ((CASHIER, "cashier"), (SUPERVISOR, "supervisor")):
        assert cli("operator", "add", "--code", code, "--name", role, "--role", role, "--by", MANAGER[0],
                   pin=MANAGER[1], new_pin=pin).code == 0
    assert cli("catalog", "import", str(DEMO_CSV), "--operator", MANAGER[0], pin=MANAGER[1]).code == 0
    return cli


def test_stock_commands_end_to_end(shop, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,quantity,unit_cost\nCOLA330,24,2.00\nNOPE,1,1.00\nWATER550,-3,1.00\n", encoding="utf-8")
    result = shop("stock", "receive", str(bad), "--operator", CASHIER[0], pin=CASHIER[1])
    assert result.code == 2
    assert f"{bad}: line 3, column sku: no product with SKU 'NOPE'" in result.err
    assert f"{bad}: line 4, column quantity:" in result.err
    assert shop.query("SELECT count(*) FROM stock_moves") == [(0,)]
    good = tmp_path / "good.csv"
    good.write_text("sku,quantity,unit_cost\nCOLA330,24,2.00\nWATER550,12,0.85\n", encoding="utf-8")
    result = shop("stock", "receive", str(good), "--operator", CASHIER[0], "--document", "DN-1", pin=CASHIER[1])
    assert result.code == 0, result.err
    assert "average cost 2.10 -> 2.00" in result.out and "received 2 line(s)" in result.out
    assert shop("stock", "receive", "--sku", "COLA330", "--qty", "0", "--cost", "2", "--operator", CASHIER[0],
                pin=CASHIER[1]).code == 2
    result = shop("stock", "adjust", "--sku", "COLA330", "--qty", "-2", "--reason", "damaged", "--operator",
                  CASHIER[0], "--supervisor", SUPERVISOR[0], pin=CASHIER[1], supervisor_pin=SUPERVISOR[1])
    assert result.code == 0 and "on hand 22" in result.out
    assert shop("stock", "adjust", "--sku", "COLA330", "--qty", "-2", "--reason", "damaged", "--operator",
                CASHIER[0], pin=CASHIER[1]).code == 1
    assert shop("stock", "rule", "--sku", "COLA330", "--minimum", "30", "--operator", MANAGER[0],
                pin=MANAGER[1]).code == 0
    result = shop("stock", "report", "--below")
    assert result.code == 0 and "COLA330" in result.out and "BELOW" in result.out and "WATER550" not in result.out
    assert shop("stock", "count", "open", "--category", "drinks", "--operator", CASHIER[0], pin=CASHIER[1]).code == 0
    sheet = tmp_path / "sheet.csv"
    assert shop("stock", "count", "sheet", str(sheet)).code == 0
    filled = sheet.read_text(encoding="utf-8").replace("COLA330,可口可乐 330ml,piece,22,", "COLA330,可口可乐 330ml,piece,22,20")
    sheet.write_text(filled, encoding="utf-8")
    assert shop("stock", "count", "enter", str(sheet), "--operator", CASHIER[0], pin=CASHIER[1]).code == 0
    result = shop("stock", "count", "variance")
    assert "variance at cost: -4.00" in result.out
    result = shop("stock", "count", "apply", "--operator", SUPERVISOR[0], pin=SUPERVISOR[1])
    assert result.code == 0 and "1 changed" in result.out
    assert shop("stock", "count", "cancel", "--operator", SUPERVISOR[0], pin=SUPERVISOR[1]).code == 1
    result = shop("stock", "check")
    assert result.code == 0 and result.out.endswith("stock ok\n")
    result = shop("stock", "alerts")
    assert "COLA330" in result.out and "1 open alert(s)" in result.out
    assert shop("stock", "supplier", "add", "--id", "ACME", "--name", "Acme", "--operator", MANAGER[0],
                pin=MANAGER[1]).code == 0
    assert shop("stock", "rule", "--sku", "COLA330", "--supplier", "ACME", "--pack", "12", "--operator", MANAGER[0],
                pin=MANAGER[1]).code == 0
    result = shop("stock", "reorder", "--supplier", "ACME")
    assert "COLA330" in result.out and "order       12" in result.out  # up to 30, 10 needed, one pack of 12
    payload = json.loads(shop.query("SELECT payload FROM journal WHERE kind = 'stock.received'")[0][0])
    assert payload["document"] == "DN-1"
