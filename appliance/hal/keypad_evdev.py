"""A USB numeric keypad read raw through evdev (`evdev:///dev/input/by-id/usb-...-event-kbd`).

Keys are named from their key codes, not from the characters the host would make of them,
so Num Lock and the keyboard layout change nothing. The device is grabbed: its keys reach
the daemon only, and a PIN typed on it never reaches a console. PIN entry works as on the
GPIO keypad (pin_entry). Auto-repeat is ignored: one press, one key.
"""

from __future__ import annotations

import threading

from evdev import ecodes as e

from appliance.hal.address import Address
from appliance.hal.base import Emit, Keypad
from appliance.hal.evdev_keys import DOWN, KeyEvents

KEY_NAMES: dict[int, str] = {
    **{getattr(e, f"KEY_{digit}"): str(digit) for digit in range(10)},
    **{getattr(e, f"KEY_KP{digit}"): str(digit) for digit in range(10)},
    e.KEY_KPDOT: ".", e.KEY_DOT: ".",
    e.KEY_ENTER: "ENTER", e.KEY_KPENTER: "ENTER",
    e.KEY_BACKSPACE: "CLEAR", e.KEY_ESC: "CLEAR",
    **{getattr(e, f"KEY_F{n}"): f"F{n}" for n in range(1, 13)},
}


class EvdevKeypad(Keypad):
    options = frozenset({"grab"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.input = KeyEvents(name, address)

    def open(self) -> None:
        self.info = self.input.open()

    def close(self) -> None:
        super().close()
        self.input.close()


    def run(self, emit: Emit, stop: threading.Event) -> None:
        for code, value, _ in self.input.keys(stop):
            name = KEY_NAMES.get(code)
            if value == DOWN and name is not None:
                event = self.keys.key(name)
                if event is not None:
                    emit(event)
