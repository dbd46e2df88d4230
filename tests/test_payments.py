"""Tenders: cash with change and rounding, vouchers, stored value, split payments, plug-in tenders."""

from __future__ import annotations

import pytest

from appliance.core import members, vouchers
from appliance.core.tenders import Payment, Tender, TenderContext, round_cash
from appliance.core.till import Till
from appliance.errors import DomainError, InputError, NotFound
from tests.conftest import BREAD, CASHIER, COLA, GUM, RICE, WATER, seed


def _rows(till, sale_id):
    return till.store.conn.execute(
        "SELECT kind, amount, reference FROM payments WHERE sale_id = ? ORDER BY seq", (sale_id,)
    ).fetchall()


@pytest.mark.parametrize(
    "amount, step, mode, expected",
    [(1234, 10, "nearest", 1230), (1235, 10, "nearest", 1240), (1239, 10, "down", 1230),
     (1231, 10, "up", 1240), (1234, 1, "nearest", 1234), (1225, 50, "nearest", 1250), (1224, 50, "nearest", 1200)],
)
def test_cash_rounding(amount, step, mode, expected):
    assert round_cash(amount, step, mode) == expected


def test_cash_with_change_and_rounding(till):
    till.scan(BREAD)
    till.scan(WATER)
    till.scan(GUM)  # 9.90 + 2.00 + 2.50 = 14.40
    till.scan("APPLE", quantity=532)  # 6.81 -> total 21.21, cash rounds to 21.20
    doc = till.pay("cash", 5000)
    assert (doc["total"], doc["rounding"], doc["change"], doc["tendered"]) == (2121, -1, 2880, 5000)
    assert _rows(till, doc["id"]) == [("cash", 2120, "")]


def test_partial_cash_is_not_rounded(till):
    till.scan(RICE)
    assert till.pay("cash", 1003) is None
    assert till.remaining() == 3990 - 1003
    doc = till.pay("cash", 5000)
    assert doc["rounding"] == 3 and sum(a for _, a, _ in _rows(till, doc["id"])) == doc["total"] + doc["rounding"]


def test_only_cash_may_exceed_the_amount_due(till):
    vouchers.issue(till.store, "V50", 5000, at=till.clock.now())
    till.scan(BREAD)
    with pytest.raises(DomainError, match="no change") as err:
        till.pay("voucher", reference="V50")
    assert err.value.code == "exceeds_due"
    assert till.sale.payments == []


def test_split_voucher_and_cash(till):
    vouchers.issue(till.store, "V20", 2000, at=till.clock.now())
    till.scan(RICE)
    assert till.pay("voucher", reference="V20") is None
    doc = till.pay("cash", 2000)
    assert _rows(till, doc["id"]) == [("voucher", 2000, "V20"), ("cash", 1990, "")]
    assert till.store.scalar("SELECT redeemed_ref FROM vouchers WHERE code = 'V20'") == doc["id"]
    till.scan(RICE)
    with pytest.raises(DomainError, match="already been used"):
        till.pay("voucher", reference="V20")


def test_voucher_rules(till):
    vouchers.issue(till.store, "OLD", 500, at=till.clock.now(), expires_on="2026-01-31")
    till.scan(RICE)
    with pytest.raises(DomainError, match="expired on 2026-01-31"):
        till.pay("voucher", reference="OLD")
    with pytest.raises(NotFound):
        till.pay("voucher", reference="NOPE")
    with pytest.raises(InputError, match="voucher code"):
        till.pay("voucher")


def test_a_voucher_used_meanwhile_on_another_till_fails_the_commit_cleanly(till):
    vouchers.issue(till.store, "V10", 1000, at=till.clock.now())
    till.scan(RICE)
    till.pay("voucher", reference="V10")
    till.store.conn.execute("UPDATE vouchers SET redeemed_ref = 'other-till' WHERE code = 'V10'")
    sales_before = till.store.scalar("SELECT count(*) FROM sales")
    with pytest.raises(DomainError, match="another till"):
        till.pay("cash", 5000)
    assert till.store.scalar("SELECT count(*) FROM sales") == sales_before
    assert till.sale.payments == [] and till.remaining() == 3990  # back to a clean state
    assert till.pay("cash", 5000)["total"] == 3990


