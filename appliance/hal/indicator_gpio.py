"""LEDs and a buzzer on GPIO pins (`gpio://indicator?led_green=17&led_red=27&buzzer=22`).

Each pattern is a list of steps (which outputs are on, for how long), played by a worker
thread, so `signal()` returns at once and a sale never waits for a beep. A new signal
cuts the one playing short: the cashier hears the latest outcome, not a queue of them.
Every pattern ends with all outputs off. Outputs are active high (an LED or a buzzer
driver transistor on the pin); any of the three may be left out.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from appliance.hal.address import Address
from appliance.hal.base import Indicator
from appliance.hal.errors import DeviceConfigError, DeviceUnavailable, HalError
from appliance.hal.gpio_pins import Pins, check_distinct, pin_option

log = logging.getLogger(__name__)

OUTPUTS = ("led_green", "led_red", "buzzer")


@dataclass(frozen=True)
class Step:
    on: frozenset[str]  # which of OUTPUTS are on during the step
    ms: int


def _step(ms: int, *on: str) -> Step:
    return Step(frozenset(on), ms)


PATTERNS: dict[str, tuple[Step, ...]] = {
    "ok": (_step(80, "led_green", "buzzer"), _step(920, "led_green")),
    "error": (_step(500, "led_red", "buzzer"), _step(1500, "led_red")),
    "attention": (_step(100, "led_red", "buzzer"), _step(100), _step(100, "led_red", "buzzer"), _step(100),
                  _step(100, "led_red", "buzzer"), _step(500, "led_red")),
    "idle": (),
}


class GpioIndicator(Indicator):
    options = frozenset(OUTPUTS)

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.outputs = {role: pin for role in OUTPUTS if (pin := pin_option(address, role)) is not None}
        if not self.outputs:
            raise DeviceConfigError(f"{address.raw!r} names no pin; give at least one of {', '.join(OUTPUTS)}")
        check_distinct(address, {role: [pin] for role, pin in self.outputs.items()})
        self.patterns = PATTERNS
        self.pins = Pins(name)
        self.info = "GPIO " + " ".join(f"{role}={pin}" for role, pin in self.outputs.items())
        self._wake = threading.Condition()
        self._next: str | None = None
        self._closing = False
        self._worker: threading.Thread | None = None

    def open(self) -> None:
        self.pins.open()
        try:
            for pin in self.outputs.values():
                self.pins.setup_output(pin, False)
        except BaseException:
            self.pins.close()
            raise
        self._closing = False
        self._worker = threading.Thread(target=self._play, name=f"indicator {self.name}", daemon=True)
        self._worker.start()

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            with self._wake:
                self._closing = True
                self._wake.notify()
            worker.join()
        self.pins.close()

    def signal(self, pattern: str) -> None:
        if pattern not in self.patterns:
            raise DeviceConfigError(f"unknown signal {pattern!r}; known: {', '.join(self.patterns)}", device=self.name)
        if self._worker is None:
            raise DeviceUnavailable("not open", device=self.name)
        with self._wake:
            self._next = pattern
            self._wake.notify()

    def _play(self) -> None:
        """The worker: wait for a pattern, play it until done or replaced, repeat until closed.

        Closing stops it mid-step; the pins' cleanup then turns every output off.
        """
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._next is not None or self._closing)
                if self._closing:
                    return
                pattern, self._next = self._next, None
            try:
                self._play_steps(self.patterns[pattern])
            except HalError as exc:  # a lamp that failed must not stop the next signal being tried
                log.warning("%s: signal %r failed: %s", self.name, pattern, exc)

    def _play_steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self._set(step.on)
            with self._wake:
                if self._wake.wait_for(lambda: self._next is not None or self._closing, timeout=step.ms / 1000):
                    return  # replaced or closing: the next pattern starts from its own first step
        self._set(frozenset())

    def _set(self, on: frozenset[str]) -> None:
        for role, pin in self.outputs.items():
            self.pins.write(pin, role in on)
