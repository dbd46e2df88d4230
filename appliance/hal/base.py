"""The device interfaces: one small class per kind, shared by real drivers and simulators.

Input devices (scanner, keypad, card and stripe readers) run a blocking `run()` loop on
a thread of their own and hand events to `emit`; the manager turns those into an
asyncio queue for the daemon. Output devices are called by the daemon (through the
print queue for printers). Every method may raise a HalError subclass; nothing else.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar

from appliance.hal.address import Address
from appliance.hal.events import Event

Emit = Callable[[Event], None]


class Device(ABC):
    kind: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()  # the URL options this driver accepts

    def __init__(self, name: str, address: Address):
        address.check_params(set(self.options))
        self.name = name
        self.address = address
        self.info = ""  # firmware, model or profile, where the device reports it

    def open(self) -> None:
        """Connect; raises DeviceUnavailable when the device is not there."""

    def close(self) -> None:
        """Release the device; safe to call twice."""

    def probe(self) -> str:
        """Check the device answers (for `appliance doctor`); returns what it reported."""
        return self.info or "ok"


class InputDevice(Device):
    @abstractmethod
    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Read until `stop` is set; a failure raises (the manager reconnects with backoff)."""


class Scanner(InputDevice):
    kind = "scanner"


class Keypad(InputDevice):
    """Every keypad turns key names into events through `self.keys`, which holds PIN digits back."""

    kind = "keypad"

    def __init__(self, name: str, address: Address):
        from appliance.hal.pin_entry import PinEntry

        super().__init__(name, address)
        self.pin_mode = threading.Event()
        self.keys = PinEntry(name, self.pin_mode)

    def begin_pin_entry(self) -> None:
        """Until ENTER, digits are collected privately and sent as one PinEntered (never as keys)."""
        self.keys.begin()

    def end_pin_entry(self) -> None:
        """The daemon gave up on the PIN (card removed, cancelled): forget what was typed."""
        self.pin_mode.clear()
        self.keys.wipe()

    def close(self) -> None:
        self.keys.wipe()


class StripeReader(InputDevice):
    kind = "stripe_reader"


class CardReader(InputDevice):
    kind = "card_reader"

    @abstractmethod
    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        """Send a command APDU to the card present; (data, SW1, SW2)."""


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper: str = "ok"  # "ok", "near_end", "out", or "unknown" where the printer cannot tell
    cover_open: bool = False

    @property
    def ready(self) -> bool:
        return self.online and self.paper != "out" and not self.cover_open


class Printer(Device):
    kind = "printer"
    columns = 48  # characters per line in the normal font
    dots = 576  # printable width in dots (576 for 80 mm, 384 for 58 mm)
    chinese = False  # prints GB18030 text

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send ESC/POS bytes; DeviceIOError when the printer stops taking them."""

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=True, paper="unknown")


class CashDrawer(Device):
    kind = "drawer"

    @abstractmethod
    def kick(self) -> None:
        """Pulse the solenoid (only ever called after the drawer rule allowed it)."""

    def is_open(self) -> bool | None:
        """None when there is no sensor."""
        return None


class CustomerDisplay(Device):
    kind = "display"
    columns = 20
    rows = 2

    @abstractmethod
    def show(self, lines: tuple[str, ...]) -> None:
        """Show up to `rows` lines of up to `columns` characters (longer lines are cut by the frame)."""


class Indicator(Device):
    kind = "indicator"

    @abstractmethod
    def signal(self, pattern: str) -> None:
        """"ok" (short beep, green), "error" (long low tone, red), "attention", "idle"."""


class Scale(Device):
    kind = "scale"

    @abstractmethod
    def weigh(self, timeout: float = 2.0) -> tuple[int, bool]:
        """(grams, stable) as the scale reports it now; DeviceTimeout when it does not answer."""

    def zero(self) -> None:
        """Set zero (empty platter)."""

    def tare(self) -> None:
        """Take the current weight as tare."""


KINDS = {cls.kind: cls for cls in (Scanner, Keypad, StripeReader, CardReader, Printer, CashDrawer,
                                   CustomerDisplay, Indicator, Scale)}
