"""The keyboard as the till's keypad: F-keys, letters and the numeric block give the keypad's key names.

The names are those of `KeyEntry` (appliance/core/session.py), so a key typed on the
console goes the same way as one pressed on the keypad. The numeric block alone is
enough to sell: digits, point, Enter, "/" for the menu, "*" for QTY, "-" for VOID, "+"
for SUBTOTAL; the F-keys and letters cover the rest.
"""

from __future__ import annotations

from textual import events

KEYMAP: dict[str, str] = {
    "enter": "ENTER",
    "escape": "CLEAR", "backspace": "CLEAR",
    "f1": "MENU", "slash": "MENU",
    "f2": "QTY", "asterisk": "QTY", "q": "QTY",
    "f3": "VOID", "minus": "VOID", "v": "VOID",
    "f4": "SUBTOTAL", "plus": "SUBTOTAL", "t": "SUBTOTAL",
    "f5": "CASH", "c": "CASH",
    "f6": "CARD", "k": "CARD",
    "f7": "WALLET", "w": "WALLET",
    "f8": "SV", "s": "SV",
    "f9": "MEMBER", "m": "MEMBER",
    "f10": "SUSPEND", "p": "SUSPEND",
    "f11": "CANCEL", "x": "CANCEL",
    "f12": "DONE", "d": "DONE",
}


def keypad_key(event: events.Key) -> str | None:
    """The keypad key name of a keyboard key, or None for a key the till does not use."""
    if event.character is not None and (event.character.isdigit() and event.character.isascii()
                                        or event.character == "."):
        return event.character
    return KEYMAP.get(event.key)
