"""Delivery orders: fed by head office into the store, found by the slip's barcode, paid once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core import delivery_orders
from appliance.core.delivery_orders import OrderItem, is_order_code
from appliance.errors import DomainError, NotFound
from appliance.sync import apply_orders
from appliance.sync.feeds import Item

ORDER = {"order_no": "A77", "items": [{"sku": "COLA330", "qty": 2}, {"sku": "WATER550", "qty": 1}], "total": 900,
         "paid": False}
AT = "2026-11-24T09:00:00.000Z"


def feed(store, settings, *bodies, version: int = 1) -> list[str]:
    items = [Item(str((body or {}).get("order_no", f"X{n}")), version + n, body) for n, body in enumerate(bodies)]
    with store.atomic():
        return apply_orders.apply(store, settings, items, AT)


@pytest.mark.parametrize("code", ["ORDA77", "ordA77", " ORDA77 ", "A77"])
def test_an_order_is_found_by_its_slip_barcode(store, settings, code):
    feed(store, settings, ORDER)
    order = delivery_orders.find(store.conn, code)
    assert order.order_no == "A77" and order.total == 900 and not order.paid
    assert order.items == (OrderItem("COLA330", 2), OrderItem("WATER550", 1))


def test_order_codes_are_told_from_product_barcodes():
    assert is_order_code("ORD1001") and is_order_code("ord9")
    assert not is_order_code("6900000000014")


def test_paying_an_order_is_an_event_and_a_second_scan_is_refused(store, settings):
    feed(store, settings, ORDER, {**ORDER, "order_no": "B1"})
    delivery_orders.mark_paid(store, "A77", "T01-000009", at=AT)
    kind, payload = store.conn.execute("SELECT kind, payload FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    assert kind == "delivery.paid" and '"receipt_no":"T01-000009"' in payload
    with pytest.raises(DomainError, match="already paid .receipt T01-000009"):
        delivery_orders.find(store.conn, "ORDA77")
    with pytest.raises(DomainError, match="already paid"):
        delivery_orders.mark_paid(store, "A77", "T01-000010", at=AT)
    assert delivery_orders.find(store.conn, "ORDB1").order_no == "B1"


def test_head_office_cannot_reopen_or_change_an_order_paid_here(store, settings):
    feed(store, settings, ORDER)
    delivery_orders.mark_paid(store, "A77", "T01-000009", at=AT)
    feed(store, settings, {**ORDER, "total": 1, "paid": False}, version=5)
    feed(store, settings, None, version=6)  # withdrawn: a paid order stays
    [order] = delivery_orders.orders(store.conn)
    assert order.paid and order.total == 900 and order.receipt_no == "T01-000009"


def test_an_order_paid_on_another_terminal_is_refused_here(store, settings):
    feed(store, settings, ORDER)
    feed(store, settings, {**ORDER, "paid": True, "receipt_no": "T02-000003"}, version=2)
    with pytest.raises(DomainError, match="T02-000003"):
        delivery_orders.find(store.conn, "ORDA77")


def test_unknown_orders_and_an_empty_store(store):
    assert delivery_orders.orders(store.conn) == []
    with pytest.raises(NotFound, match="no delivery order ORD5"):
        delivery_orders.find(store.conn, "ORD5")


@pytest.mark.parametrize("bad", [
    {"order_no": "1"},
    {"order_no": "1", "items": [], "total": 0, "paid": False},
    {"order_no": "1", "items": [{"sku": "X"}], "total": 0, "paid": False},
    {"order_no": "1", "items": [{"sku": "X", "qty": 0}], "total": 0, "paid": False},
])  # fmt: skip
def test_a_malformed_order_is_refused_naming_it_and_the_rest_applies(store, settings, bad):
    refused = feed(store, settings, bad, ORDER)
    assert len(refused) == 1 and "delivery order 1" in refused[0]
    assert [o.order_no for o in delivery_orders.orders(store.conn)] == ["A77"]


@settings(deadline=None, max_examples=40)  # each example migrates a fresh store: tens of milliseconds
@given(st.lists(st.tuples(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True), st.integers(1, 99)), min_size=1,
                max_size=5), st.integers(0, 10**7))
def test_any_well_formed_order_reads_back_as_sent(tmp_path_factory, items, total):
    from appliance.config import Settings
    from appliance.store.db import Store

    with Store(tmp_path_factory.mktemp("orders") / "t.db") as store:
        raw = {"order_no": "X1", "items": [{"sku": s, "qty": q} for s, q in items], "total": total, "paid": False}
        feed(store, Settings(), raw)
        order = delivery_orders.find(store.conn, "ORDX1")
    assert order.items == tuple(OrderItem(s, q) for s, q in items) and order.total == total
