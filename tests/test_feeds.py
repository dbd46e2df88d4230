"""Downstream feeds end to end: head office publishes or derives, terminals pull with cursors and apply, on both databases."""

from __future__ import annotations

import json

import pytest

from appliance.core import coupons, delivery_orders, members, points
from appliance.core.clock import iso
from appliance.core.till import Till
from appliance.errors import DomainError
from appliance.store.db import Store
from appliance.sync.client import enroll, read_secret
from appliance.sync.drain import Target, drain
from appliance.sync.feeds import cursor, pull, pull_all
from appliance.sync.outbox import SyncState
from hq import feeds
from tests.conftest import CASHIER, MANAGER, RICE, SUPERVISOR, WATER, make_settings, seed

CATALOG = """sku,name,barcodes,unit,price,tax_class
COLA330,可口可乐 330ml,6900000000014,piece,4.00,standard
TEA9,乌龙茶 500ml,6900000009994,piece,5.50,standard
BAD1,坏的,,piece,1.00,no-such-class
"""


class Terminal:
    """A till with its own database and device id, enrolled at head office for `store`."""

    def __init__(self, tmp_path, hq, clock, device: str, store: str):
        folder = tmp_path / device
        self.settings = make_settings(folder, device={"id": device})
        self.store = Store(self.settings.database_path)
        self.till = Till(self.settings, self.store, clock)
        seed(self.till)
        self.till.shifts.open(self.till.sign_in(*CASHIER), 10000, at=clock.now())
        enroll(hq.url, hq.storage.new_enrollment_code(store), device, folder / "device.secret")
        self.target = Target(hq.url, device, read_secret(folder / "device.secret"), batch_max_events=200, timeout_s=5)
        self.state = SyncState(folder / "sync.json")
        self.clock = clock

    def now(self) -> str:
        return iso(self.clock.now())

    def sync(self, hq) -> None:
        """Send everything up, let head office version what it derived, and pull every feed."""
        assert drain(self.store, self.state, self.target, now=self.now).error is None
        feeds.refresh(hq.storage)
        return pull_all(self.store, self.settings, self.target, now=self.now)

    def sell(self, *codes: str, member: str | None = None, coupon: str | None = None) -> dict:
        for code in codes:
            self.till.scan(code)
        if member:
            self.till.attach_member(member)
        if coupon:
            self.till.apply_coupon(coupon)
        return self.till.pay("cash")


@pytest.fixture
def shop(tmp_path, hq, clock):
    a = Terminal(tmp_path, hq, clock, "T01", "shop-1")
    b = Terminal(tmp_path, hq, clock, "T02", "shop-1")
    c = Terminal(tmp_path, hq, clock, "T03", "shop-2")
    yield hq, a, b, c
    for terminal in (a, b, c):
        terminal.store.close()


def test_catalog_head_office_wins_and_a_row_this_terminal_cannot_sell_is_refused(shop, tmp_path):
    hq, a, _, _ = shop
    before = a.till.catalog.by_barcode("6900000000014").price
    hq.storage.publish("catalog", "", feeds.catalog_items(CATALOG))
    [result] = [r for r in a.sync(hq) if r.feed == "catalog"]
    assert result.applied == 2 and len(result.refused) == 1 and "BAD1" in result.refused[0]
    assert "no-such-class" in result.refused[0]
    assert before != 400 and a.till.catalog.by_barcode("6900000000014").price == 400
    assert a.till.catalog.by_barcode("6900000009994").name == "乌龙茶 500ml"
    assert a.store.scalar("SELECT count(*) FROM journal WHERE kind = 'catalog.imported'") == 2  # seed + feed
    assert cursor(a.store, "catalog") == result.version > 0
    again = pull(a.store, a.settings, a.target, "catalog", now=a.now)
    assert again.applied == 0 and again.version == result.version  # nothing new: nothing applied twice


def test_pages_follow_the_cursor_and_each_page_commits_with_it(shop, monkeypatch):
    hq, a, _, _ = shop
    rows = "\n".join(f"P{n:03d},商品{n},,piece,1.{n % 100:02d},standard" for n in range(25))
    hq.storage.publish("catalog", "", feeds.catalog_items("sku,name,barcodes,unit,price,tax_class\n" + rows))
    monkeypatch.setattr("appliance.sync.feeds.PAGE", 10)
    done = pull(a.store, a.settings, a.target, "catalog", now=a.now)
    assert done.applied == 25 and cursor(a.store, "catalog") == done.version
    assert a.store.scalar("SELECT count(*) FROM journal WHERE kind = 'catalog.imported'") == 1 + 3  # three pages


def test_a_page_that_fails_to_apply_leaves_the_cursor_and_the_store_as_they_were(shop, monkeypatch):
    hq, a, _, _ = shop
    hq.storage.publish("catalog", "", feeds.catalog_items(CATALOG))

    def power_cut(*args, **kwargs):
        raise OSError("disk I/O error")

    monkeypatch.setattr("appliance.sync.apply_catalog.import_csv", power_cut)
    with pytest.raises(OSError):
        pull(a.store, a.settings, a.target, "catalog", now=a.now)
    monkeypatch.undo()
    assert cursor(a.store, "catalog") == 0 and a.till.catalog.by_barcode("6900000009994") is None
    assert pull(a.store, a.settings, a.target, "catalog", now=a.now).applied == 2


