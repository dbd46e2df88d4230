"""PIN entry on a keypad: digits collected privately and handed over once, never as keys.

While the keypad's `pin_mode` is set, digits go into a bytearray that is overwritten as
soon as the PIN is sent or abandoned; ENTER sends one PinEntered holding a Secret, CLEAR
starts again. Nothing here logs a key, so a PIN cannot reach a log file.
"""

from __future__ import annotations

import logging
import threading

from appliance.hal.events import Event, KeyPressed, PinEntered, Secret

log = logging.getLogger(__name__)

MAX_DIGITS = 12  # ISO 9564-1: a PIN has 4 to 12 digits; more keys are not kept


class PinEntry:
    """Turns key names into events, holding back digits while PIN entry is on."""

    def __init__(self, device: str, mode: threading.Event):
        self.device = device
        self.mode = mode
        self._digits = bytearray()
        self._lock = threading.Lock()  # begin() comes from the daemon, key() from the reading thread

    def begin(self) -> None:
        """Start a PIN with nothing typed, whatever an abandoned entry left behind."""
        with self._lock:
            self._wipe()
            self.mode.set()
        log.info("%s: PIN entry started", self.device)

    def key(self, key: str) -> Event | None:
        """The event for one key press, or None while a PIN is being typed."""
        with self._lock:
            if not self.mode.is_set():
                self._wipe()  # the daemon ended PIN entry without ENTER
                return KeyPressed(self.device, key=key)
            if len(key) == 1 and key.isdigit():
                if len(self._digits) < MAX_DIGITS:
                    self._digits.append(ord(key))
                return None
            if key == "CLEAR":
                self._wipe()
                return None
            if key != "ENTER":
                return None  # function keys mean nothing inside a PIN
            event = PinEntered(self.device, pin=Secret(self._digits))
            self._wipe()
            self.mode.clear()
        log.info("%s: PIN entered", self.device)
        return event

    def wipe(self) -> None:
        """Forget any digits typed so far (on close)."""
        with self._lock:
            self._wipe()

    def _wipe(self) -> None:
        self._digits[:] = bytes(len(self._digits))
        self._digits.clear()
