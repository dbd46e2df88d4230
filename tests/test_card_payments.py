"""Card payments at the till: chip, tap and swipe against the reference acquirer, and every way they go wrong.

The kernels, the ISO 8583 link and the acquirer are the real ones; the cards are the
emulated EMV cards. What is checked is what the merchant and the customer live with:
money taken once, reversed when the till cannot keep it, offline approvals within the
caps and uploaded later, refunds only to the card that paid.
"""

from __future__ import annotations

import pytest

from appliance.core import card_batch, host_queue, offline
from appliance.core.card import CardTender
from appliance.core.tenders import TenderContext
from appliance.core.returns import post_void, return_with_receipt
from appliance.display.report import batch_report
from appliance.display.document import render_text
from appliance.emv.model import AidConfig
from appliance.errors import DomainError
from tests.card_till import card_till, chip, swipe, tap
from tests.conftest import RICE, SUPERVISOR, WATER, make_settings
from tests.emv.contactless_cards import MastercardCard, VisaCard, tap_config
from tests.emv.keys import APPROVE, DECLINE
from tests.emv.personalise import (MASTERCARD_AID, VISA_AID, card_declined, card_no_pse_dda_offline_pin,
                                   card_pse_sda, test_terminal_config)


def offline_settings(tmp_path, **payments):
    return make_settings(tmp_path, payments={"offline_limit": 10000, "offline_total": 15000, "offline_count": 5,
                                             **payments})


# A terminal whose default action lets the card approve when the bank cannot be reached.
OFFLINE_CAPABLE = test_terminal_config(aids=(AidConfig(VISA_AID, "VISA", tac_default=bytes(5)),
                                             AidConfig(MASTERCARD_AID, "MASTERCARD", tac_default=bytes(5))))


def due(store) -> dict[str, int]:
    return host_queue.pending(store.conn)


def test_chip_payment_approved_online(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_no_pse_dda_offline_pin()))
    counter.pins.append("1234")
    till.scan(RICE)
    doc = till.pay("card")
    payment = doc["payments"][0]
    assert payment["kind"] == "card" and payment["amount"] == 3990
    assert payment["masked_pan"] == "476173******0119" and len(payment["auth_code"]) == 6
    row = store.conn.execute("SELECT interface, amount, decision, response_code, offline, sale_id FROM card_auths"
                             ).fetchone()
    assert row == ("contact", 3990, "approved", "00", 0, doc["id"])
    entry = bank.ledger.entries[-1]
    assert (entry.amount, entry.response_code, entry.reversed) == (3990, "00", False)
    assert due(store) == {"reversal": 0, "advice": 0}  # the armed reversal was disarmed by the sale
    assert counter.amounts == [3990]


def test_bank_decline_keeps_the_sale_open_and_reverses_nothing(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_declined()))
    till.scan(RICE)
    with pytest.raises(DomainError, match=r"declined by the bank \(05\)") as err:
        till.pay("card")
    assert err.value.code == "card_declined" and till.sale is not None and till.sale.payments == []
    assert due(store) == {"reversal": 0, "advice": 0}
    counter.cards.append(chip(card_pse_sda()))
    assert till.pay("card") is not None  # another card pays


def test_no_answer_declines_and_the_reversal_is_sent_when_the_bank_answers_again(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter, timeout=0.3)
    bank.server.set_faults(slow=1.0, fail_next=1)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    with pytest.raises(DomainError, match="no answer from the bank"):
        till.pay("card")
    assert due(store)["reversal"] == 1
    assert bank.ledger.entries[-1].response_code == "00" and not bank.ledger.entries[-1].reversed  # the host approved it
    report = host_queue.drain(store, bank.link(), now=clock.now())
    assert report.sent == 1 and due(store)["reversal"] == 0
    assert bank.ledger.entries[-1].reversed  # the customer's money is released


