"""Ringing up a sale: scans, quantities, weights, discounts with limits, overrides, member."""

from __future__ import annotations

import pytest

from appliance.cli.demo import label
from appliance.core.sale import Discount
from appliance.core.till import Till
from appliance.errors import AuthenticationFailed, DomainError, InputError, NotFound, PermissionDenied
from tests.conftest import BREAD, CASHIER, CHIPS, COLA, GUM, MILK, RICE, SUPERVISOR, WATER


def test_scanning_the_same_item_again_adds_to_its_line(till):
    till.scan(COLA)
    till.scan("69012341")  # the cola's EAN-8
    till.scan(WATER)
    assert [(l.sku, l.quantity) for l in till.sale.lines] == [("COLA330", 2000), ("WATER550", 1000)]


def test_quantity_key_before_the_scan(till):
    line = till.scan(RICE, quantity=3000)
    assert line.quantity == 3000
    assert till.priced().total == 3 * 3990


def test_piece_items_take_whole_quantities_only(till):
    with pytest.raises(InputError, match="whole number"):
        till.scan(COLA, quantity=1500)
    assert till.sale is None  # nothing started by a refused scan


def test_absurd_quantities_are_refused(till):
    with pytest.raises(InputError, match="999"):
        till.scan(COLA, quantity=1_000_000)
    with pytest.raises(InputError, match="more than zero"):
        till.scan(COLA, quantity=0)


def test_weighed_item_needs_a_weight(till):
    with pytest.raises(InputError, match="weigh") as err:
        till.scan("APPLE")
    assert err.value.code == "needs_weight"
    till.scan("APPLE", quantity=532)
    assert till.priced().lines[0].result.gross == 681  # 0.532 kg x 12.80 = 6.8096


def test_scale_labels_carry_weight_or_price(till):
    weighed = till.scan(label("22", "10002", 856))
    priced = till.scan(label("21", "30001", 2350))
    assert (weighed.sku, weighed.quantity, weighed.from_label) == ("BANANA", 856, True)
    assert (priced.sku, priced.unit_price, priced.quantity, priced.fixed_price) == ("DELI", 2350, 1000, True)
    with pytest.raises(DomainError, match="label"):
        till.set_quantity(weighed.line_no, 1000)


def test_unknown_code_is_refused_and_the_sale_unchanged(till):
    till.scan(COLA)
    with pytest.raises(NotFound, match="no product"):
        till.scan("6900000000991")
    with pytest.raises(InputError, match="check digit"):
        till.scan("6900000000015")
    assert len(till.sale.lines) == 1


def test_no_scan_without_an_operator_or_a_shift(settings, store, clock):
    from tests.conftest import seed

    t = Till(settings, store, clock)
    seed(t)
    with pytest.raises(DomainError, match="sign in"):
        t.scan(COLA)
    t.sign_in(*CASHIER)
    with pytest.raises(DomainError, match="open a shift") as err:
        t.scan(COLA)
    assert err.value.code == "no_shift"


def test_change_quantity_and_void_a_line(till):
    till.scan(COLA)
    till.scan(BREAD)
    till.set_quantity(1, 4000)
    assert till.priced().total == 4 * 350 - 0 + 990 - 150  # 3 for 9.00 applies to three of the four colas
    till.void_line(1)
    assert [l.line_no for l in till.sale.lines] == [2]
    assert till.priced().total == 990
    with pytest.raises(DomainError, match="no line 1"):
        till.void_line(1)
    doc = till.pay("cash")
    assert (doc["line_voids"], doc["line_void_amount"]) == (1, 4 * 350 - 150)


def test_a_discount_within_the_limit_needs_no_supervisor(till):
    till.scan(RICE)
    till.discount_line(1, Discount(percent=1000, reason="dented bag"))
    assert till.priced().total == 3990 - 399


def test_a_discount_above_the_limit_needs_a_supervisor(till, supervisor):
    till.scan(RICE)
    with pytest.raises(PermissionDenied, match="supervisor") as err:
        till.discount_line(1, Discount(percent=2000, reason="damaged"))
    assert err.value.code == "approval_required"
    assert till.priced().total == 3990  # refused: nothing changed
    cashier_as_approver = till.approve(*CASHIER)
    with pytest.raises(PermissionDenied, match="cashier"):
        till.discount_line(1, Discount(percent=2000, reason="damaged"), approver=cashier_as_approver)
    till.discount_line(1, Discount(percent=2000, reason="damaged"), approver=supervisor)
    doc = till.pay("cash")
    assert doc["approved_by"] == SUPERVISOR[0]
    assert doc["lines"][0]["note"] == "damaged"
    assert doc["total"] == 3990 - 798


