"""The Raspberry Pi's GPIO pins through RPi.GPIO, imported only when a GPIO device opens.

RPi.GPIO installs on any Linux but raises RuntimeError when imported off a Raspberry Pi,
so the import happens in `load()` and both that and a missing library become
NotOnThisBoard. Pins use BCM numbering (the GPIOnn names of pinout diagrams).

Inputs are polled, not edge-detected: RPi.GPIO's add_event_detect fails with "Failed to
add edge detection" on Raspberry Pi OS kernels from 6.6 (raspberrypi/linux#6037), while
reading a few pins every few milliseconds costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from appliance.hal.address import Address
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable, NotOnThisBoard

BCM_LOW, BCM_HIGH = 0, 27  # GPIO0..GPIO27 on the 40-pin header


def load(device: str) -> Any:
    """The RPi.GPIO module, or NotOnThisBoard naming why it cannot be used here."""
    try:
        return importlib.import_module("RPi.GPIO")
    except (ImportError, RuntimeError) as exc:
        raise NotOnThisBoard(f"GPIO is not available on this board ({exc})", device=device) from exc


def pin_option(address: Address, name: str) -> int | None:
    """One BCM pin number from the address, or None when the option is absent."""
    if address.param(name) is None:
        return None
    return address.int_param(name, 0, BCM_LOW, BCM_HIGH)


def pin_list_option(address: Address, name: str) -> list[int]:
    """A required comma-separated list of BCM pin numbers (a keypad's rows or columns)."""
    pins = address.int_list(name)
    if not pins:
        raise DeviceConfigError(f"{address.raw!r} needs {name}=, the BCM pin numbers separated by commas")
    for pin in pins:
        if not BCM_LOW <= pin <= BCM_HIGH:
            raise DeviceConfigError(f"{name}= in {address.raw!r} names pin {pin}; BCM pins are {BCM_LOW} to {BCM_HIGH}")
    return pins


def check_distinct(address: Address, pins: dict[str, list[int]]) -> None:
    """Refuse a pin wired to two functions: the second setup would silently take it over."""
    seen: dict[int, str] = {}
    for role, numbers in pins.items():
        for pin in numbers:
            if pin in seen:
                raise DeviceConfigError(f"pin {pin} is used for both {seen[pin]} and {role} in {address.raw!r}")
            seen[pin] = role


class Debouncer:
    """A switch's steady state: it changes only after `scans` readings in a row agree.

    Contact chatter shorter than that never changes the state, so one press gives one
    press and one release, however much the contacts bounce.
    """

    def __init__(self, scans: int, state: bool = False):
        self.scans = scans
        self.state = state
        self._count = 0

    def update(self, reading: bool) -> bool:
        """Feed one reading; True when the steady state has just changed."""
        if reading == self.state:
            self._count = 0
            return False
        self._count += 1
        if self._count < self.scans:
            return False
        self.state, self._count = reading, 0
        return True


class Pins:
    """The pins one device owns: set up on open, errors typed, only these released on close.

    Closing one GPIO device (say the keypad, for a reconnect) must not reset the pins of
    another (the drawer), so cleanup names our pins instead of resetting the whole header.
    """

    def __init__(self, device: str):
        self.device = device
        self._gpio: Any = None
        self._owned: list[int] = []

    def open(self) -> None:
        gpio = load(self.device)
        try:
            gpio.setwarnings(False)  # "channel already in use" after an unclean exit is expected
            gpio.setmode(gpio.BCM)
        except (RuntimeError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot use the GPIO pins in BCM numbering: {exc}", device=self.device) from exc
        self._gpio = gpio

    def setup_output(self, pin: int, level: bool) -> None:
        gpio = self._require()
        self._setup(pin, gpio.OUT, initial=gpio.HIGH if level else gpio.LOW)

    def setup_input(self, pin: int, pull_up: bool) -> None:
        gpio = self._require()
        self._setup(pin, gpio.IN, pull_up_down=gpio.PUD_UP if pull_up else gpio.PUD_OFF)

    def write(self, pin: int, level: bool) -> None:
        gpio = self._require()
        try:
            gpio.output(pin, gpio.HIGH if level else gpio.LOW)
        except (RuntimeError, ValueError) as exc:
            raise DeviceIOError(f"setting GPIO{pin} failed: {exc}", device=self.device) from exc

    def read(self, pin: int) -> bool:
        gpio = self._require()
        try:
            return gpio.input(pin) == gpio.HIGH
        except (RuntimeError, ValueError) as exc:
            raise DeviceIOError(f"reading GPIO{pin} failed: {exc}", device=self.device) from exc

    def close(self) -> None:
        """Return our pins to inputs (RPi.GPIO's cleanup); safe to call twice."""
        gpio, owned = self._gpio, self._owned
        self._gpio, self._owned = None, []
        if gpio is not None and owned:
            gpio.cleanup(owned)

    def _setup(self, pin: int, direction: int, **settings: int) -> None:
        try:
            self._gpio.setup(pin, direction, **settings)
        except (RuntimeError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot set up GPIO{pin}: {exc}", device=self.device) from exc
        self._owned.append(pin)

    def _require(self) -> Any:
        if self._gpio is None:
            raise DeviceUnavailable("the GPIO pins are not open", device=self.device)
        return self._gpio