def test_promotions_apply_and_a_malformed_one_is_refused(shop):
    hq, a, _, _ = shop
    good = {"id": "HQ-1", "kind": "multi_price", "name": "两瓶8元", "params": {"skus": ["COLA330"], "n": 2,
                                                                           "price": 800}}
    bad = {"id": "HQ-2", "kind": "multi_price", "name": "broken", "params": {}}
    hq.storage.publish("promotions", "", feeds.promotion_items(json.dumps([good, bad])))
    [result] = [r for r in a.sync(hq) if r.feed == "promotions"]
    assert result.applied == 1 and "HQ-2" in result.refused[0]
    assert a.store.scalar("SELECT name FROM promotions WHERE id = 'HQ-1' AND active = 1") == "两瓶8元"
    hq.storage.publish("promotions", "", [("HQ-1", None)])  # withdrawn
    a.sync(hq)
    assert a.store.scalar("SELECT active FROM promotions WHERE id = 'HQ-1'") == 0


def test_a_member_registered_in_one_shop_earns_and_spends_everywhere_with_one_balance(shop):
    hq, a, b, c = shop
    member = members.add(a.store, "13800138000", "张伟", at=a.clock.now())
    a.sell(RICE, member=member.id)  # earns 39 points at T01
    a.sync(hq)
    for terminal in (b, c):
        terminal.sync(hq)
        assert members.get(terminal.store.conn, member.id).name == "张伟"
        assert points.balance(terminal.store.conn, member.id) == 39
    points.adjust(b.store, b.settings, member.id, -30, "gift", at=b.clock.now(), operator=b.till.approve(*SUPERVISOR))
    c.sell(WATER, member=member.id)  # earns 2 at T03 (another store of the chain)
    for terminal in (b, c, a, b, c):
        terminal.sync(hq)
    balances = {t.settings.device.id: points.balance(t.store.conn, member.id) for t in (a, b, c)}
    assert balances == {"T01": 11, "T02": 11, "T03": 11}
    # Nothing a terminal brought in from elsewhere went back up as its own.
    shares = dict(hq.storage.query("SELECT device, points FROM member_ledger WHERE member_id = ?", (member.id,)))
    assert shares == {"T01": 39, "T02": -30, "T03": 2}


def test_a_member_erased_in_one_shop_is_erased_everywhere(shop):
    from appliance.core import privacy

    hq, a, b, _ = shop
    member = members.add(a.store, "13800138001", "李娜", at=a.clock.now())
    a.sync(hq)
    b.sync(hq)
    privacy.erase(a.store, a.settings, member.id, "her request", at=a.clock.now(), operator=a.till.approve(*MANAGER))
    a.sync(hq)
    b.sync(hq)
    row = b.store.conn.execute("SELECT phone, name, erased_at FROM members WHERE id = ?", (member.id,)).fetchone()
    assert row[0] == f"erased:{member.id}" and row[1] == "" and row[2]


def test_the_same_phone_registered_in_two_shops_is_refused_not_merged(shop):
    hq, a, b, _ = shop
    members.add(a.store, "13900139000", "王芳", at=a.clock.now())
    mine = members.add(b.store, "13900139000", "王芳 (B)", at=b.clock.now())
    a.sync(hq)
    [result] = [r for r in b.sync(hq) if r.feed == "members"]
    assert any("13900139000" in problem and "merge them by hand" in problem for problem in result.refused)
    assert members.find(b.store.conn, "13900139000").id == mine.id


def test_a_coupon_from_head_office_is_used_once_in_the_whole_chain(shop):
    hq, a, b, _ = shop
    member = members.add(a.store, "13700137000", "赵敏", at=a.clock.now())
    a.sync(hq)
    feeds.publish_coupons(hq.storage, feeds.coupon_items(json.dumps(
        [{"code": "cp-hq-1", "member_id": member.id, "amount": 500, "percent": 0, "min_spend": 0}])))
    a.sync(hq)
    b.sync(hq)
    assert coupons.find(b.store.conn, "CP-HQ-1").redeemed_ref is None
    doc = a.sell(RICE, member=member.id, coupon="CP-HQ-1")
    a.sync(hq)
    b.sync(hq)
    assert coupons.find(b.store.conn, "CP-HQ-1").redeemed_ref == doc["id"]
    b.till.scan(RICE)
    b.till.attach_member(member.id)
    with pytest.raises(DomainError):
        b.till.apply_coupon("CP-HQ-1")


def test_delivery_orders_reach_their_store_only_and_a_payment_closes_them_for_the_store(shop, tmp_path):
    hq, a, b, c = shop
    order = {"order_no": "W100", "items": [{"sku": "WATER550", "qty": 2}], "total": 400, "paid": False}
    hq.storage.publish("delivery_orders", "shop-1", feeds.order_items(json.dumps([order])))
    for terminal in (a, b, c):
        terminal.sync(hq)
    assert [o.order_no for o in delivery_orders.orders(a.store.conn)] == ["W100"]
    assert delivery_orders.orders(c.store.conn) == []  # shop-2's terminal never sees shop-1's orders
    delivery_orders.mark_paid(a.store, "W100", "T01-000001", at=a.now())
    a.sync(hq)
    b.sync(hq)
    with pytest.raises(DomainError, match="already paid .receipt T01-000001"):
        delivery_orders.find(b.store.conn, "ORDW100")


def test_a_feed_request_not_signed_by_an_enrolled_device_is_refused(hq):
    status, answer = hq.request("GET", "/v1/feeds/catalog?since=0", headers={"X-Device": "ghost",
                                                                             "X-Signature": "00" * 32})
    assert status == 401 and answer["error"] == "unauthorized"