def test_discounts_need_a_reason_and_sane_values(till):
    till.scan(RICE)
    with pytest.raises(InputError, match="reason"):
        till.discount_line(1, Discount(percent=500))
    with pytest.raises(InputError):
        till.discount_line(1, Discount(percent=-5, reason="x"))
    with pytest.raises(InputError):
        till.discount_line(1, Discount(percent=500, amount=100, reason="x"))
    with pytest.raises(InputError, match="more than the price"):
        till.discount_line(1, Discount(amount=5000, reason="x"))


def test_basket_discount_is_spread_over_the_lines(till):
    till.scan(RICE)
    till.scan(BREAD)
    till.discount_basket(Discount(amount=300, reason="loyal customer"))
    priced = till.priced()
    assert priced.total == 3990 + 990 - 300
    assert sum(l.result.basket_share for l in priced.lines) == 300


def test_price_override_beyond_the_limit_needs_a_supervisor(till, supervisor):
    till.scan(BREAD)
    till.override_price(1, 900, "shelf label said 9.00")  # within 10%
    assert till.priced().total == 900
    with pytest.raises(PermissionDenied):
        till.override_price(1, 500, "manager special")
    till.override_price(1, 500, "manager special", approver=supervisor)
    doc = till.pay("cash")
    assert doc["lines"][0]["unit_price"] == 500 and doc["lines"][0]["regular_price"] == 990
    assert "was 9.90" in doc["lines"][0]["note"]


def test_overridden_lines_take_no_promotion(till):
    till.scan(COLA, quantity=3000)
    till.override_price(1, 340, "price match")
    assert till.priced().lines[0].promo_discount == 0


def test_attach_member_and_members_only_promotions(till):
    till.store.conn.execute(
        "INSERT INTO promotions (id, kind, name, params, members_only) "
        "VALUES ('P3', 'category_percent', 'members fruit', '{\"category\": \"fruit\", \"percent\": 1000}', 1)"
    )
    till.reload_promotions()
    from appliance.core import members

    members.add(till.store, "138 0013 8000", "Wang", at=till.clock.now())
    till.scan("APPLE", quantity=1000)
    assert till.priced().total == 1280
    member = till.attach_member("13800138000")
    assert till.priced().total == 1280 - 128
    doc = till.pay("cash")
    assert doc["member_id"] == member.id
    till.scan(COLA)
    with pytest.raises(NotFound, match="no member"):
        till.attach_member("13999999999")
    assert till.sale.member_id is None


def test_wrong_pins_lock_the_operator_out(till):
    till.sign_out()
    for attempt in range(4):
        with pytest.raises(AuthenticationFailed, match="tries left"):
            till.sign_in(CASHIER[0], "0000")
    with pytest.raises(AuthenticationFailed, match="locked out") as err:
        till.sign_in(CASHIER[0], "0000")
    assert err.value.code == "locked"
    with pytest.raises(AuthenticationFailed, match="locked out"):
        till.sign_in(*CASHIER)  # even the right PIN waits
    till.clock.advance(minutes=16)
    assert till.sign_in(*CASHIER).code == CASHIER[0]
    kinds = [r[0] for r in till.store.conn.execute("SELECT kind FROM journal WHERE kind LIKE 'operator.%'")]
    assert "operator.locked" in kinds


def test_a_supervisor_can_unlock(till, supervisor):
    till.sign_out()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            till.sign_in(CASHIER[0], "0000")
    till.operators.unlock(CASHIER[0], by=supervisor, at=till.clock.now())
    assert till.sign_in(*CASHIER).role == "cashier"


def test_pins_are_stored_hashed(till):
    salt, digest = till.store.conn.execute("SELECT pin_salt, pin_hash FROM operators WHERE code = ?", (CASHIER[0],)).fetchone()
    assert CASHIER[1].encode() not in digest and len(digest) == 32 and len(salt) == 16


def test_cancel_before_payment_is_recorded(till):
    till.scan(COLA)
    till.scan(CHIPS)
    doc = till.cancel("customer changed mind")
    assert doc["kind"] == "cancel" and doc["reason"] == "customer changed mind"
    assert till.sale is None
    assert till.store.scalar("SELECT count(*) FROM stock_moves WHERE ref = ?", (doc["id"],)) == 0


def test_cannot_cancel_with_payments_taken(till):
    till.scan(RICE)
    till.pay("cash", 1000)
    with pytest.raises(DomainError, match="payments"):
        till.cancel()
    till.remove_payment(0)
    assert till.cancel()["kind"] == "cancel"


def test_suspend_and_resume_keep_the_sale_exactly(till, supervisor):
    till.scan(COLA, quantity=3000)
    till.scan(MILK)
    till.discount_line(2, Discount(amount=100, reason="near date"))
    before = till.priced().total
    sale_id = till.suspend("forgot wallet")
    assert till.sale is None and [s[0] for s in till.suspended()] == [sale_id]
    till.scan(WATER)
    till.pay("cash")
    resumed = till.resume(sale_id)
    assert resumed.id == sale_id and till.priced().total == before
    assert till.suspended() == []
    assert till.suspend("again") == sale_id  # a resumed sale can be suspended again
    till.resume(sale_id)
    doc = till.pay("cash")
    assert doc["id"] == sale_id


