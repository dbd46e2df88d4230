"""Crash recovery of the sale in progress: same lines, same payments, card payments reversed, nothing twice."""

from __future__ import annotations

from appliance.core import host_queue
from appliance.core.card import CardTender
from appliance.core.sale_snapshot import NAME, SaleSnapshot
from appliance.core.till import Till
from tests.card_till import Counter, card_till, chip
from tests.conftest import CASHIER, RICE, WATER
from tests.emv.personalise import card_pse_sda, test_terminal_config


def snapshotting(till: Till, folder) -> SaleSnapshot:
    snapshot = SaleSnapshot(folder)
    till.on_change = snapshot.save
    return snapshot


def test_the_sale_comes_back_after_a_crash_with_its_cash_payment(settings, store, clock, till, tmp_path):
    snapshot = snapshotting(till, tmp_path)
    till.scan(RICE)
    till.scan(WATER, quantity=2000)
    till.pay("cash", amount=1000)
    assert (tmp_path / NAME).exists()
    # The power goes. A new process opens the same database and folder.
    after = Till(settings, store, clock)
    after.sign_in(*CASHIER)
    snapshot = snapshotting(after, tmp_path)
    restored = snapshot.restore(after)
    assert restored is not None and restored.lines == 2 and restored.payments == 1
    assert [line.sku for line in after.sale.lines] == [line.sku for line in till.sale.lines]
    assert after.sale.id == till.sale.id and after.remaining() == till.remaining()
    doc = after.pay("cash")
    assert doc["payments"][0]["amount"] == 1000 and sum(p["amount"] for p in doc["payments"]) == doc["total"]
    assert not (tmp_path / NAME).exists() and snapshot.restore(after) is None


def test_a_sale_committed_just_before_the_crash_is_not_restored(settings, store, clock, till, tmp_path):
    snapshotting(till, tmp_path)
    till.scan(RICE)
    written = (tmp_path / NAME).read_text()
    till.pay("cash")
    (tmp_path / NAME).write_text(written)  # the file removal did not reach the disk
    after = Till(settings, store, clock)
    assert SaleSnapshot(tmp_path).restore(after) is None and after.sale is None
    assert not (tmp_path / NAME).exists()


def test_a_damaged_snapshot_is_kept_aside_not_half_restored(settings, store, clock, tmp_path):
    (tmp_path / NAME).write_text('{"sale": {"id": ')
    after = Till(settings, store, clock)
    assert SaleSnapshot(tmp_path).restore(after) is None and after.sale is None
    assert (tmp_path / "sale-in-progress.damaged").exists()


def test_card_payments_are_reversed_not_restored(settings, store, clock, bank, tmp_path):
    counter = Counter()
    till = card_till(settings, store, clock, bank, counter)
    snapshotting(till, tmp_path)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    till.pay("card", amount=1000)
    till.pay("cash", amount=500)
    # Restart: the card tender releases the armed reversal; the snapshot drops the card payment.
    tender = CardTender(store, counter, acquirer=bank.link(), emv=test_terminal_config(), rules=settings.payments,
                        token_key=b"k" * 32, clock=clock)
    after = Till(settings, store, clock, extra_tenders={"card": tender})
    restored = SaleSnapshot(tmp_path).restore(after)
    assert restored.reversed_cards == 1 and restored.payments == 1 and "reversed" in restored.message()
    assert [p.kind for p in after.sale.payments] == ["cash"]
    assert host_queue.pending(store.conn)["reversal"] == 1
    host_queue.drain(store, bank.link(), now=clock.now())
    assert bank.ledger.entries[-1].reversed
