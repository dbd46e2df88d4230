"""Keyboard-like USB devices (scanners in keyboard mode, numeric keypads) read raw through evdev.

Key codes are turned into characters by the fixed US table below, never by the host's
keyboard layout: a terminal set to a French or German layout would otherwise read a
scanned "1" as "&" or swap Y and Z. The device is grabbed (EVIOCGRAB), so its keystrokes
reach only us, never the console or the operator screen.
"""

from __future__ import annotations

import errno
import select
import threading
from collections.abc import Iterator
from typing import Any

import evdev
from evdev import ecodes as e

from appliance.hal.address import Address
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable

POLL = 0.05  # how often a waiting loop looks at its stop flag, in seconds
DOWN = 1  # EV_KEY values: 0 release, 1 press, 2 auto-repeat

# key code: (character, character with shift) on a US keyboard
US_KEYS: dict[int, tuple[str, str]] = {
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", "@"), e.KEY_3: ("3", "#"), e.KEY_4: ("4", "$"), e.KEY_5: ("5", "%"),
    e.KEY_6: ("6", "^"), e.KEY_7: ("7", "&"), e.KEY_8: ("8", "*"), e.KEY_9: ("9", "("), e.KEY_0: ("0", ")"),
    e.KEY_MINUS: ("-", "_"), e.KEY_EQUAL: ("=", "+"), e.KEY_LEFTBRACE: ("[", "{"), e.KEY_RIGHTBRACE: ("]", "}"),
    e.KEY_SEMICOLON: (";", ":"), e.KEY_APOSTROPHE: ("'", '"'), e.KEY_GRAVE: ("`", "~"),
    e.KEY_BACKSLASH: ("\\", "|"), e.KEY_COMMA: (",", "<"), e.KEY_DOT: (".", ">"), e.KEY_SLASH: ("/", "?"),
    e.KEY_SPACE: (" ", " "),
    **{getattr(e, f"KEY_{letter}"): (letter.lower(), letter) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    # the numeric keypad has codes of its own: digits whatever the host's Num Lock says
    **{getattr(e, f"KEY_KP{digit}"): (str(digit), str(digit)) for digit in range(10)},
    e.KEY_KPDOT: (".", "."), e.KEY_KPMINUS: ("-", "-"), e.KEY_KPPLUS: ("+", "+"),
    e.KEY_KPASTERISK: ("*", "*"), e.KEY_KPSLASH: ("/", "/"),
}
SHIFT_KEYS = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
ENTER_KEYS = frozenset({e.KEY_ENTER, e.KEY_KPENTER})


def flag_option(address: Address, name: str, default: bool) -> bool:
    text = address.param(name, "1" if default else "0")
    if text not in ("0", "1"):
        raise DeviceConfigError(f"{name}={text!r} in {address.raw!r} must be 1 or 0")
    return text == "1"


class KeyEvents:
    """One event device, opened (and grabbed) by path, handing out its key events until stopped."""

    def __init__(self, device: str, address: Address):
        self.device = device
        self.path = address.target
        self.grab = flag_option(address, "grab", True)
        self._input: Any = None

    def open(self) -> str:
        """Open and grab the device; returns the name it reports."""
        try:
            device = evdev.InputDevice(self.path)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {exc.strerror or exc}", device=self.device) from exc
        if self.grab:
            try:
                device.grab()
            except OSError as exc:
                device.close()
                busy = exc.errno == errno.EBUSY
                hint = f" (another program has grabbed it; `fuser -v {self.path}` names it)" if busy else ""
                raise DeviceUnavailable(f"cannot take {self.path} for ourselves{hint}: {exc}", device=self.device) from exc
        self._input = device
        return str(device.name or self.path)

    def close(self) -> None:
        device, self._input = self._input, None
        if device is None:
            return
        try:
            if self.grab:
                device.ungrab()
        except OSError:
            pass  # a device that has gone cannot be ungrabbed, and no longer needs to be
        finally:
            device.close()

    def keys(self, stop: threading.Event) -> Iterator[tuple[int, int, float]]:
        """(key code, value, kernel timestamp) of each EV_KEY event until `stop` is set."""
        device = self._input
        if device is None:
            raise DeviceUnavailable("not open", device=self.device)
        while not stop.is_set():
            try:
                ready, _, _ = select.select([device], [], [], POLL)
                if not ready:
                    continue
                batch = [(ev.code, ev.value, ev.timestamp()) for ev in device.read() if ev.type == e.EV_KEY]
            except BlockingIOError:
                continue  # woken without a whole event to read
            except OSError as exc:
                if exc.errno == errno.ENODEV:
                    raise DeviceIOError(f"{self.path} has gone (unplugged?)", device=self.device, code="gone") from exc
                raise DeviceIOError(f"reading {self.path} failed: {exc}", device=self.device) from exc
            yield from batch