def test_a_suspended_sale_resumes_only_once(till):
    till.scan(COLA)
    sale_id = till.suspend()
    till.resume(sale_id)
    till.cancel()
    with pytest.raises(DomainError, match="no suspended sale"):
        till.resume(sale_id)


def test_nothing_to_suspend_or_pay(till):
    with pytest.raises(DomainError, match="no sale"):
        till.suspend()
    with pytest.raises(DomainError, match="no sale"):
        till.pay("cash")


def test_a_shift_closed_meanwhile_stops_the_sale_from_committing(till, supervisor):
    till.scan(COLA)
    till.shifts.close(supervisor, 10000, at=till.clock.now())  # e.g. a Z report from the command line
    with pytest.raises(DomainError, match="shift this sale started in was closed") as err:
        till.pay("cash", 1000)
    assert err.value.code == "shift_closed"
    assert till.store.scalar("SELECT count(*) FROM sales") == 0
    sale_id = till.suspend()
    till.shifts.open(till.operator, 0, at=till.clock.now())
    till.resume(sale_id)
    assert till.pay("cash", 1000)["total"] == 350


def test_an_approved_discount_cannot_grow_by_lowering_the_quantity(till, supervisor):
    till.scan(RICE, quantity=10000)
    till.discount_line(1, Discount(amount=3900, reason="bulk"))  # 9.8% of 399.00: within the limit
    with pytest.raises(PermissionDenied, match="more than was allowed") as err:
        till.set_quantity(1, 1000)  # the same 39.00 would now be 98% of the price
    assert err.value.code == "discount_grew"
    assert till.sale.lines[0].quantity == 10000 and till.priced().total == 39900 - 3900  # undone whole


def test_voiding_a_line_under_a_basket_discount_is_checked(till, supervisor):
    till.scan(RICE)
    till.scan(GUM)
    till.discount_basket(Discount(amount=400, reason="regular"))  # 9.4% of 42.40
    with pytest.raises(PermissionDenied):
        till.void_line(1)  # 4.00 off the 2.50 gum alone
    assert len(till.sale.lines) == 2
    till.discount_basket(Discount(amount=1000, reason="regular"), approver=supervisor)  # 23.6%, approved
    till.set_quantity(2, 2000)  # the base grows: fine
    with pytest.raises(PermissionDenied):
        till.void_line(1)  # 10.00 off 5.00 of gum is beyond the approved share
    assert till.pay("cash", 5000)["approved_by"] == "2001"


def test_a_replaced_discount_drops_its_approval(till, supervisor):
    till.scan(RICE)
    till.discount_line(1, Discount(percent=2000, reason="damaged"), approver=supervisor)
    till.discount_line(1, Discount(percent=500, reason="small dent"))
    assert till.pay("cash", 5000)["approved_by"] is None


def test_nothing_changes_the_total_once_payments_are_taken(till):
    from appliance.core import members

    members.add(till.store, "13800138000", "Wang", at=till.clock.now())
    till.scan("APPLE", quantity=1000)
    till.pay("cash", 500)
    for action in (lambda: till.scan(COLA), lambda: till.attach_member("13800138000"), lambda: till.void_line(1)):
        with pytest.raises(DomainError, match="payments were taken"):
            action()
    assert till.remaining() == 1280 - 500


def test_no_other_operator_signs_in_over_an_open_sale(till):
    till.scan(COLA)
    with pytest.raises(DomainError, match="before another operator"):
        till.sign_in(*SUPERVISOR)
    assert till.operator.code == CASHIER[0]


def test_after_a_lockout_runs_out_the_count_starts_again(till):
    till.sign_out()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            till.sign_in(CASHIER[0], "0000")
    assert [locked for code, *_, locked in till.operators.list(at=till.clock.now()) if code == CASHIER[0]] == [True]
    till.clock.advance(minutes=16)
    assert [locked for code, *_, locked in till.operators.list(at=till.clock.now()) if code == CASHIER[0]] == [False]
    with pytest.raises(AuthenticationFailed, match="4 tries left"):
        till.sign_in(CASHIER[0], "0000")


def test_weighed_goods_take_their_weight_from_the_scale(till):
    from appliance.hal import registry
    from appliance.hal.scale_serial import stable_weight

    scale = registry.create("scale", "scale", "sim://scale")
    scale.place(532)
    till.weigher = lambda: stable_weight(scale, samples=2, timeout=1, interval=0)
    line = till.scan("APPLE")
    assert line.quantity == 532 and till.priced().lines[0].result.gross == 681
    scale.place(0)
    with pytest.raises(InputError, match="on the scale"):
        till.scan("BANANA")
