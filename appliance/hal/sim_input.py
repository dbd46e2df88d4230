"""Simulated input devices you can drive from tests, the demo and `appliance doctor --sim`.

Each has the same interface as its real driver; what a person would do (scan, press a
key, insert a card, swipe, put goods on the scale) is a method call. `unplug()` makes
the next read fail like a pulled cable; `plug()` brings it back.
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol

from appliance.hal.address import Address
from appliance.hal.base import CardReader, Emit, Keypad, Scale, Scanner, StripeReader
from appliance.hal.errors import DeviceIOError, DeviceTimeout, DeviceUnavailable
from appliance.hal.events import CardInserted, CardRemoved, Event, Scanned, Secret, Swiped

POLL = 0.05  # how often a waiting loop looks at its stop flag, in seconds


class _Plug:
    """Plugged state shared by all simulators."""

    def __init__(self) -> None:
        self.plugged = True

    def unplug(self) -> None:
        self.plugged = False

    def plug(self) -> None:
        self.plugged = True

    def _check(self, name: str) -> None:
        if not self.plugged:
            raise DeviceIOError("unplugged (simulated)", device=name)


class _QueuedInput(_Plug):
    """An input simulator: actions put events on a queue that `run` hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: queue.Queue[Event] = queue.Queue()

    def _loop(self, name: str, emit: Emit, stop: threading.Event) -> None:
        while not stop.is_set():
            self._check(name)
            try:
                event = self.pending.get(timeout=POLL)
            except queue.Empty:
                continue
            emit(event)


class SimScanner(Scanner, _QueuedInput):
    def __init__(self, name: str, address: Address):
        Scanner.__init__(self, name, address)
        _QueuedInput.__init__(self)
        self.info = "simulated scanner"

    def scan(self, code: str, symbology: str = "") -> None:
        self.pending.put(Scanned(self.name, code=code, symbology=symbology))

    def run(self, emit: Emit, stop: threading.Event) -> None:
        self._loop(self.name, emit, stop)


class SimKeypad(Keypad, _QueuedInput):
    def __init__(self, name: str, address: Address):
        Keypad.__init__(self, name, address)
        _QueuedInput.__init__(self)
        self.info = "simulated keypad"

    def press(self, *keys: str) -> None:
        for key in keys:
            event = self.keys.key(key)
            if event is not None:
                self.pending.put(event)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        self._loop(self.name, emit, stop)


class SimStripeReader(StripeReader, _QueuedInput):
    def __init__(self, name: str, address: Address):
        StripeReader.__init__(self, name, address)
        _QueuedInput.__init__(self)
        self.info = "simulated magstripe reader"

    def swipe(self, tracks: bytes) -> None:
        self.pending.put(Swiped(self.name, tracks=Secret(tracks)))

    def run(self, emit: Emit, stop: threading.Event) -> None:
        self._loop(self.name, emit, stop)


class EmulatedCard(Protocol):
    atr: bytes

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        """Answer one command APDU."""


class SimCardReader(CardReader, _QueuedInput):
    def __init__(self, name: str, address: Address):
        CardReader.__init__(self, name, address)
        _QueuedInput.__init__(self)
        self.info = "simulated card reader"
        self.card: EmulatedCard | None = None

    def insert(self, card: EmulatedCard, *, contactless: bool = False) -> None:
        self.card = card
        self.pending.put(CardInserted(self.name, atr=card.atr, contactless=contactless))

    def remove(self) -> None:
        self.card = None
        self.pending.put(CardRemoved(self.name))

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        self._check(self.name)
        if self.card is None:
            raise DeviceIOError("no card in the reader (removed?)", device=self.name, code="card_removed")
        return self.card.transmit(apdu)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        self._loop(self.name, emit, stop)


class SimScale(Scale, _Plug):
    def __init__(self, name: str, address: Address):
        Scale.__init__(self, name, address)
        _Plug.__init__(self)
        self.info = "simulated scale"
        self.grams = 0
        self.stable = True
        self.tare_grams = 0
        self.answers = True

    def place(self, grams: int, *, stable: bool = True) -> None:
        self.grams, self.stable = grams, stable

    def weigh(self, timeout: float = 2.0) -> tuple[int, bool]:
        if not self.plugged:
            raise DeviceUnavailable("unplugged (simulated)", device=self.name)
        if not self.answers:
            raise DeviceTimeout(f"no answer within {timeout} s", device=self.name)
        return self.grams - self.tare_grams, self.stable

    def zero(self) -> None:
        self.grams = self.tare_grams = 0

    def tare(self) -> None:
        self.tare_grams = self.grams
