"""A cash drawer's solenoid and open sensor on GPIO pins (`gpio://drawer?solenoid=23&sensor=24&pulse_ms=100&open_level=high`).

`kick()` energises the solenoid (through a driver transistor, active high) for pulse_ms
and releases it before returning: the same call that switches the coil on switches it
off, because a coil left on by a lost timer overheats. The sensor is a switch read with
a pull-up; `open_level` says which level means "open". `run()` watches it (polled and
debounced, see gpio_pins) and reports each change as DrawerChanged, so the daemon knows
when the cashier has shut the drawer.
"""

from __future__ import annotations

import math
import threading
import time

from appliance.hal.address import Address
from appliance.hal.base import CashDrawer, Emit
from appliance.hal.errors import DeviceConfigError
from appliance.hal.events import DrawerChanged
from appliance.hal.gpio_pins import Debouncer, Pins, check_distinct, pin_option

WATCH_S = 0.01  # how often run() reads the sensor


class GpioDrawer(CashDrawer):
    options = frozenset({"solenoid", "sensor", "pulse_ms", "open_level", "debounce_ms"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        solenoid = pin_option(address, "solenoid")
        if solenoid is None:
            raise DeviceConfigError(f"{address.raw!r} needs solenoid=, the BCM pin that drives the drawer's solenoid")
        self.solenoid = solenoid
        self.sensor = pin_option(address, "sensor")
        check_distinct(address, {"solenoid": [solenoid], "sensor": [] if self.sensor is None else [self.sensor]})
        self.pulse_s = address.int_param("pulse_ms", 100, 10, 500) / 1000
        level = (address.param("open_level", "high") or "").lower()
        if level not in ("high", "low"):
            raise DeviceConfigError(f"open_level={level!r} in {address.raw!r} must be high or low")
        self.open_level = level == "high"
        debounce_ms = address.int_param("debounce_ms", 50, 0, 1000)
        self.reads_needed = max(1, math.ceil(debounce_ms / (WATCH_S * 1000)))
        self.pins = Pins(name)
        self._kicking = threading.Lock()
        self.info = f"GPIO drawer, solenoid={solenoid}" + (f" sensor={self.sensor}" if self.sensor is not None else "")

    def open(self) -> None:
        self.pins.open()
        try:
            self.pins.setup_output(self.solenoid, False)
            if self.sensor is not None:
                self.pins.setup_input(self.sensor, pull_up=True)
        except BaseException:
            self.pins.close()
            raise

    def close(self) -> None:
        self.pins.close()

    def kick(self) -> None:
        with self._kicking:  # a second kick waits rather than stretching the first pulse
            self.pins.write(self.solenoid, True)
            try:
                time.sleep(self.pulse_s)
            finally:
                self.pins.write(self.solenoid, False)

    def is_open(self) -> bool | None:
        return None if self.sensor is None else self._sensor_open(self.sensor)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Report the drawer's state now and at every debounced change, until `stop`."""
        pin = self.sensor
        if pin is None:
            stop.wait()  # nothing to watch; keep the slot like any input device
            return
        drawer = Debouncer(self.reads_needed, state=self._sensor_open(pin))
        emit(DrawerChanged(self.name, open=drawer.state))
        while not stop.wait(WATCH_S):
            if drawer.update(self._sensor_open(pin)):
                emit(DrawerChanged(self.name, open=drawer.state))

    def _sensor_open(self, pin: int) -> bool:
        return self.pins.read(pin) == self.open_level
