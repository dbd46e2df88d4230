"""Learned reorder points (weekday-aware EWMA + safety stock), suppliers, rules and reorder suggestions."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from appliance.core import reorder, stock, stock_ledger
from appliance.core.reorder import ewma, forecast
from appliance.core.stock import ReceiptLine
from appliance.errors import InputError, NotFound, PermissionDenied
from tests.conftest import COLA, ZONE


def test_ewma_starts_at_the_first_value_and_weights_the_newest():
    assert ewma([2, 4, 6], 0.5) == 4.5  # 2 -> 3 -> 4.5
    assert ewma([], 0.3) == 0.0


def test_a_level_shift_is_followed_without_weekday_factors_getting_in_the_way():
    start = date(2026, 11, 2)  # a Monday: three whole weeks, every weekday alike
    history = [(start + timedelta(d), 1000 if d < 14 else 3000) for d in range(21)]
    fc = forecast(history, 0.5)
    assert fc.factors == pytest.approx((1.0,) * 7)
    assert fc.level == pytest.approx(3000 - 2000 / 2**7)  # seven halvings of the gap after the step


def test_no_sales_learn_a_point_of_zero():
    fc = forecast([(date(2026, 11, 2), 0)], 0.3)
    assert fc.point(date(2026, 11, 3), 3, 1.645) == 0


def _sell_history(till, days):
    """Four weeks of cola sales: 2 a day on weekdays, 4 on Saturdays and Sundays; returns 'today'."""
    first = datetime(2026, 10, 29, 12, 0, tzinfo=ZONE)  # a Thursday
    for d in range(days):
        till.clock.set(first + timedelta(days=d))
        till.scan(COLA, quantity=(4000 if (first + timedelta(days=d)).weekday() >= 5 else 2000))
        till.pay("cash", 10000)
    till.clock.set(first + timedelta(days=days))
    return (first + timedelta(days=days)).date()


def test_the_learned_point_matches_the_hand_computed_one(till):
    manager = till.operators.get("9001")
    reorder.add_supplier(till.store, till.settings, "ACME", "Acme Drinks", 3, operator=manager, at=till.clock.now())
    reorder.set_rule(till.store, "COLA330", {"supplier_id": "ACME", "pack_size": 6000}, operator=manager,
                     at=till.clock.now())
    stock.receive(till.store, till.settings, [ReceiptLine("COLA330", 77000, 200)], operator=manager,
                  at=datetime(2026, 10, 29, 8, 0, tzinfo=ZONE))
    today = _sell_history(till, 28)
    assert today.weekday() == 3  # Thursday
    # Hand computation (pieces): 20 weekdays of 2 and 8 weekend days of 4; mean 72/28 = 18/7.
    # Weekday factor 2/(18/7) = 7/9, weekend 4/(18/7) = 14/9: the deseasonalised series is 18/7
    # every day, so the EWMA level is 18/7 whatever alpha. Lead time 3 days from today:
    # Thu + Fri + Sat = 2 + 2 + 4 = 8. sigma = sqrt((20 (2 - 18/7)^2 + 8 (4 - 18/7)^2) / 28)
    # = sqrt(1120/1372) = 0.90351; z(95 %) = 1.64485; safety = 1.64485 x 0.90351 x sqrt(3) = 2.574.
    # Point = 8 + 2.574 = 10.574, rounded up to whole pieces: 11.
    sigma = math.sqrt(1120 / 1372)
    assert 8 + 1.6448536 * sigma * math.sqrt(3) == pytest.approx(10.574, abs=1e-3)
    with till.store.atomic() as conn:
        point = reorder.point_of(conn, till.settings, "COLA330", today)
        assert (point.point, point.lead_demand, point.source) == (11000, 8000, "learned")
        # 77 received - 72 sold = 5 on hand, below 11: order up to 11 + 8 = 19, need 14, packs of 6 -> 18.
        assert reorder.suggestions(conn, till.settings, today) == [
            reorder.Suggestion("ACME", "COLA330", "可口可乐 330ml", "piece", 5000, 11000, 19000, 18000)]
    # Stock fell below the point of its day once during the four weeks: one alert, still open.
    assert [a.sku for a in reorder.alerts(till.store.conn, include_cleared=True)] == ["COLA330"]


def test_a_fixed_minimum_overrides_the_learned_point_and_min_order_applies(till):
    manager = till.operators.get("9001")
    reorder.add_supplier(till.store, till.settings, "ACME", "Acme Drinks", None, operator=manager, at=till.clock.now())
    assert reorder.suppliers(till.store.conn) == [("ACME", "Acme Drinks", 3)]  # [stock] default_lead_days
    reorder.set_rule(till.store, "WATER550", {"minimum": 10000, "supplier_id": "ACME", "pack_size": 12000,
                                              "min_order": 30000}, operator=manager, at=till.clock.now())
    with till.store.atomic() as conn:
        today = reorder.today_of(till.settings, "2026-11-24T02:00:00.000Z")
        assert reorder.suggestions(conn, till.settings, today, "ACME") == [
            reorder.Suggestion("ACME", "WATER550", "农夫山泉 550ml", "piece", 0, 10000, 10000, 36000)]
        with pytest.raises(NotFound):
            reorder.suggestions(conn, till.settings, today, "NOBODY")


def test_rules_and_suppliers_need_a_manager_and_valid_values(till):
    manager, cashier = till.operators.get("9001"), till.operators.get("1001")
    now = till.clock.now()
    with pytest.raises(PermissionDenied):
        reorder.add_supplier(till.store, till.settings, "ACME", "Acme", 2, operator=cashier, at=now)
    with pytest.raises(InputError, match="supplier id"):
        reorder.add_supplier(till.store, till.settings, "a b", "Acme", 2, operator=manager, at=now)
    with pytest.raises(NotFound, match="no product with SKU 'NOPE'"):
        reorder.set_rule(till.store, "NOPE", {"minimum": 1000}, operator=manager, at=now)
    with pytest.raises(NotFound, match="no supplier 'GHOST'"):
        reorder.set_rule(till.store, "COLA330", {"supplier_id": "GHOST"}, operator=manager, at=now)
    with pytest.raises(InputError, match="whole pieces"):
        reorder.set_rule(till.store, "COLA330", {"minimum": 1500}, operator=manager, at=now)
    with pytest.raises(InputError, match="pack size"):
        reorder.set_rule(till.store, "COLA330", {"pack_size": 0}, operator=manager, at=now)
    assert reorder.set_rule(till.store, "APPLE", {"minimum": 2500}, operator=manager, at=now)["minimum"] == 2500
    assert stock_ledger.on_hand(till.store.conn, "APPLE") == 0
