"""The contact kernel through the real PC/SC stack: pyscard -> pcscd -> vpcd -> the emulated test cards.

The same card objects as the in-process tests sit in a vpcd slot; the kernel talks to
them through appliance/hal/cardreader_pcsc.py's transmit, and goes online to the
reference issuer (tests/emv/issuer.py), which checks each ARQC with pyemv.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Callable, Iterator

import pytest

from appliance.emv import contact
from appliance.emv.apdu import Channel
from appliance.emv.model import Outcome, Transaction
from appliance.hal import registry
from appliance.hal.cardreader_pcsc import PcscCardReader
from tests.emv.card import EmvCard
from tests.emv.issuer import TestIssuer
from tests.emv.keys import APPROVE
from tests.emv.personalise import (card_declined, card_expired, card_no_pse_dda_offline_pin, card_pin_blocked,
                                   card_pse_sda, test_terminal_config)
from tests.emv.scripted import ScriptedCardholder
from tests.pcsc.fixtures import Vpcd


CONFIG = test_terminal_config()
TXN = Transaction(amount=8_800, date="261123", time="093000")
NOW = datetime(2026, 11, 23, 9, 30)

Pay = Callable[..., tuple[Outcome, TestIssuer]]


@pytest.fixture
def pay(vpcd: Vpcd) -> Iterator[Pay]:  # noqa: F811
    """Insert a card in slot 0 and run one contact transaction through pcscd."""
    readers: list[PcscCardReader] = []

    def run(card: EmvCard, pins: tuple[str, ...] = ()) -> tuple[Outcome, TestIssuer]:
        vpcd.insert(card)
        reader = registry.create("card", "card_reader", f"pcsc://{vpcd.reader}")
        assert isinstance(reader, PcscCardReader)
        readers.append(reader)
        reader.open()
        issuer = TestIssuer()
        outcome = contact.run(Channel(reader.transmit), CONFIG, TXN, ScriptedCardholder(pins=list(pins)), issuer,
                              rng=random.Random(3), now=NOW)
        assert APPROVE not in "\n".join(outcome.trace)
        return outcome, issuer

    yield run
    for reader in readers:
        reader.close()


def test_pse_sda_card_approved(pay: Pay):
    outcome, issuer = pay(card_pse_sda())
    assert (outcome.decision, outcome.reason) == ("approved", "approved by the bank (00)")
    assert issuer.arqc_checks == [True] and outcome.cryptogram_type == "TC"
    assert "SDA ok" in outcome.trace


def test_no_pse_dda_offline_pin_approved(pay: Pay):
    card = card_no_pse_dda_offline_pin(t0=True)  # T=0 answers: GET RESPONSE through pcscd as well
    outcome, issuer = pay(card, ("1234",))
    assert outcome.decision == "approved" and outcome.cvm == "offline plaintext PIN"
    assert "DDA ok" in outcome.trace and "issuer authentication ok" in outcome.trace
    assert issuer.arqc_checks == [True]
    assert any(apdu[1] == 0xC0 for apdu in card.received)


def test_expired_card_declined(pay: Pay):
    outcome, issuer = pay(card_expired())
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the terminal: expired application")
    assert issuer.requests == []


def test_host_declined_card(pay: Pay):
    outcome, issuer = pay(card_declined())
    assert (outcome.decision, outcome.reason, outcome.cryptogram_type) == (
        "declined", "declined by the bank (05)", "AAC")
    assert issuer.arqc_checks == [True]


def test_pin_blocked_card(pay: Pay):
    outcome, _ = pay(card_pin_blocked())
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the terminal: PIN try limit exceeded")
    assert outcome.cvm == "failed"


def test_card_pulled_mid_flow(pay: Pay):
    outcome, issuer = pay(card_pse_sda(pull_at="GENERATE AC"))
    assert (outcome.decision, outcome.reason) == ("failed", "card removed")
    assert issuer.requests == []
