"""pytest fixtures for the real PC/SC path: one private pcscd per session, cards you insert.

tests/conftest.py registers this module as a plugin, so every test module gets the same
session's pcscd by naming the fixtures (`vpcd`, `pcsc_reader`, `pcscd_daemon`).

`vpcd.insert(card)` returns once pcscd reports the card present, so a test can transmit
at once; waits are SCardGetStatusChange with a deadline, never sleeps (pcscd notices a
card come or go only at its next 400 ms poll). Each test leaves the readers empty and pcscd running, whatever it did.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from smartcard import scard  # importing is harmless: libpcsclite reads PCSCLITE_CSOCK_NAME at the first call

from tests.pcsc.pcscd import Pcscd, PcscdError
from tests.pcsc.vpcd_card import Card, InsertedCard

SEEN_WITHIN = 3.0  # seconds for pcscd to notice a card come or go (it polls vpcd every 400 ms)


class Vpcd:
    """The two vpcd slots of the session's pcscd, and the cards in them."""

    def __init__(self, daemon: Pcscd):
        self.daemon = daemon
        self.readers = daemon.readers
        self.reader = daemon.readers[0]
        self.cards: list[InsertedCard] = []

    def insert(self, card: Card, slot: int = 0) -> InsertedCard:
        inserted = InsertedCard(card, self.daemon.ports[slot])
        self.cards.append(inserted)
        self.wait_until(slot, present=True)
        return inserted

    def remove(self, inserted: InsertedCard) -> None:
        inserted.remove()
        self.cards.remove(inserted)
        self.wait_until(self.daemon.ports.index(inserted.port), present=False)

    def wait_until(self, slot: int, *, present: bool, timeout: float = SEEN_WITHIN) -> None:
        """Block until pcscd reports the slot with (or without) a card; fail the test after `timeout`."""
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == scard.SCARD_S_SUCCESS, f"test pcscd unreachable: {scard.SCardGetErrorMessage(hresult)}"
        try:
            deadline = time.monotonic() + timeout
            state = scard.SCARD_STATE_UNAWARE
            while True:
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                hresult, states = scard.SCardGetStatusChange(context, max(remaining_ms, 0),
                                                             [(self.readers[slot], state)])
                if hresult == scard.SCARD_E_TIMEOUT or remaining_ms <= 0:
                    pytest.fail(f"pcscd did not see a card {'arrive in' if present else 'leave'} "
                                f"{self.readers[slot]!r} within {timeout} s")
                assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    return
        finally:
            scard.SCardReleaseContext(context)

    def reset(self) -> None:
        """Empty both slots and make sure pcscd runs, for the next test."""
        if not self.daemon.running:
            self.daemon.start()
        broken = [inserted.error for inserted in self.cards if inserted.error is not None]
        for inserted in self.cards:
            inserted.remove()
        self.cards.clear()
        for slot in range(len(self.readers)):
            self.wait_until(slot, present=False)
        if broken:
            pytest.fail(f"an emulated card failed: {broken[0]!r}")


@pytest.fixture(scope="session")
def pcscd_daemon() -> Iterator[Pcscd]:
    """A private pcscd with readers "Virtual PCD 00 00" and "00 01"; fails (never skips) if it cannot start."""
    daemon: Pcscd | None = None
    problem = ""
    try:
        daemon = Pcscd()
        daemon.point_clients_here()
        daemon.start()
    except PcscdError as exc:
        problem = str(exc)  # failed outside the except block, so the report shows it once
    if problem or daemon is None:
        if daemon is not None:
            daemon.cleanup()
        pytest.fail(f"cannot run the PC/SC tests: {problem}", pytrace=False)
    yield daemon
    daemon.cleanup()


@pytest.fixture
def vpcd(pcscd_daemon: Pcscd) -> Iterator[Vpcd]:
    slots = Vpcd(pcscd_daemon)
    slots.reset()
    yield slots
    slots.reset()


@pytest.fixture
def pcsc_reader(vpcd: Vpcd) -> str:
    """The name of an empty vpcd reader ("Virtual PCD 00 00")."""
    return vpcd.reader
