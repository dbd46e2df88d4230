"""Returns against receipts, returns without one, and post-voids."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from appliance.core import members, vouchers
from appliance.core.returns import find_receipt, post_void, return_with_receipt, return_without_receipt, returnable
from appliance.core.sale import Discount
from appliance.errors import DomainError, InputError, NotFound, PermissionDenied
from tests.conftest import BREAD, COLA, RICE, SPRITE, WATER


def _stock(till, sku):
    return till.store.scalar("SELECT coalesce(sum(quantity), 0) FROM stock_moves WHERE sku = ?", (sku,))


def _sale(till, *codes, pay=("cash", None)):
    for code in codes:
        till.scan(code)
    return till.pay(*pay)


def test_partial_return_refunds_what_was_paid_and_restocks(till):
    sold = _sale(till, COLA, COLA, SPRITE, BREAD)  # 3 drinks for 9.00: each drink pays 3.00
    refund = return_with_receipt(till, sold["receipt_no"], [(1, 1000)], reason="wrong flavour")
    assert refund["kind"] == "return" and refund["original_id"] == sold["id"]
    assert refund["total"] == 300 and refund["lines"][0]["original_line_no"] == 1
    assert [(p["kind"], p["amount"]) for p in refund["payments"]] == [("cash", 300)]
    assert _stock(till, "COLA330") == -1000


def test_never_more_than_was_sold_over_several_returns(till):
    sold = _sale(till, RICE, RICE, RICE)
    return_with_receipt(till, sold["receipt_no"], [(1, 2000)])
    with pytest.raises(DomainError, match="only 1 left") as err:
        return_with_receipt(till, sold["receipt_no"], [(1, 2000)])
    assert err.value.code == "over_return"
    last = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    assert last["total"] == 3990
    with pytest.raises(DomainError, match="only 0 left"):
        return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    assert [r.left for r in returnable(till, find_receipt(till, sold["receipt_no"]))] == [0]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 4), min_size=1, max_size=7), st.integers(0, 1500))
def test_returns_in_pieces_refund_exactly_the_line(till, chunks, basket_off):
    """However a 7-piece line is returned, the refunds add up to exactly what it cost."""
    till.scan(COLA, quantity=7000)
    till.scan(BREAD)
    if basket_off:
        till.discount_basket(Discount(amount=min(basket_off, 1000), reason="test"), approver=till.approve("2001", "2468"))
    sold = till.pay("cash", 10000)
    left, refunded, tax = 7000, 0, 0
    for chunk in chunks:
        qty = min(chunk * 1000, left)
        if qty == 0:
            break
        doc = return_with_receipt(till, sold["receipt_no"], [(1, qty)], refund_to="original")
        refunded += doc["lines"][0]["amount"]
        tax += doc["lines"][0]["tax"]
        left -= qty
    if left:
        doc = return_with_receipt(till, sold["receipt_no"], [(1, left)])
        refunded += doc["lines"][0]["amount"]
        tax += doc["lines"][0]["tax"]
    assert refunded == sold["lines"][0]["amount"]
    assert tax == sold["lines"][0]["tax"]


def test_refund_goes_back_to_the_original_tenders(till):
    member = members.add(till.store, "13800138000", "Wang", at=till.clock.now())
    members.top_up(till.store, member.id, 2000, at=till.clock.now(), ref="t")
    vouchers.issue(till.store, "V15", 1500, at=till.clock.now())
    till.scan(RICE)
    till.attach_member(member.id)
    till.pay("stored_value")  # 20.00
    till.pay("voucher", reference="V15")  # 15.00
    sold = till.pay("cash", 1000)  # 4.90 -> cash rounds to 4.90
    assert members.balance(till.store.conn, member.id) == 0
    refund = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    kinds = [(p["kind"], p["amount"]) for p in refund["payments"]]
    assert kinds[:2] == [("stored_value", 2000), ("voucher", 1500)]
    assert kinds[2] == ("cash", 490)
    assert members.balance(till.store.conn, member.id) == 2000
    credit_note = refund["payments"][1]["reference"]
    assert credit_note.startswith("CN") and vouchers.find(till.store.conn, credit_note).value == 1500


def test_refund_all_in_cash_is_rounded_like_cash(till):
    till.scan("APPLE", quantity=532)  # 6.81
    sold = till.pay("cash", 1000)
    refund = return_with_receipt(till, sold["receipt_no"], [(1, 532)], refund_to="cash")
    assert refund["total"] == 681
    assert refund["payments"][0]["amount"] == 680 and refund["rounding"] == -1


def test_damaged_goods_are_not_restocked(till):
    sold = _sale(till, WATER)
    return_with_receipt(till, sold["receipt_no"], [(1, 1000)], restock=False)
    assert _stock(till, "WATER550") == -1000


def test_bad_return_requests(till):
    sold = _sale(till, WATER)
    with pytest.raises(NotFound, match="no receipt"):
        return_with_receipt(till, "T01-999999", [(1, 1000)])
    with pytest.raises(InputError, match="no line 9"):
        return_with_receipt(till, sold["receipt_no"], [(9, 1000)])
    with pytest.raises(InputError, match="whole pieces"):
        return_with_receipt(till, sold["receipt_no"], [(1, 500)])
    with pytest.raises(InputError, match="at least one"):
        return_with_receipt(till, sold["receipt_no"], [])
    with pytest.raises(InputError, match="refund_to"):
        return_with_receipt(till, sold["receipt_no"], [(1, 1000)], refund_to="bitcoin")
    refund = return_with_receipt(till, f" *{sold['receipt_no'].lower()}* ", [(1, 1000)])  # scanned barcode text
    with pytest.raises(DomainError, match="not a sale"):
        return_with_receipt(till, refund["receipt_no"], [(1, 1000)])


def test_late_returns_need_a_supervisor(till, supervisor):
    sold = _sale(till, WATER)
    till.clock.advance(days=31)
    with pytest.raises(PermissionDenied, match="more than 30 days"):
        return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    doc = return_with_receipt(till, sold["receipt_no"], [(1, 1000)], approver=supervisor)
    assert doc["approved_by"] == "2001"


def test_return_without_receipt_needs_a_supervisor_and_refunds_cash(till, supervisor):
    with pytest.raises(PermissionDenied, match="no receipt"):
        return_without_receipt(till, [(BREAD, 1000)], approver=None, reason="gift")
    with pytest.raises(InputError, match="reason"):
        return_without_receipt(till, [(BREAD, 1000)], approver=supervisor, reason=" ")
    doc = return_without_receipt(till, [(BREAD, 2000)], approver=supervisor, reason="gift, no receipt")
    assert doc["original_id"] is None and doc["total"] == 1980
    assert [(p["kind"], p["amount"]) for p in doc["payments"]] == [("cash", 1980)]


def test_post_void_needs_a_supervisor_and_undoes_everything(till, supervisor):
    vouchers.issue(till.store, "V5", 500, at=till.clock.now())
    till.scan(RICE)
    till.pay("voucher", reference="V5")
    sold = till.pay("cash", 5000)
    with pytest.raises(PermissionDenied, match="supervisor"):
        post_void(till, sold["receipt_no"], approver=None, reason="rang twice")
    void = post_void(till, sold["receipt_no"], approver=supervisor, reason="rang twice")
    assert void["kind"] == "void" and void["total"] == sold["total"] and void["rounding"] == sold["rounding"]
    assert [(p["kind"], p["amount"]) for p in void["payments"]] == [("voucher", 500), ("cash", 3490)]
    assert vouchers.find(till.store.conn, "V5").redeemed_ref is None  # the customer's voucher is good again
    assert _stock(till, "RICE5KG") == 0
    assert till.store.scalar("SELECT voided_by FROM sales WHERE id = ?", (sold["id"],)) == void["id"]
    with pytest.raises(DomainError, match="voided"):
        post_void(till, sold["receipt_no"], approver=supervisor, reason="again")
    with pytest.raises(DomainError, match="voided"):
        return_with_receipt(till, sold["receipt_no"], [(1, 1000)])


def test_post_void_refused_after_a_return_or_in_a_later_shift(till, supervisor):
    sold = _sale(till, WATER, BREAD)
    return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    with pytest.raises(DomainError, match="already has returns"):
        post_void(till, sold["receipt_no"], approver=supervisor, reason="x")
    other = _sale(till, WATER)
    till.shifts.close(supervisor, 0, at=till.clock.now())
    till.shifts.open(till.operator, 0, at=till.clock.now())
    with pytest.raises(DomainError, match="earlier shift"):
        post_void(till, other["receipt_no"], approver=supervisor, reason="x")


def test_cash_returned_in_parts_never_exceeds_the_cash_taken(till):
    till.scan("APPLE", quantity=482)  # 6.17
    till.scan("APPLE", quantity=482)  # 6.17 on a second weighed line
    sold = till.pay("cash", 2000)
    assert (sold["total"], sold["rounding"]) == (1234, -4)  # 12.34 paid with 12.30
    first = return_with_receipt(till, sold["receipt_no"], [(1, 482)])
    second = return_with_receipt(till, sold["receipt_no"], [(2, 482)])
    paid_back = [p["amount"] for doc in (first, second) for p in doc["payments"]]
    assert paid_back == [620, 610] and sum(paid_back) == 1230


def test_two_tills_returning_the_same_receipt_at_once_refund_it_once(till, settings, clock, monkeypatch):
    """The second till worked out its refund before the first committed: it must be refused."""
    from appliance.core import returns
    from appliance.store.db import Store
    from appliance.core.till import Till as TillClass
    from tests.conftest import CASHIER

    sold = _sale(till, RICE)
    real_post = returns.post
    with Store(settings.database_path) as other_store:
        other = TillClass(settings, other_store, clock)
        other.sign_in(*CASHIER)

        def racing_post(store, **kwargs):
            monkeypatch.setattr(returns, "post", real_post)
            return_with_receipt(other, sold["receipt_no"], [(1, 1000)])  # the other till wins the race
            return real_post(store, **kwargs)

        monkeypatch.setattr(returns, "post", racing_post)
        with pytest.raises(DomainError, match="another till meanwhile") as err:
            return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    assert err.value.code == "changed"
    assert till.store.scalar("SELECT count(*) FROM sales WHERE original_id = ?", (sold["id"],)) == 1


def test_a_post_void_racing_a_return_is_refused(till, supervisor, monkeypatch):
    from appliance.core import returns

    sold = _sale(till, RICE)
    real_post = returns.post

    def racing_post(store, **kwargs):
        monkeypatch.setattr(returns, "post", real_post)
        return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
        return real_post(store, **kwargs)

    monkeypatch.setattr(returns, "post", racing_post)
    with pytest.raises(DomainError, match="meanwhile"):
        post_void(till, sold["receipt_no"], approver=supervisor, reason="x")
    assert till.store.scalar("SELECT voided_by FROM sales WHERE id = ?", (sold["id"],)) is None
