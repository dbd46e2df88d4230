"""The stock ledger: receipts with moving-average cost, adjustments, transfers, the negative-stock
policy, low-stock alerts raised once and cleared, and the ledger agreeing with the sales."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest

from appliance.core import reorder, stock, stock_ledger
from appliance.core.returns import post_void, return_with_receipt
from appliance.core.stock import ReceiptLine, moving_average
from appliance.core.till import Till
from appliance.errors import DomainError, InputError, NotFound, PermissionDenied
from tests.conftest import BREAD, COLA, MILK, SPRITE, WATER, make_settings, seed


def _on_hand(till, sku):
    return stock_ledger.on_hand(till.store.conn, sku)


def _receive(till, *lines, supplier="", operator=None):
    return stock.receive(till.store, till.settings, [ReceiptLine(*line) for line in lines],
                         operator=operator or till.operators.get("9001"), at=till.clock.now(), supplier_id=supplier)


def _cost(till, sku):
    return till.store.scalar("SELECT cost FROM products WHERE sku = ?", (sku,))


# --- moving-average cost


def test_moving_average_blends_and_rounds_half_up():
    assert moving_average(10000, 200, 5000, 230) == 210  # (10 x 2.00 + 5 x 2.30) / 15 = 2.10 exactly
    assert moving_average(1000, 100, 2000, 101) == 101  # 302 / 3 = 100.67 -> 101
    assert moving_average(1000, 100, 1000, 101) == 101  # 100.5 -> half up
    assert moving_average(3000, 100, 1000, 101) == 100  # 100.25 -> down


def test_receipts_at_zero_or_negative_stock_start_the_average_at_the_receipt_cost():
    assert moving_average(0, 999, 1000, 150) == 150
    assert moving_average(-2000, 999, 5000, 150) == 150


def test_receiving_updates_on_hand_and_the_average_cost_that_sales_then_carry(till):
    _receive(till, ("COLA330", 10000, 200))  # on-hand 0: the average is the receipt's cost
    assert _cost(till, "COLA330") == 200
    done = _receive(till, ("COLA330", 5000, 230))
    assert done["lines"][0] == {"sku": "COLA330", "quantity": 5000, "unit_cost": 230, "cost_before": 200,
                                "cost_after": 210, "on_hand": 15000}
    assert _on_hand(till, "COLA330") == 15000
    till.scan(COLA)
    sold = till.pay("cash")
    assert sold["lines"][0]["cost"] == 210  # profit reports see the real average cost
    assert _on_hand(till, "COLA330") == 14000


def test_the_same_sku_twice_on_one_delivery_blends_twice(till):
    done = _receive(till, ("WATER550", 1000, 100), ("WATER550", 1000, 101))
    assert [l["cost_after"] for l in done["lines"]] == [100, 101]  # (100 + 101) / 2 = 100.5 -> 101


def test_a_receipt_is_one_journaled_event_with_its_moves(till):
    done = _receive(till, ("MILK1L", 12000, 800), ("BREAD400", 5000, 500))
    kind, payload = till.store.conn.execute(
        "SELECT kind, payload FROM journal WHERE ref = ?", (done["id"],)).fetchone()
    assert kind == "stock.received" and len(json.loads(payload)["lines"]) == 2
    assert till.store.scalar("SELECT count(*) FROM stock_moves WHERE ref = ? AND kind = 'receipt'", (done["id"],)) == 2


@pytest.mark.parametrize(("line", "message"), [
    (("NOPE", 1000, 100), "no product with SKU 'NOPE'"),
    (("COLA330", 0, 100), "more than zero"),
    (("COLA330", -1000, 100), "more than zero"),
    (("COLA330", 1000, -1), "cannot be negative"),
    (("COLA330", 1500, 100), "whole pieces"),
])
def test_bad_receipts_are_refused_and_change_nothing(till, line, message):
    _receive(till, ("COLA330", 1000, 200))
    before = till.store.scalar("SELECT max(seq) FROM journal")
    with pytest.raises((InputError, NotFound), match=message):
        _receive(till, ("WATER550", 1000, 100), line)  # the good first line is not booked either
    assert _on_hand(till, "WATER550") == 0 and _on_hand(till, "COLA330") == 1000
    assert till.store.scalar("SELECT max(seq) FROM journal") == before


def test_an_unknown_supplier_is_refused(till):
    with pytest.raises(NotFound, match="no supplier 'GHOST'"):
        _receive(till, ("COLA330", 1000, 200), supplier="GHOST")


# --- delivery notes


def test_a_delivery_note_reports_every_bad_row_with_line_and_column(till):
    text = StringIO("sku,quantity,unit_cost\nCOLA330,24,2.00\nNOPE,1,1\nWATER550,0,1\nMILK1L,2,-1\n"
                    "BREAD400,2,1.001\nTEA500,1.5,1\nEGGS10,1\n\n")
    lines, errors = stock.read_delivery(till.store.conn, text, 2)
    assert [ReceiptLine("COLA330", 24000, 200)] == lines
    assert [(e.line, e.column) for e in errors] == [
        (3, "sku"), (4, "quantity"), (5, "unit_cost"), (6, "unit_cost"), (7, "quantity"), (8, "*")]


def test_a_delivery_note_with_wrong_columns_is_refused_as_a_whole(till):
    with pytest.raises(InputError, match="columns must be sku,quantity,unit_cost"):
        stock.read_delivery(till.store.conn, StringIO("sku,qty\nCOLA330,1\n"), 2)
    with pytest.raises(InputError, match="empty"):
        stock.read_delivery(till.store.conn, StringIO(""), 2)


# --- adjustments and transfers


def test_adjustments_need_a_reason_code_and_a_supervisor(till, supervisor):
    cashier = till.operators.get("1001")
    with pytest.raises(PermissionDenied):
        stock.adjust(till.store, till.settings, "COLA330", -1000, "damaged", operator=cashier, at=till.clock.now())
    with pytest.raises(InputError, match="reason 'broken' must be one of damaged, expired, theft, found, correction"):
        stock.adjust(till.store, till.settings, "COLA330", -1000, "broken", operator=supervisor, at=till.clock.now())
    with pytest.raises(InputError, match="must be negative"):
        stock.adjust(till.store, till.settings, "COLA330", 1000, "theft", operator=supervisor, at=till.clock.now())
    with pytest.raises(InputError, match="zero"):
        stock.adjust(till.store, till.settings, "COLA330", 0, "correction", operator=supervisor, at=till.clock.now())
    done = stock.adjust(till.store, till.settings, "COLA330", -2000, "damaged", operator=cashier, approver=supervisor,
                        at=till.clock.now())
    assert done["approved_by"] == "2001" and done["on_hand"] == -2000
    row = till.store.conn.execute("SELECT kind, reason, quantity, unit_cost FROM stock_moves WHERE ref = ?",
                                  (done["id"],)).fetchone()
    assert row == ("adjust", "damaged", -2000, 210)


def test_transfers_move_stock_out_at_the_average_and_in_with_a_cost(till, supervisor):
    _receive(till, ("RICE5KG", 10000, 2800))
    stock.transfer_out(till.store, till.settings, "RICE5KG", 4000, "S02", operator=supervisor, at=till.clock.now())
    assert _on_hand(till, "RICE5KG") == 6000 and _cost(till, "RICE5KG") == 2800
    stock.receive(till.store, till.settings, [ReceiptLine("RICE5KG", 2000, 3000)], operator=supervisor,
                  at=till.clock.now(), kind="transfer_in", party="S03")
    assert _on_hand(till, "RICE5KG") == 8000 and _cost(till, "RICE5KG") == 2850  # (6 x 28 + 2 x 30) / 8
    kinds = [r for r in till.store.conn.execute(
        "SELECT kind, party FROM stock_moves WHERE sku = 'RICE5KG' ORDER BY id")]
    assert kinds == [("receipt", ""), ("transfer_out", "S02"), ("transfer_in", "S03")]


def test_the_ledger_is_append_only(till):
    _receive(till, ("COLA330", 1000, 200))
    with pytest.raises(Exception, match="append-only"):
        till.store.conn.execute("UPDATE stock_moves SET quantity = 5000")
    with pytest.raises(Exception, match="append-only"):
        till.store.conn.execute("DELETE FROM stock_moves")


# --- negative stock


def test_warn_lets_the_sale_go_on_and_tells_the_operator(till):
    _receive(till, ("COLA330", 1000, 200))
    till.scan(COLA)
    assert till.notices == []
    till.scan(COLA)
    assert till.notices == ["可口可乐 330ml (COLA330): 1 in stock, 2 on this sale: the stock goes negative; "
                            "tell the back office"]
    till.pay("cash")
    assert _on_hand(till, "COLA330") == -1000


def test_refuse_names_the_product_and_its_on_hand_and_leaves_the_sale_as_it_was(tmp_path, clock):
    settings = make_settings(tmp_path, stock={"negative": "refuse"})
    from appliance.store.db import Store

    with Store(settings.database_path) as store:
        till = Till(settings, store, clock)
        seed(till)
        cashier = till.sign_in("1001", "1234")
        till.shifts.open(cashier, 0, at=clock.now())
        with pytest.raises(DomainError, match=r"雪碧 330ml \(SPRITE330\): 0 in stock, 1 on this sale") as err:
            till.scan(SPRITE)
        assert err.value.code == "no_stock" and till.sale is None
        _receive(till, ("SPRITE330", 2000, 200))
        till.scan(SPRITE, quantity=2000)
        with pytest.raises(DomainError, match="2 in stock, 3 on this sale"):
            till.scan(SPRITE)
        assert [l.quantity for l in till.sale.lines] == [2000]
        till.pay("cash")
        assert _on_hand(till, "SPRITE330") == 0


# --- alerts


def _watch(till, sku, minimum, supplier=None):
    manager = till.operators.get("9001")
    changes = {"minimum": minimum}
    if supplier:
        changes["supplier_id"] = supplier
    reorder.set_rule(till.store, sku, changes, operator=manager, at=till.clock.now())


def test_an_alert_is_raised_once_when_stock_crosses_below_the_point_and_cleared_on_replenishment(till):
    _receive(till, ("WATER550", 6000, 90))
    _watch(till, "WATER550", 3000)
    docs = []
    for _ in range(5):
        till.scan(WATER)
        docs.append(till.pay("cash"))
    # 6 -> 5, 4, 3 (not below 3), 2 (below: raised), 1 (still open: nothing new)
    assert [d.get("stock_alerts") for d in docs[:3]] == [None, None, None]
    assert docs[3]["stock_alerts"] == [{"sku": "WATER550", "state": "raised", "on_hand": 2000, "point": 3000,
                                        "name": "农夫山泉 550ml", "unit": "piece"}]
    assert "stock_alerts" not in docs[4]
    journaled = json.loads(till.store.scalar("SELECT payload FROM journal WHERE seq = ?", (docs[3]["journal_seq"],)))
    assert journaled["stock_alerts"][0]["state"] == "raised"  # queued upstream with the sale itself
    assert [(a.sku, a.on_hand, a.cleared_at) for a in reorder.alerts(till.store.conn)] == [("WATER550", 2000, None)]
    done = _receive(till, ("WATER550", 12000, 90))
    assert done["stock_alerts"][0]["state"] == "cleared" and done["stock_alerts"][0]["on_hand"] == 13000
    assert reorder.alerts(till.store.conn) == []
    cleared = reorder.alerts(till.store.conn, include_cleared=True)
    assert len(cleared) == 1 and cleared[0].cleared_at is not None


def test_an_alert_raised_by_a_refused_sale_is_not_kept(till):
    """The alert belongs to the sale's transaction: a sale that does not commit raises nothing."""
    _watch(till, "MILK1L", 5000)
    till.scan(MILK)
    with pytest.raises(DomainError):
        till.pay("voucher", reference="NO-SUCH-VOUCHER")
    assert reorder.alerts(till.store.conn) == []


