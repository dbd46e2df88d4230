"""Points at the till: earning, points as a tender, expiry, refunds, tiers and coupons."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from appliance.core import coupons, members, points
from appliance.core.points import EarnLine
from appliance.core.promotions import Promotion, save
from appliance.core.clock import iso
from appliance.core.returns import post_void, return_with_receipt
from appliance.core.till import Till
from appliance.display.receipt import receipt
from appliance.display.document import render_text
from appliance.errors import DomainError, InputError, PermissionDenied
from tests.conftest import BREAD, CASHIER, COLA, RICE, SUPERVISOR, make_settings, seed


def loyal_till(tmp_path, store_factory, clock, **loyalty) -> Till:
    settings = make_settings(tmp_path, loyalty=loyalty)
    till = Till(settings, store_factory(settings), clock)
    seed(till)
    till.shifts.open(till.sign_in(*CASHIER), 10000, at=clock.now())
    return till


@pytest.fixture
def stores():
    from appliance.store.db import Store

    opened = []

    def open_store(settings):
        opened.append(Store(settings.database_path))
        return opened[-1]

    yield open_store
    for s in opened:
        s.close()


@pytest.fixture
def member(till):
    return members.add(till.store, "13800138000", "张伟", at=till.clock.now())


def give(till, member_id, delta):
    return points.adjust(till.store, till.settings, member_id, delta, "opening", at=till.clock.now(),
                         operator=till.approve(*SUPERVISOR))


def sell(till, member_id, *codes, payments=(("cash", None),)):
    for code in codes:
        till.scan(code)
    if member_id:
        till.attach_member(member_id)
    doc = None
    for kind, amount in payments:
        doc = till.pay(kind, amount)
    return doc


def test_a_sale_earns_a_point_per_yuan_paid_and_prints_it(till, member):
    doc = sell(till, member.id, RICE)  # 39.90
    assert doc["loyalty"] == {"member_id": member.id, "earned": 39, "redeemed": 0, "balance": 39, "tier": ""}
    assert points.balance(till.store.conn, member.id) == 39
    text = "\n".join(render_text(receipt(doc, till.settings), 48))
    assert "积分余额 Points balance" in text and "+39" in text
    journaled = till.store.scalar("SELECT json_extract(payload, '$.loyalty.earned') FROM journal WHERE ref = ?",
                                  (doc["id"],))
    assert journaled == 39


def test_no_member_no_points_and_stored_value_earns_none(till, member):
    assert "loyalty" not in sell(till, None, RICE)
    members.top_up(till.store, member.id, 2000, at=till.clock.now(), ref="gift")
    doc = sell(till, member.id, RICE, payments=(("stored_value", 2000), ("cash", None)))
    assert doc["loyalty"]["earned"] == 19  # only the 19.90 in cash earns


def test_earn_rules_multipliers_exclusions_promotion_bonus_and_campaign(tmp_path):
    rules = make_settings(tmp_path, loyalty={
        "category_multipliers": {"snacks": 200, "household": 0}, "excluded_skus": ["BREAD400"],
        "promotion_bonus": 300, "campaigns": [{"from": "2026-12-01", "to": "2026-12-24", "multiplier": 200}],
    }).loyalty
    lines = [EarnLine("CHIPS70", "snacks", 1000, False), EarnLine("SOAP", "household", 1000, False),
             EarnLine("BREAD400", "bakery", 1000, False), EarnLine("COLA330", "drinks", 1000, True)]
    # 40.00 paid: snacks 10.00 x2 = 20, household 0, bread excluded, cola on promotion x3 = 30
    assert points.earned(lines, 4000, 4000, date(2026, 11, 30), rules, 2) == 50
    assert points.earned(lines, 4000, 4000, date(2026, 12, 24), rules, 2) == 100  # campaign doubles
    assert points.earned(lines, 4000, 2000, date(2026, 11, 30), rules, 2) == 25  # half paid in stored value
    assert points.earned(lines, 4000, 0, date(2026, 11, 30), rules, 2) == 0


def test_bad_loyalty_configuration_is_refused(tmp_path):
    from appliance.errors import ConfigError

    for bad in ({"tiers": [{"name": "gold", "threshold": 5, "discount": "5%"},
                           {"name": "silver", "threshold": 1, "discount": "2%"}]},
                {"campaigns": [{"from": "2026-12-24", "to": "2026-12-01", "multiplier": 200}]},
                {"category_multipliers": {"snacks": -1}}, {"redeem_rate": 0}):
        with pytest.raises(ConfigError):
            make_settings(tmp_path, loyalty=bad)


def test_points_pay_as_a_tender_within_the_rules(till, member):
    give(till, member.id, 500)
    till.scan(RICE)
    with pytest.raises(DomainError, match="attach the member"):
        till.pay("points", 300)
    till.attach_member(member.id)
    with pytest.raises(DomainError, match="at least 100 points") as low:
        till.pay("points", 50)
    assert low.value.code == "min_points"
    with pytest.raises(DomainError, match="only 500 points"):
        till.pay("points", 600)
    with pytest.raises(DomainError, match="no change"):
        till.pay("points", 5000)
    assert till.pay("points", 300) is None
    with pytest.raises(DomainError, match="only 200 points"):
        till.pay("points", 300)  # the 300 already taken on this sale count
    doc = till.pay("cash")
    assert [(p["kind"], p["amount"]) for p in doc["payments"]] == [("points", 300), ("cash", 3690)]
    assert doc["loyalty"]["redeemed"] == 300 and doc["loyalty"]["earned"] == 36
    assert points.balance(till.store.conn, member.id) == 500 - 300 + 36


def test_points_used_meanwhile_on_another_till_refuse_the_sale(till, member):
    give(till, member.id, 300)
    sell(till, member.id, RICE, payments=(("points", 300),))
    points.adjust(till.store, till.settings, member.id, -200, "spent elsewhere", at=till.clock.now(),
                  operator=till.approve(*SUPERVISOR))
    with pytest.raises(DomainError, match="take payment again"):
        till.pay("cash")
    assert points.balance(till.store.conn, member.id) == 100 and till.sale.payments == []


def test_balances_never_go_negative(till, member):
    give(till, member.id, 100)
    with pytest.raises(DomainError, match="only 100 points"):
        give(till, member.id, -101)
    with pytest.raises(InputError):
        give(till, member.id, 0)
    with pytest.raises(PermissionDenied):
        points.adjust(till.store, till.settings, member.id, 5, "x", at=till.clock.now(), operator=till.operator)
    with pytest.raises(sqlite3.IntegrityError):
        till.store.conn.execute("INSERT INTO points (member_id, delta, balance, kind, ref, at) "
                                "VALUES (?, -200, -100, 'adjust', 'x', 'x')", (member.id,))


def test_a_return_takes_back_the_points_of_the_returned_share_and_gives_back_redeemed_points(till, member):
    give(till, member.id, 1000)
    sold = sell(till, member.id, RICE, RICE, payments=(("points", 1000), ("cash", None)))  # 79.80: 10.00 in points
    assert sold["loyalty"]["earned"] == 69
    first = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])  # half the money back
    assert first["loyalty"]["taken_back"] == 34
    assert [(p["kind"], p["amount"]) for p in first["payments"]] == [("points", 1000), ("cash", 2990)]
    assert first["loyalty"]["given_back"] == 1000
    second = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    assert second["loyalty"]["taken_back"] == 35  # together exactly the 69 earned
    assert points.balance(till.store.conn, member.id) == 1000


def test_a_post_void_reverses_the_points_exactly(till, member, supervisor):
    give(till, member.id, 500)
    sold = sell(till, member.id, RICE, payments=(("points", 200), ("cash", None)))
    assert points.balance(till.store.conn, member.id) == 500 - 200 + 37
    void = post_void(till, sold["receipt_no"], approver=supervisor, reason="wrong member")
    assert void["loyalty"]["taken_back"] == 37 and void["loyalty"]["given_back"] == 200
    assert points.balance(till.store.conn, member.id) == 500


def test_take_back_is_capped_at_the_balance(till, member):
    sold = sell(till, member.id, RICE, RICE)  # earns 79
    give(till, member.id, -70)
    back = return_with_receipt(till, sold["receipt_no"], [(1, 2000)])
    assert back["loyalty"]["taken_back"] == 9 and back["loyalty"]["not_recovered"] == 70
    assert points.balance(till.store.conn, member.id) == 0


def test_points_expire_oldest_first_after_the_configured_months(till, member, clock):
    give(till, member.id, 100)
    clock.advance(days=180)
    give(till, member.id, 50)
    clock.advance(days=30)
    give(till, member.id, -120)  # spends the 100 that expire first, then 20 of the 50
    clock.advance(days=170)  # the first lot is past its year, but it is spent
    assert points.expire_all(till.store, till.settings, at=clock.now()) == {}
    assert points.available(till.store.conn, member.id, date(2027, 12, 1)) == 30  # the second lot lives on
    clock.advance(days=200)
    assert points.expire_all(till.store, till.settings, at=clock.now()) == {member.id: 30}
    assert points.balance(till.store.conn, member.id) == 0
    kinds = [k for (k,) in till.store.conn.execute("SELECT kind FROM points WHERE member_id = ? ORDER BY id",
                                                  (member.id,))]
    assert kinds == ["adjust", "adjust", "adjust", "expire"]


def test_add_months_clamps_to_the_month_end():
    assert points.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert points.add_months(date(2026, 11, 30), 14) == date(2028, 1, 30)


def test_tiers_give_member_prices_and_an_extra_discount(tmp_path, stores, clock):
    till = loyal_till(tmp_path, stores, clock, tiers=[{"name": "silver", "threshold": 5000, "discount": "5%"},
                                                      {"name": "gold", "threshold": 10 ** 6, "discount": "10%"}])
    save(till.store, [Promotion("T1", "timed_price", "Gold bread", {"sku": "BREAD400", "price": 500, "tier": "gold"},
                                members_only=True)], at=iso(clock.now()))
    till.reload_promotions()
    member = members.add(till.store, "13900139000", "Li", at=clock.now())
    first = sell(till, member.id, RICE)
    assert first["discount"] == 0 and first["loyalty"]["tier"] == ""
    sell(till, member.id, RICE)  # 79.80 in 12 months: silver
    assert till.store.scalar("SELECT tier FROM members WHERE id = ?", (member.id,)) == "silver"
    third = sell(till, member.id, BREAD, COLA, COLA, COLA)
    lines = {l["sku"]: l for l in third["lines"]}
    assert lines["BREAD400"]["promo_discount"] == 50 and lines["BREAD400"]["promotion"] == "silver 5%"  # not gold price
    assert lines["COLA330"]["promotion"].startswith("饮料")  # already on a promotion: no tier discount on top
    plain = sell(till, None, BREAD)
    assert "loyalty" not in plain and plain["lines"][0]["promo_discount"] == 0


@pytest.fixture
def coupon(till, member, supervisor):
    return coupons.issue(till.store, [member.id], amount=500, min_spend=3000, expires_on="2026-12-31",
                         at=till.clock.now(), operator=supervisor)[0]


def test_a_coupon_is_a_basket_discount_used_once(till, member, coupon):
    till.scan(RICE)
    till.attach_member(member.id)
    till.apply_coupon(coupon)
    doc = till.pay("cash")
    assert doc["discount"] == 500 and doc["total"] == 3490 and doc["coupon"] == coupon
    assert till.store.scalar("SELECT redeemed_ref FROM coupons WHERE code = ?", (coupon,)) == doc["id"]
    till.scan(RICE)
    till.attach_member(member.id)
    with pytest.raises(DomainError, match="already been used") as used:
        till.apply_coupon(coupon)
    assert used.value.code == "coupon_used"


def test_coupon_refusals(till, member, coupon, supervisor, clock):
    other = members.add(till.store, "13700137000", "Wang", at=clock.now())
    till.scan(BREAD)
    with pytest.raises(DomainError, match="another member"):
        till.apply_coupon(coupon)
    till.attach_member(member.id)
    with pytest.raises(DomainError, match="needs a spend of 30.00") as short:
        till.apply_coupon(coupon)
    assert short.value.code == "coupon_min_spend"
    with pytest.raises(LookupError):
        till.apply_coupon("CP0000000000")
    clock.advance(days=40)
    till.scan(RICE)
    with pytest.raises(DomainError, match="expired on 2026-12-31"):
        till.apply_coupon(coupon)
    with pytest.raises(InputError):
        coupons.issue(till.store, [other.id], amount=100, percent=1000, at=clock.now(), operator=supervisor)
    with pytest.raises(PermissionDenied):
        coupons.issue(till.store, [other.id], amount=100, at=clock.now(), operator=till.operator)
    with pytest.raises(LookupError):
        coupons.issue(till.store, ["nobody"], amount=100, at=clock.now(), operator=supervisor)


def test_a_coupon_raced_by_two_tills_is_used_once(till, member, coupon, settings, clock):
    other = Till(settings, till.store, clock)
    other.sign_in(*CASHIER)
    for t in (till, other):
        t.scan(RICE)
        t.attach_member(member.id)
        t.apply_coupon(coupon)
    till.pay("cash")
    with pytest.raises(DomainError, match="already been used") as late:
        other.pay("cash")
    assert late.value.code == "coupon_used"
    assert till.store.scalar("SELECT count(*) FROM sales WHERE kind = 'sale'") == 1
    with till.store.atomic() as conn, pytest.raises(DomainError, match="used on another till"):
        coupons.redeem(conn, coupon, ref="x", at="x")  # the guarded UPDATE itself, past every earlier check


def test_a_coupon_whose_basket_shrank_below_min_spend_is_refused_at_payment(till, member, coupon):
    till.scan(RICE)
    till.scan(BREAD)
    till.attach_member(member.id)
    till.apply_coupon(coupon)
    till.void_line(1)
    with pytest.raises(DomainError, match="needs a spend"):
        till.pay("cash")


def test_a_post_void_gives_the_coupon_back(till, member, coupon, supervisor):
    till.scan(RICE)
    till.attach_member(member.id)
    till.apply_coupon(coupon)
    sold = till.pay("cash")
    void = post_void(till, sold["receipt_no"], approver=supervisor, reason="mistake")
    assert void["loyalty"]["coupons_back"] == [coupon]
    assert coupons.find(till.store.conn, coupon).redeemed_ref is None


def test_a_percent_coupon_survives_suspend_and_resume(till, member, supervisor):
    code = coupons.issue(till.store, [member.id], percent=1000, at=till.clock.now(), operator=supervisor)[0]
    till.scan(RICE)
    till.attach_member(member.id)
    till.apply_coupon(code)
    sale_id = till.suspend()
    till.resume(sale_id)
    doc = till.pay("cash")
    assert doc["discount"] == 399 and coupons.find(till.store.conn, code).redeemed_ref == doc["id"]


def test_the_points_window_for_tiers_is_twelve_months(till, member, clock):
    from appliance.core import tiers

    sell(till, member.id, RICE)
    assert tiers.qualifying(till.store.conn, till.settings, member.id, clock.now()) == 3990
    assert tiers.qualifying(till.store.conn, till.settings, member.id, clock.now() + timedelta(days=366)) == 0
