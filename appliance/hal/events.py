"""What devices tell the daemon, as typed, immutable events.

Sensitive payloads (raw magstripe tracks, PIN digits) travel inside `Secret`, whose repr
and str never show the content, so an event logged by mistake leaks nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from appliance.native.secret import Secret

__all__ = ["Secret", "Event", "Scanned", "KeyPressed", "PinEntered", "CardInserted", "CardRemoved", "Swiped",
           "Weighed", "DrawerChanged", "DeviceOnline", "DeviceOffline"]


@dataclass(frozen=True)
class Event:
    device: str  # the name of the device entry in the configuration
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass(frozen=True)
class Scanned(Event):
    code: str = ""
    symbology: str = ""  # from an AIM identifier (]E0 = EAN-13), when the scanner sends one


@dataclass(frozen=True)
class KeyPressed(Event):
    key: str = ""  # "0"-"9", ".", "00", "ENTER", "CLEAR", "CANCEL", "F1".. as the keypad names them


@dataclass(frozen=True)
class PinEntered(Event):
    pin: Secret = field(default_factory=lambda: Secret(b""))


@dataclass(frozen=True)
class CardInserted(Event):
    atr: bytes = b""
    contactless: bool = False


@dataclass(frozen=True)
class CardRemoved(Event):
    pass


@dataclass(frozen=True)
class Swiped(Event):
    tracks: Secret = field(default_factory=lambda: Secret(b""))  # raw track data, handed to appliance.emv


@dataclass(frozen=True)
class Weighed(Event):
    grams: int = 0
    stable: bool = False


@dataclass(frozen=True)
class DrawerChanged(Event):
    open: bool = False


@dataclass(frozen=True)
class DeviceOnline(Event):
    detail: str = ""


@dataclass(frozen=True)
class DeviceOffline(Event):
    reason: str = ""