def test_products_without_a_rule_raise_no_alerts(till):
    till.scan(BREAD)
    assert "stock_alerts" not in till.pay("cash")


# --- the ledger agrees with itself and with the sales


def test_check_finds_a_tampered_cache_and_a_sale_without_its_moves(till):
    till.scan(COLA)
    sold = till.pay("cash")
    assert stock_ledger.check(till.store.conn).problems == []
    till.store.conn.execute("UPDATE stock_levels SET on_hand = 7 WHERE sku = 'COLA330'")
    problems = stock_ledger.check(till.store.conn).problems
    assert problems == ["stock of COLA330: the cached on-hand is 0.007 but the ledger adds up to -1.000"]
    till.store.conn.execute("UPDATE stock_levels SET on_hand = -1000 WHERE sku = 'COLA330'")
    till.store.conn.execute("DROP TRIGGER stock_moves_no_delete")
    till.store.conn.execute("DELETE FROM stock_moves WHERE ref = ?", (sold["id"],))
    problems = stock_ledger.check(till.store.conn).problems
    assert any(f"receipt {sold['receipt_no']}: COLA330 should have moved -1.000" in p for p in problems)


def test_the_stock_ledger_equals_sales_plus_moves_on_generated_data(till, supervisor):
    rng = random.Random(6)
    skus = {COLA: "COLA330", SPRITE: "SPRITE330", WATER: "WATER550", MILK: "MILK1L", BREAD: "BREAD400"}
    sold_docs = []
    for step in range(60):
        roll = rng.random()
        if roll < 0.55:
            for _ in range(rng.randint(1, 3)):
                till.scan(rng.choice(list(skus)), quantity=rng.randint(1, 3) * 1000)
            sold_docs.append(till.pay("cash", 100000))
        elif roll < 0.65 and sold_docs:
            doc = rng.choice(sold_docs)
            try:
                return_with_receipt(till, doc["receipt_no"], [(1, 1000)], restock=rng.random() < 0.7)
            except DomainError:
                pass  # already returned or voided
        elif roll < 0.7 and sold_docs:
            try:
                post_void(till, sold_docs.pop()["receipt_no"], approver=supervisor, reason="test")
            except DomainError:
                pass
        elif roll < 0.85:
            _receive(till, (rng.choice(list(skus.values())), rng.randint(1, 20) * 1000, rng.randint(50, 900)))
        else:
            stock.adjust(till.store, till.settings, rng.choice(list(skus.values())), rng.choice([-1, 1]) * 1000,
                         "correction", operator=supervisor, at=till.clock.now())
        till.clock.advance(minutes=7)
    conn = till.store.conn
    kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM stock_moves")}
    assert kinds == {"sale", "return", "void", "receipt", "adjust"}  # the data exercises every path
    for sku in skus.values():
        from_sales = conn.execute(
            "SELECT coalesce(sum(CASE s.kind WHEN 'sale' THEN -l.quantity ELSE l.quantity END), 0) "
            "FROM sales s JOIN sale_lines l ON l.sale_id = s.id WHERE l.sku = ? AND (s.kind IN ('sale', 'void') "
            "OR (s.kind = 'return' AND EXISTS (SELECT 1 FROM stock_moves m WHERE m.ref = s.id)))",
            (sku,)).fetchone()[0]
        other = conn.execute("SELECT coalesce(sum(quantity), 0) FROM stock_moves WHERE sku = ? "
                             "AND kind IN ('receipt', 'adjust')", (sku,)).fetchone()[0]
        assert _on_hand(till, sku) == from_sales + other, sku
    assert stock_ledger.check(conn).problems == []
