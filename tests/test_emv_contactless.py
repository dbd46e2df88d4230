"""The contactless kernels in process: emulated Visa (qVSDC) and Mastercard (M/Chip) cards, the reference issuer."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from appliance.emv import contactless
from appliance.emv.apdu import Channel
from appliance.emv.model import AidConfig, Outcome, TerminalConfig, Transaction
from appliance.native.secret import Secret
from tests.emv.contactless_cards import (
    AAC, ABOVE_CVM, CONTACTLESS_LIMIT, MASTERCARD_AID, SMALL, TC, VISA_AID, ContactlessCard, MastercardCard, VisaCard,
    tap_config,
)
from tests.emv.card import command_names
from tests.emv.issuer import TestIssuer, icc_tags
from tests.emv.keys import APPROVE, DECLINE, MASTERCARD
from tests.emv.scripted import ScriptedCardholder, in_process


NOW = datetime(2026, 11, 23, 10, 30, 0)
SPEC_FIELD_55 = {0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
                 0x9F34, 0x9F33, 0x9F35, 0x84}


def tap(card: ContactlessCard, amount: int = SMALL, *, issuer: TestIssuer | None = None,
        cardholder: ScriptedCardholder | None = None, config: TerminalConfig | None = None,
        read_complete: list[int] | None = None) -> Outcome:
    def on_read_complete() -> None:
        if read_complete is not None:
            read_complete.append(len(card.received))

    return contactless.run(Channel(in_process(card)), config or tap_config(), Transaction(amount=amount),
                           cardholder or ScriptedCardholder(), issuer or TestIssuer(), rng=random.Random(7), now=NOW,
                           on_read_complete=on_read_complete)


def test_visa_qvsdc_approves_online_with_the_cryptogram_from_gpo():
    card, issuer, read_at = VisaCard(), TestIssuer(), []
    outcome = tap(card, issuer=issuer, read_complete=read_at)
    assert (outcome.decision, outcome.interface, outcome.reason) == ("approved", "contactless", "approved by the issuer")
    # no GENERATE AC: the ARQC came with the GPO answer
    assert command_names(card.received) == ["SELECT", "SELECT", "GET PROCESSING OPTIONS", "READ RECORD"]
    assert read_at == [4]  # card read complete after the last APDU, before going online
    assert issuer.arqc_checks == [True]
    request = issuer.requests[0]
    assert request.entry_mode == "071" and request.pin is None and request.pan == Secret(APPROVE.encode())
    assert request.track2 == Secret(card.track2()) and (request.psn, request.expiry) == ("01", "2812")
    assert (outcome.masked_pan, outcome.cryptogram_type, outcome.auth_code) == ("476173******0119", "ARQC", "A1B2C3")
    assert outcome.aid == VISA_AID and outcome.cvm == "no CVM" and not outcome.signature_required
    field_55 = icc_tags(outcome.icc_data)
    assert SPEC_FIELD_55 <= set(field_55) and field_55[0x9F6E] == card.form_factor
    assert outcome.tvr == field_55[0x95] == bytes.fromhex("8000000000")  # ODA not performed: no fDDA
    # the PDOL carried the TTQ with "online cryptogram required" and without "CVM required"
    gpo = card.received[2]
    assert gpo[7:11] == bytes([0x36, 0x80, 0x40, 0x00])


def test_mastercard_reads_records_and_asks_one_arqc():
    card, issuer = MastercardCard(), TestIssuer()
    outcome = tap(card, issuer=issuer)
    assert outcome.decision == "approved", outcome.trace
    assert command_names(card.received) == ["SELECT", "SELECT", "GET PROCESSING OPTIONS", "READ RECORD", "READ RECORD",
                                            "GENERATE AC"]
    assert card.received[-1][2] == 0x80  # ARQC asked; no second GENERATE AC follows
    assert issuer.arqc_checks == [True] and issuer.requests[0].pan == Secret(MASTERCARD.encode())
    assert outcome.cvm == "no CVM" and outcome.masked_pan == "541333******0418"
    assert icc_tags(outcome.icc_data)[0x9F33][1] == 0x08  # at or below the CVM limit the reader offers no CVM only


def test_visa_qvsdc_without_afl_takes_the_account_from_track_2():
    card, issuer = VisaCard(afl=b""), TestIssuer()
    outcome = tap(card, issuer=issuer)
    assert outcome.decision == "approved", outcome.trace
    assert command_names(card.received) == ["SELECT", "SELECT", "GET PROCESSING OPTIONS"]  # no 94: no records to read
    assert issuer.arqc_checks == [True] and issuer.requests[0].pan == Secret(APPROVE.encode())
    assert (outcome.masked_pan, outcome.expiry, outcome.psn) == ("476173******0119", "2812", "01")


def test_host_decline():
    outcome = tap(VisaCard(pan=DECLINE))
    assert (outcome.decision, outcome.reason, outcome.response_code) == ("declined", "card declined (05)", "05")


def test_above_the_contactless_limit_stops_before_gpo():
    for card in (VisaCard(), MastercardCard()):
        issuer = TestIssuer()
        outcome = tap(card, CONTACTLESS_LIMIT + 1, issuer=issuer)
        assert (outcome.decision, outcome.reason) == ("failed", contactless.ABOVE_LIMIT)
        assert command_names(card.received) == ["SELECT", "SELECT"] and issuer.requests == []
    at_limit = tap(VisaCard(), CONTACTLESS_LIMIT, cardholder=ScriptedCardholder(pins=["1234"]))
    assert at_limit.decision == "approved"  # the limit itself is allowed (and above the CVM limit)


def test_visa_above_the_cvm_limit_asks_online_pin():
    card, issuer, cardholder = VisaCard(), TestIssuer(), ScriptedCardholder(pins=["1234"])
    outcome = tap(card, ABOVE_CVM, issuer=issuer, cardholder=cardholder)
    assert outcome.decision == "approved" and outcome.cvm == "online PIN"
    assert cardholder.pin_requests == [(True, None)]
    assert issuer.requests[0].pin == Secret(b"1234")
    assert card.received[2][8] & 0x40  # TTQ byte 2: CVM required
    assert icc_tags(outcome.icc_data)[0x9F34] == outcome.cvm_results == bytes([0x02, 0x00, 0x00])


def test_visa_wrong_online_pin_is_the_issuers_decline():
    outcome = tap(VisaCard(), ABOVE_CVM, cardholder=ScriptedCardholder(pins=["9999"]))
    assert (outcome.decision, outcome.response_code) == ("declined", "55")


def test_visa_card_preferring_signature():
    outcome = tap(VisaCard(online_pin=False), ABOVE_CVM)
    assert outcome.decision == "approved" and outcome.cvm == "signature" and outcome.signature_required


def test_mastercard_above_the_cvm_limit_asks_online_pin_from_the_cvm_list():
    cardholder, issuer = ScriptedCardholder(pins=["1234"]), TestIssuer()
    outcome = tap(MastercardCard(), ABOVE_CVM, issuer=issuer, cardholder=cardholder)
    assert outcome.decision == "approved" and outcome.cvm == "online PIN"
    assert cardholder.pin_requests == [(True, None)] and issuer.requests[0].pin == Secret(b"1234")
    assert outcome.cvm_results == bytes.fromhex("420300")
    assert outcome.tvr[2] & 0x04  # TVR byte 3 bit 3: online PIN entered, inside the cryptogram (CDOL1 95)
    assert issuer.arqc_checks == [True]


@pytest.mark.parametrize("card", [VisaCard(pull_at="READ RECORD"), VisaCard(pull_at="GET PROCESSING OPTIONS"),
                                  MastercardCard(pull_at="GENERATE AC")], ids=["visa-records", "visa-gpo", "mc-genac"])
def test_card_removed_before_read_complete(card: ContactlessCard):
    issuer, read_at = TestIssuer(), []
    outcome = tap(card, issuer=issuer, read_complete=read_at)
    assert (outcome.decision, outcome.reason) == ("failed", contactless.CARD_REMOVED)
    assert issuer.requests == [] and read_at == []


@pytest.mark.parametrize("card", [VisaCard(), MastercardCard()], ids=["visa", "mastercard"])
def test_unable_to_go_online_is_declined_never_approved_offline(card: ContactlessCard):
    outcome = tap(card, issuer=TestIssuer(unreachable=True))
    assert (outcome.decision, outcome.reason, outcome.response_code) == ("declined_offline", "bank unreachable", "Z3")
    assert outcome.cryptogram_type == "ARQC"


@pytest.mark.parametrize("card", [VisaCard(cryptogram=AAC), MastercardCard(cryptogram=AAC)], ids=["visa", "mc"])
def test_card_decline_does_not_go_online(card: ContactlessCard):
    issuer = TestIssuer()
    outcome = tap(card, issuer=issuer)
    assert (outcome.decision, outcome.cryptogram_type) == ("declined_offline", "AAC") and issuer.requests == []


def test_offline_approval_offered_by_the_card_is_refused():
    outcome = tap(VisaCard(cryptogram=TC))
    assert outcome.decision == "failed" and "insert the card" in outcome.reason


def test_trace_and_outcome_show_no_card_data():
    card = VisaCard()
    outcome = tap(card, ABOVE_CVM, cardholder=ScriptedCardholder(pins=["1234"]))
    text = "\n".join(outcome.trace) + repr(outcome)
    assert APPROVE not in text and card.track2().hex().upper() not in text.upper() and "1234" not in text
    assert "476173******0119" in text and contactless.READ_COMPLETE in text


def test_no_contactless_directory_fails_with_insert():
    class NoPpse(VisaCard):
        def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
            return b"", 0x6A, 0x82

    outcome = tap(NoPpse())
    assert outcome.decision == "failed" and "insert" in outcome.reason


def test_a_zero_contactless_limit_means_no_taps():
    outcome = tap(MastercardCard(), config=tap_config(aids=(AidConfig(MASTERCARD_AID, "MC", contactless_limit=0),)))
    assert (outcome.decision, outcome.reason) == ("failed", contactless.ABOVE_LIMIT)


def test_application_the_terminal_does_not_accept_is_not_tapped():
    outcome = tap(MastercardCard(), config=tap_config(aids=(AidConfig(VISA_AID, "VISA", contactless_limit=10**6),)))
    assert outcome.decision == "failed" and outcome.masked_pan == ""