def test_stored_value_spends_the_balance_and_never_below_zero(till):
    member = members.add(till.store, "13800138000", "Wang", at=till.clock.now())
    members.top_up(till.store, member.id, 3000, at=till.clock.now(), ref="test")
    till.scan(RICE)
    with pytest.raises(DomainError, match="attach the member"):
        till.pay("stored_value")
    till.attach_member(member.phone)
    with pytest.raises(DomainError, match="only 30.00"):
        till.pay("stored_value", 3500)
    assert till.pay("stored_value") is None  # takes the whole 30.00 balance
    doc = till.pay("cash", 1000)
    assert members.balance(till.store.conn, member.id) == 0
    assert _rows(till, doc["id"])[0] == ("stored_value", 3000, member.id)


def test_unknown_tender_and_empty_sale(till):
    till.scan(COLA)
    with pytest.raises(InputError, match="unknown tender"):
        till.pay("bitcoin")
    till.void_line(1)
    with pytest.raises(DomainError, match="no items"):
        till.pay("cash")


def test_cash_amount_must_be_positive(till):
    till.scan(COLA)
    with pytest.raises(InputError, match="more than zero"):
        till.pay("cash", 0)


class FakeCardTender(Tender):
    """A stand-in card tender at the interface the card payments issue plugs into."""

    kind = "card"

    def __init__(self):
        self.authorised = []

    def take(self, due: int, amount, reference: str, ctx: TenderContext) -> Payment:
        self.authorised.append((ctx.sale_id, due))
        return Payment(kind="card", amount=due, masked_pan="476173******0119", card_token="tok_1", auth_code="123456")


def test_a_plug_in_tender_pays_and_its_card_line_is_kept(settings, store, clock):
    card = FakeCardTender()
    till = Till(settings, store, clock, extra_tenders={"card": card})
    seed(till)
    till.sign_in(*CASHIER)
    till.shifts.open(till.operator, 0, at=clock.now())
    till.scan(RICE)
    doc = till.pay("card")
    assert card.authorised == [(doc["id"], 3990)]
    row = store.conn.execute("SELECT masked_pan, card_token, auth_code FROM payments WHERE sale_id = ?", (doc["id"],)).fetchone()
    assert row == ("476173******0119", "tok_1", "123456")


def test_cash_between_the_exact_and_the_rounded_amount_settles(till):
    till.scan("APPLE", quantity=536)  # 6.86 -> 6.90; the customer hands 6.88
    doc = till.pay("cash", 688)
    assert (doc["rounding"], doc["change"], _rows(till, doc["id"])) == (2, 0, [("cash", 688, "")])


def test_the_same_voucher_or_balance_cannot_be_taken_twice_in_one_sale(till):
    vouchers.issue(till.store, "V5", 500, at=till.clock.now())
    member = members.add(till.store, "13800138000", "Wang", at=till.clock.now())
    members.top_up(till.store, member.id, 1000, at=till.clock.now(), ref="t")
    till.scan(RICE)
    till.attach_member(member.id)
    till.pay("voucher", reference="V5")
    with pytest.raises(DomainError, match="already on this sale"):
        till.pay("voucher", reference="V5")
    till.pay("stored_value", 800)
    with pytest.raises(DomainError, match="only 2.00"):
        till.pay("stored_value", 500)
    assert [p.kind for p in till.sale.payments] == ["voucher", "stored_value"]


@pytest.mark.parametrize("expires", ["31/12/2026", "2026-13-01", "soon"])
def test_voucher_expiry_must_be_a_date(till, expires):
    with pytest.raises(InputError, match="like 2026-12-31"):
        vouchers.issue(till.store, "VX", 100, at=till.clock.now(), expires_on=expires)
