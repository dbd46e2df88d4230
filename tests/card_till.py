"""A till taking cards against the reference acquirer: the pieces the card payment tests share.

The acquirer is the real one (acquirer/server.py on a loopback port, with the test
issuer keys and a sealing key made per test); the cards are the emulated EMV cards,
reached in process or through pcscd. Only the people at the till are scripted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from psec import tr31

from acquirer.sealing import SealingKey
from acquirer.server import Acquirer, AcquirerServer
from appliance import config
from appliance.core.card import CardTender, PresentedCard
from appliance.core.card_host import Acquirer as AcquirerLink
from appliance.core.clock import ManualClock
from appliance.core.till import Till
from appliance.emv import pinblock
from appliance.emv.host import HostClient
from appliance.emv.model import Candidate, TerminalConfig
from appliance.native.secret import Secret
from appliance.store.db import Store
from tests.conftest import CASHIER, seed
from tests.emv.personalise import test_terminal_config
from tests.emv.scripted import in_process
from tests.test_acquirer import KEYS

TOKEN_KEY = bytes(range(32))
KBPK = bytes.fromhex("89E88CF7931444F334BD7547FC3F380C")  # a throwaway key block protection key


def pin_key_block() -> str:
    """The acquirer's test PIN key as the terminal receives it: a TR-31 block under the device's KBPK."""
    return tr31.wrap(KBPK, "B0096P0TE00N0000", KEYS.pin_key)


def pin_encryptor():
    key = pinblock.load_pin_key(pin_key_block(), KBPK)
    return lambda pin, pan: pinblock.encrypt_pin(pin, pan, key)


def chip(card) -> PresentedCard:
    return PresentedCard("contact", transmit=in_process(card))


def tap(card) -> PresentedCard:
    return PresentedCard("contactless", transmit=in_process(card))


def swipe(tracks: bytes) -> PresentedCard:
    return PresentedCard("magstripe", tracks=Secret(tracks))


@dataclass
class Counter:
    """The customer and the reader at the counter: cards presented in turn, PINs typed, a tip chosen."""

    cards: list[PresentedCard] = field(default_factory=list)
    pins: list[str | None] = field(default_factory=list)
    tips: list[int] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)  # what the reader showed for each card

    def present(self, amount: int) -> PresentedCard:
        self.amounts.append(amount)
        return self.cards.pop(0)

    def tip(self, amount: int) -> int:
        return self.tips.pop(0) if self.tips else 0

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        return candidates[0]

    def pin(self, *, online: bool, tries_left: int | None) -> Secret | None:
        typed = self.pins.pop(0) if self.pins else None
        return Secret(typed.encode()) if typed is not None else None


class Bank:
    """The reference acquirer on a loopback port; `down()` frees the port so connections are refused."""

    def __init__(self, folder: Path):
        self.sealing_path = folder / "acquirer-seal.pem"
        self.acquirer = Acquirer(KEYS, None, SealingKey.load_or_create(self.sealing_path))
        self.server = AcquirerServer(("127.0.0.1", 0), self.acquirer).start()
        self.host, self.port = self.server.address

    @property
    def public_key(self) -> bytes:
        return Path(f"{self.sealing_path}.pub").read_bytes()

    def link(self, timeout: float = 5.0, terminal_id: str = "T0000001") -> AcquirerLink:
        return AcquirerLink(HostClient(self.host, self.port, timeout=timeout, terminal_id=terminal_id,
                                       merchant_id="DEMO00000000001"), "156")

    def down(self) -> None:
        self.server.stop()

    def up(self) -> None:
        self.server = AcquirerServer((self.host, self.port), self.acquirer).start()

    @property
    def ledger(self):
        return self.acquirer.ledger


@pytest.fixture
def bank(tmp_path: Path):
    """The reference acquirer for one test (a pytest fixture: tests/conftest.py loads this module as a plugin)."""
    bank = Bank(tmp_path)
    yield bank
    bank.down()


@pytest.fixture
def counter() -> Counter:
    return Counter()


def card_till(settings: config.Settings, store: Store, clock: ManualClock, bank: Bank, counter: Counter, *,
              emv: TerminalConfig | None = None, timeout: float = 5.0, seal: bool = True, **tender_options) -> Till:
    tender = CardTender(store, counter, acquirer=bank.link(timeout), emv=emv or test_terminal_config(),
                        rules=settings.payments, token_key=TOKEN_KEY, clock=clock,
                        seal_key=bank.public_key if seal else None,
                        **{"pin_block": pin_encryptor(), **tender_options})
    till = Till(settings, store, clock, extra_tenders={"card": tender})
    seed(till)
    till.sign_in(*CASHIER)
    till.shifts.open(till.operator, 0, at=clock.now())
    return till
