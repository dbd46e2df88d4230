"""The contactless kernels through the real PC/SC stack: pyscard → pcscd → vpcd slot 1 → an emulated tap card."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Callable, Iterator

import pytest

from appliance.emv import contactless
from appliance.emv.apdu import Channel
from appliance.emv.model import Outcome, Transaction
from appliance.hal import registry
from appliance.hal.cardreader_pcsc import PcscCardReader, is_contactless
from appliance.native.secret import Secret
from tests.emv.contactless_cards import (
    ABOVE_CVM, CONTACTLESS_ATR, CONTACTLESS_LIMIT, SMALL, ContactlessCard, MastercardCard, VisaCard, tap_config,
)
from tests.emv.issuer import TestIssuer
from tests.emv.keys import DECLINE
from tests.emv.scripted import ScriptedCardholder
from tests.pcsc.fixtures import Vpcd


TAP_SLOT = 1  # "Virtual PCD 00 01": the contactless reader of the test pcscd


@pytest.fixture
def tap_reader(vpcd: Vpcd) -> Iterator[PcscCardReader]:  # noqa: F811
    reader = registry.create("card", "card_reader", f"pcsc://{vpcd.readers[TAP_SLOT]}")
    assert isinstance(reader, PcscCardReader)
    reader.open()
    yield reader
    reader.close()


@pytest.fixture
def tap(vpcd: Vpcd, tap_reader: PcscCardReader) -> Callable[..., Outcome]:  # noqa: F811
    """Put `card` in the contactless slot and run the kernel over the reader's transmit."""
    def run(card: ContactlessCard, amount: int = SMALL, *, issuer: TestIssuer,
            cardholder: ScriptedCardholder | None = None) -> Outcome:
        vpcd.insert(card, slot=TAP_SLOT)
        return contactless.run(Channel(tap_reader.transmit), tap_config(), Transaction(amount=amount),
                               cardholder or ScriptedCardholder(), issuer, rng=random.Random(3),
                               now=datetime(2026, 11, 23, 12, 0, 0))
    return run


def test_the_tap_slot_reports_a_contactless_card(vpcd: Vpcd):  # noqa: F811
    assert is_contactless(CONTACTLESS_ATR, vpcd.readers[TAP_SLOT])


@pytest.mark.parametrize("make_card", [VisaCard, MastercardCard], ids=["visa", "mastercard"])
def test_tap_approves_online(tap, make_card):
    issuer = TestIssuer()
    outcome = tap(make_card(), issuer=issuer)
    assert (outcome.decision, outcome.interface, outcome.cryptogram_type) == ("approved", "contactless", "ARQC")
    assert issuer.arqc_checks == [True] and issuer.requests[0].entry_mode == "071"


def test_host_decline_through_pcsc(tap):
    outcome = tap(VisaCard(pan=DECLINE), issuer=TestIssuer())
    assert (outcome.decision, outcome.response_code) == ("declined", "05")


def test_above_the_contactless_limit_through_pcsc(tap):
    card, issuer = VisaCard(), TestIssuer()
    outcome = tap(card, CONTACTLESS_LIMIT + 1, issuer=issuer)
    assert (outcome.decision, outcome.reason) == ("failed", contactless.ABOVE_LIMIT)
    assert len(card.received) == 2 and issuer.requests == []


@pytest.mark.parametrize("make_card", [VisaCard, MastercardCard], ids=["visa", "mastercard"])
def test_above_the_cvm_limit_asks_online_pin_through_pcsc(tap, make_card):
    issuer, cardholder = TestIssuer(), ScriptedCardholder(pins=["1234"])
    outcome = tap(make_card(), ABOVE_CVM, issuer=issuer, cardholder=cardholder)
    assert (outcome.decision, outcome.cvm) == ("approved", "online PIN")
    assert issuer.requests[0].pin == Secret(b"1234")


@pytest.mark.parametrize("card", [VisaCard(pull_at="READ RECORD"), MastercardCard(pull_at="GENERATE AC")],
                         ids=["visa", "mastercard"])
def test_card_leaving_the_field_before_read_complete(tap, vpcd: Vpcd, card: ContactlessCard):  # noqa: F811
    issuer = TestIssuer()
    outcome = tap(card, issuer=issuer)
    assert (outcome.decision, outcome.reason) == ("failed", contactless.CARD_REMOVED)
    assert issuer.requests == []
    vpcd.wait_until(TAP_SLOT, present=False)


def test_unable_to_go_online_through_pcsc(tap):
    outcome = tap(MastercardCard(), issuer=TestIssuer(unreachable=True))
    assert (outcome.decision, outcome.reason) == ("declined_offline", "bank unreachable")
