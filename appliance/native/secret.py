"""Bytes that must never reach a log, a trace or the disk: PINs, PAN, track data.

Shared by the hardware layer (raw tracks, PIN digits) and the card protocol (PAN, track 2
equivalent), which may not import each other; it lives here, at the bottom of the stack.
"""

from __future__ import annotations


class Secret:
    """Bytes that must not reach a log or a trace; `reveal()` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes):
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<secret: {len(self._value)} bytes>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    __hash__ = None  # type: ignore[assignment]
