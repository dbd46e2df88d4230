"""A bar code scanner in USB keyboard mode, read raw through evdev (`evdev:///dev/input/by-id/usb-...-event-kbd`).

The scanner "types" each code and ends it with ENTER. We grab the device and decode its
key codes with our fixed US table (evdev_keys), so the host's keyboard layout can never
drop or change a digit, and a scan never lands in whatever window has the focus.

A scan's keys come within milliseconds of each other; a code left without ENTER (a
misread the scanner gave up on) is dropped when the next key comes after a pause of more
than GAP_S, measured on the kernel's event timestamps, so it never prefixes the next scan.
With `aim=1` (the scanner set to send AIM symbology identifiers) the leading "]E0" is
taken off the code and reported as its symbology.
"""

from __future__ import annotations

import logging
import threading

from appliance.hal.address import Address
from appliance.hal.base import Emit, Scanner
from appliance.hal.evdev_keys import DOWN, ENTER_KEYS, SHIFT_KEYS, US_KEYS, KeyEvents, flag_option
from appliance.hal.events import Scanned

log = logging.getLogger(__name__)

GAP_S = 0.5  # longer than any pause inside one scan, shorter than a cashier takes between scans
AIM_LENGTH = 3  # "]" + code character + modifier


class EvdevScanner(Scanner):
    options = frozenset({"grab", "aim"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.input = KeyEvents(name, address)
        self.aim = flag_option(address, "aim", False)

    def open(self) -> None:
        self.info = self.input.open()

    def close(self) -> None:
        self.input.close()

    def run(self, emit: Emit, stop: threading.Event) -> None:
        shifts: set[int] = set()
        chars: list[str] = []
        last_at = 0.0
        for code, value, at in self.input.keys(stop):
            if code in SHIFT_KEYS:
                if value:
                    shifts.add(code)
                else:
                    shifts.discard(code)
                continue
            if value != DOWN:
                continue  # releases, and auto-repeat, which a scanner never means
            if chars and at - last_at > GAP_S:
                log.warning("%s: dropped %d characters of a scan that never ended", self.name, len(chars))
                chars.clear()
            last_at = at
            if code in ENTER_KEYS:
                if chars:
                    emit(self._scanned("".join(chars)))
                    chars.clear()
            elif code in US_KEYS:
                chars.append(US_KEYS[code][1 if shifts else 0])

    def _scanned(self, text: str) -> Scanned:
        if self.aim and text.startswith("]") and len(text) > AIM_LENGTH:
            return Scanned(self.name, code=text[AIM_LENGTH:], symbology=text[:AIM_LENGTH])
        return Scanned(self.name, code=text)