def test_garbage_from_the_bank_is_treated_as_no_answer(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    bank.server.set_faults(garbage=True, fail_next=1)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    with pytest.raises(DomainError, match="will be reversed"):
        till.pay("card")
    assert due(store)["reversal"] == 1


def test_a_reversal_is_retried_with_backoff_until_acknowledged(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter, timeout=0.3)
    bank.server.set_faults(slow=1.0, fail_next=1)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    with pytest.raises(DomainError):
        till.pay("card")
    bank.down()
    first = host_queue.drain(store, bank.link(), now=clock.now())
    assert first.sent == 0 and first.failed == 1 and "cannot connect" in first.last_error
    assert host_queue.drain(store, bank.link(), now=clock.now()).failed == 0  # not due again yet
    bank.up()
    clock.advance(seconds=host_queue.FIRST_RETRY_S + 1)
    assert host_queue.drain(store, bank.link(), now=clock.now()).sent == 1
    assert bank.ledger.entries[-1].reversed


def test_card_pulled_after_the_bank_approved_is_reversed(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_no_pse_dda_offline_pin(pull_at="EXTERNAL AUTHENTICATE")))
    counter.pins.append("1234")
    till.scan(RICE)
    with pytest.raises(DomainError, match="card removed"):
        till.pay("card")
    assert bank.ledger.entries[-1].response_code == "00"
    assert due(store)["reversal"] == 1


