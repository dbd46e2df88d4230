"""Wallet QR payments: customer- and merchant-presented, idempotent by order, refunded to the same wallet."""

from __future__ import annotations

import pytest

from acquirer.wallet import WalletSimulator
from appliance.core.returns import return_with_receipt
from appliance.core.till import Till
from appliance.core.wallet import WalletTender
from appliance.errors import DomainError, InputError
from tests.conftest import CASHIER, RICE, seed

CODE = "283456789012345678"


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def monotonic(self):
        return self.now


@pytest.fixture
def wallet():
    return WalletSimulator()


def make_till(settings, store, clock, tender):
    till = Till(settings, store, clock, extra_tenders={"wallet": tender})
    seed(till)
    till.sign_in(*CASHIER)
    till.shifts.open(till.operator, 0, at=clock.now())
    return till


def tender_for(wallet, **kwargs):
    fake = FakeTime()
    return WalletTender(wallet, sleep=fake.sleep, monotonic=fake.monotonic, poll_s=1, timeout_s=10, **kwargs)


def test_customer_presented_code_pays(settings, store, clock, wallet):
    till = make_till(settings, store, clock, tender_for(wallet))
    till.scan(RICE)
    doc = till.pay("wallet", reference=CODE)
    payment = doc["payments"][0]
    assert (payment["kind"], payment["amount"]) == ("wallet", 3990)
    assert payment["reference"] == f"{doc['id']}-1" and payment["auth_code"].startswith("W")
    assert store.scalar("SELECT amount FROM wallet_payments WHERE sale_id = ?", (doc["id"],)) == 3990


def test_a_declined_code_leaves_the_sale_open_and_the_next_try_uses_a_new_order(settings, store, clock, wallet):
    till = make_till(settings, store, clock, tender_for(wallet))
    till.scan(RICE)
    with pytest.raises(DomainError, match="insufficient balance") as err:
        till.pay("wallet", reference="283456789012340000")
    assert err.value.code == "wallet_declined" and till.sale.payments == []
    doc = till.pay("wallet", reference=CODE)
    assert doc["payments"][0]["reference"].endswith("-2")


def test_a_pending_payment_is_polled_until_paid(settings, store, clock, wallet):
    till = make_till(settings, store, clock, tender_for(wallet))
    till.scan(RICE)
    doc = till.pay("wallet", reference="283456789012349999")
    assert doc is not None and [c for c, _ in wallet.calls].count("query") >= 3


def test_merchant_presented_qr_times_out_and_is_cancelled(settings, store, clock, wallet):
    shown = []
    till = make_till(settings, store, clock, tender_for(wallet, show_qr=shown.append))
    till.scan(RICE)
    with pytest.raises(DomainError, match="cancelled"):
        till.pay("wallet")
    assert shown and shown[0].startswith("https://wallet.example/pay?order=")
    order_no = shown[0].split("order=")[1].split("&")[0]
    assert wallet.orders[order_no].status == "cancelled"


def test_merchant_presented_qr_paid_by_the_phone(settings, store, clock, wallet):
    def shopper_pays(qr):
        wallet.scan(qr.split("order=")[1].split("&")[0])

    till = make_till(settings, store, clock, tender_for(wallet, show_qr=shopper_pays))
    till.scan(RICE)
    assert till.pay("wallet")["payments"][0]["kind"] == "wallet"


def test_asking_again_after_a_restart_does_not_charge_twice(settings, store, clock, wallet):
    first = make_till(settings, store, clock, tender_for(wallet))
    first.scan(RICE)
    sale_id = first.sale.id
    wallet.pay(f"{sale_id}-1", 3990, CODE)  # the provider charged, then the till lost power before committing
    first.tenders["wallet"] = tender_for(wallet)  # a fresh tender: nothing remembered in memory
    doc = first.pay("wallet", reference=CODE)
    assert doc["payments"][0]["reference"] == f"{sale_id}-1"
    assert [c for c, o in wallet.calls if c == "pay"] == ["pay"]  # charged once


def test_refunds_go_back_to_the_same_wallet(settings, store, clock, wallet):
    till = make_till(settings, store, clock, tender_for(wallet))
    till.scan(RICE, quantity=2000)
    sold = till.pay("wallet", reference=CODE)
    refund = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])
    assert [(p["kind"], p["amount"], p["reference"]) for p in refund["payments"]] == [
        ("wallet", 3990, sold["payments"][0]["reference"])
    ]
    assert wallet.orders[sold["payments"][0]["reference"]].refunded == 3990
    assert store.scalar("SELECT refunded FROM wallet_payments WHERE sale_id = ?", (sold["id"],)) == 3990


def test_bad_codes_and_amounts(settings, store, clock, wallet):
    till = make_till(settings, store, clock, tender_for(wallet))
    till.scan(RICE)
    with pytest.raises(InputError, match="16 to 24 digits"):
        till.pay("wallet", reference="12ab")
    with pytest.raises(InputError, match="between"):
        till.pay("wallet", 5000, reference=CODE)
    with pytest.raises(DomainError, match="cannot show"):
        till.pay("wallet")  # no display to show a QR on: the customer's code must be scanned