def test_a_card_payment_handed_back_is_reversed(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    assert till.pay("card", amount=1000) is None  # split: 10.00 on the card, the rest to come
    till.remove_payment(0)
    assert due(store)["reversal"] == 1
    host_queue.drain(store, bank.link(), now=clock.now())
    assert bank.ledger.entries[-1].reversed


def test_an_approval_the_till_never_committed_is_reversed_after_a_restart(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    till.pay("card", amount=1000)  # authorised; then the power goes before the sale completes
    assert due(store)["reversal"] == 0  # armed, not yet due: the sale is still in progress
    CardTender(store, counter, acquirer=bank.link(), emv=test_terminal_config(), rules=settings.payments,
               token_key=b"k" * 32, clock=clock)  # the next start
    assert due(store)["reversal"] == 1


def test_split_tender_card_and_cash(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    till.pay("card", amount=2000)
    doc = till.pay("cash", amount=2000)
    assert [(p["kind"], p["amount"]) for p in doc["payments"]] == [("card", 2000), ("cash", 1990)]


def test_unreachable_bank_approves_offline_within_the_caps_and_uploads_the_advice_later(tmp_path, store, clock, bank,
                                                                                         counter):
    settings = offline_settings(tmp_path)
    till = card_till(settings, store, clock, bank, counter, emv=OFFLINE_CAPABLE)
    bank.down()
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    doc = till.pay("card")
    payment = doc["payments"][0]
    assert payment["auth_code"] == "Y3"
    assert store.conn.execute("SELECT offline, decision FROM card_auths").fetchone() == (1, "approved_offline")
    exposure = offline.exposure(store.conn)
    assert (exposure.count, exposure.total) == (1, 3990)
    assert "Offline payments at risk: 1, 39.90" in exposure.banner(2)
    sealed = store.scalar("SELECT sealed_card FROM host_queue WHERE kind = 'advice'")
    assert sealed and APPROVE.encode() not in sealed
    bank.up()
    report = host_queue.drain(store, bank.link(), now=clock.now())
    assert report.sent == 1 and not report.declined
    entry = bank.ledger.entries[-1]
    assert (entry.kind, entry.masked_pan, entry.amount) == ("advice", "476173******0119", 3990)
    assert offline.exposure(store.conn).count == 0
    assert store.scalar("SELECT sealed_card FROM host_queue WHERE kind = 'advice'") is None  # forgotten once delivered


def test_beyond_the_offline_caps_the_payment_is_declined_with_the_reason(tmp_path, store, clock, bank, counter):
    settings = offline_settings(tmp_path, offline_total=10000)
    till = card_till(settings, store, clock, bank, counter, emv=OFFLINE_CAPABLE)
    bank.down()
    till.scan(RICE)
    till.scan(RICE)
    till.scan(RICE)  # 119.70: above the 100.00 offline limit
    counter.cards.append(chip(card_pse_sda()))
    with pytest.raises(DomainError, match="cannot be reached and the amount is above the offline limit"):
        till.pay("card")
    counter.cards.append(chip(card_pse_sda()))
    till.pay("card", amount=9000)  # within the limit and the total
    counter.cards.append(chip(card_pse_sda()))
    with pytest.raises(DomainError, match="too much money is already waiting"):  # 90.00 on this very sale counts
        till.pay("card")


def test_no_sealing_key_means_no_offline_approval(tmp_path, store, clock, bank, counter):
    settings = offline_settings(tmp_path)
    till = card_till(settings, store, clock, bank, counter, emv=OFFLINE_CAPABLE, seal=False)
    bank.down()
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    with pytest.raises(DomainError, match="offline approvals are not set up"):
        till.pay("card")


def test_an_advice_the_issuer_declines_is_reported_and_journaled(tmp_path, store, clock, bank, counter):
    settings = offline_settings(tmp_path)
    till = card_till(settings, store, clock, bank, counter, emv=OFFLINE_CAPABLE)
    bank.down()
    counter.cards.append(chip(card_declined()))
    till.scan(WATER)
    till.pay("card")
    bank.up()
    report = host_queue.drain(store, bank.link(), now=clock.now())
    assert [(d["response_code"], d["masked_pan"]) for d in report.declined] == [("05", "476173******0127")]
    kind, payload = store.conn.execute("SELECT kind, payload FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    assert kind == "card.advice_declined" and "476173******0127" in payload and DECLINE not in payload


def test_swipes_are_never_approved_offline(tmp_path, store, clock, bank, counter):
    settings = offline_settings(tmp_path)
    till = card_till(settings, store, clock, bank, counter)
    bank.down()
    counter.cards.append(swipe(b";4761739001010119=29121010000000000000?"))
    till.scan(WATER)
    with pytest.raises(DomainError, match="swiped cards are never approved offline") as err:
        till.pay("card")
    assert err.value.code == "card_offline"


def test_a_swiped_chip_card_is_told_to_use_the_chip_unless_the_chip_failed_and_fallback_is_allowed(
        tmp_path, store, clock, bank, counter):
    settings = make_settings(tmp_path, payments={"fallback_to_swipe": True})
    till = card_till(settings, store, clock, bank, counter)
    chip_track = b";4761739001010119=29122010000000000000?"  # service code 201: chip card
    counter.cards.append(swipe(chip_track))
    till.scan(WATER)
    with pytest.raises(DomainError) as err:
        till.pay("card")
    assert err.value.code == "use_chip"
    counter.cards.append(chip(card_pse_sda(pull_at="GET PROCESSING OPTIONS")))  # the chip cannot be read
    with pytest.raises(DomainError, match="card payment not approved"):
        till.pay("card")
    counter.cards.append(chip(card_pse_sda(pull_at="INTERNAL AUTHENTICATE")))
    counter.cards.append(swipe(chip_track))
    doc = till.pay("card")
    assert doc["payments"][0]["masked_pan"] == "476173******0119"
    assert bank.ledger.entries[-1].masked_pan == "476173******0119"


def test_contactless_visa_and_mastercard_taps(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter, emv=tap_config())
    counter.cards.append(tap(VisaCard()))
    till.scan(WATER)
    assert till.pay("card")["payments"][0]["masked_pan"] == "476173******0119"
    counter.cards.append(tap(MastercardCard()))
    till.scan(WATER)
    assert till.pay("card")["payments"][0]["masked_pan"] == "541333******0418"
    interfaces = [r[0] for r in store.conn.execute("SELECT interface FROM card_auths ORDER BY created_at")]
    assert interfaces == ["contactless", "contactless"]


def test_tips_are_charged_on_top_and_kept_apart(tmp_path, store, clock, bank, counter):
    settings = make_settings(tmp_path, payments={"tips": "prompt"})
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    counter.tips.append(500)
    till.scan(RICE)
    doc = till.pay("card")
    assert doc["payments"][0]["amount"] == 3990 and counter.amounts == [4490]
    assert store.conn.execute("SELECT amount, tip FROM card_auths").fetchone() == (4490, 500)
    assert bank.ledger.entries[-1].amount == 4490


def test_post_void_reverses_the_card_payment(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    doc = till.pay("card")
    post_void(till, doc["receipt_no"], approver=till.approve(*SUPERVISOR), reason="wrong card")
    assert store.scalar("SELECT reversed FROM card_auths") == 1
    assert host_queue.drain(store, bank.link(), now=clock.now()).sent == 1
    assert bank.ledger.entries[-1].reversed
    assert card_batch.open_totals(store.conn)[0].debit_count == 0


def test_refund_goes_to_the_same_card_only(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    doc = till.pay("card")
    counter.cards.append(chip(card_pse_sda(pan="4761739001010135")))  # another card
    with pytest.raises(DomainError, match=r"not the card that paid: refund to the card 476173\*\*\*\*\*\*0119"):
        return_with_receipt(till, doc["receipt_no"], [(1, 1000)], reason="broken")
    counter.cards.append(chip(card_pse_sda()))
    refund = return_with_receipt(till, doc["receipt_no"], [(1, 1000)], reason="broken")
    assert refund["payments"][0]["kind"] == "card" and refund["payments"][0]["amount"] == 3990
    entry = bank.ledger.entries[-1]
    assert entry.processing_code.startswith("20") and entry.amount == 3990
    totals, _ = card_batch.open_totals(store.conn)
    assert (totals.debit_amount, totals.credit_amount) == (3990, 3990)


def test_batch_close_in_balance_settles_and_prints(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    for _ in range(2):
        counter.cards.append(chip(card_pse_sda()))
        till.scan(RICE)
        till.pay("card")
    result = card_batch.close(store, bank.link(), at=clock.now())
    assert result.in_balance and (result.totals.debit_count, result.totals.debit_amount) == (2, 7980)
    assert store.scalar("SELECT count(*) FROM card_auths WHERE batch = ?", (result.batch,)) == 2
    paper = "\n".join(render_text(batch_report(result, settings), 32))
    assert "CARD BATCH #1" in paper and "79.80" in paper and "in balance" in paper
    again = card_batch.close(store, bank.link(), at=clock.now())
    assert again.batch == 2 and again.totals.debit_count == 0


def test_batch_close_out_of_balance_is_journaled_and_keeps_the_payments_open(settings, store, clock, bank, counter):
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))
    till.scan(RICE)
    till.pay("card")
    bank.ledger.entries.clear()  # the host lost the payment
    result = card_batch.close(store, bank.link(), at=clock.now())
    assert not result.in_balance and result.response_code == "95"
    assert store.scalar("SELECT count(*) FROM card_auths WHERE batch IS NULL") == 1
    assert "OUT OF BALANCE" in "\n".join(render_text(batch_report(result, settings), 48))


def test_batch_close_waits_for_queued_advices(tmp_path, store, clock, bank, counter):
    settings = offline_settings(tmp_path)
    till = card_till(settings, store, clock, bank, counter, emv=OFFLINE_CAPABLE)
    bank.down()
    counter.cards.append(chip(card_pse_sda()))
    till.scan(WATER)
    till.pay("card")
    with pytest.raises(DomainError, match="not yet received 1 offline payment") as err:
        card_batch.close(store, bank.link(), at=clock.now())
    assert err.value.code == "batch_waiting"
    bank.up()
    clock.advance(seconds=host_queue.MAX_RETRY_S)
    assert card_batch.close(store, bank.link(), at=clock.now()).in_balance


def test_card_payments_need_an_acquirer(settings, store, clock, counter):
    tender = CardTender(store, counter, acquirer=None, emv=test_terminal_config(), rules=settings.payments,
                        token_key=b"k" * 32, clock=clock)
    with pytest.raises(DomainError, match=r"\[payments\] host is empty"):
        tender.take(100, None, "", TenderContext("S1", None, clock.now().date()))


def test_the_receipt_shows_the_card_lines_and_no_more_of_the_card(tmp_path, store, clock, bank, counter):
    from appliance.display.receipt import receipt_context
    from appliance.display.receipt import receipt

    settings = make_settings(tmp_path, payments={"tips": "prompt"})
    till = card_till(settings, store, clock, bank, counter)
    counter.cards.append(chip(card_pse_sda()))  # signature card
    counter.tips.append(300)
    till.scan(RICE)
    doc = till.pay("card")
    paper = "\n".join(render_text(receipt(doc, settings, receipt_context(till, doc)), 42))
    assert "476173******0119" in paper and "AID A0000000031010" in paper and "TVR " in paper
    assert "Tip" in paper and "3.00" in paper and "Charged to card" in paper and "42.90" in paper
    assert "Cardholder signature" in paper
    assert APPROVE not in paper
