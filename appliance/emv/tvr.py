"""Terminal Verification Results and Transaction Status Information (EMV Book 3 Annex C5, C6).

Both are bit fields kept for the whole transaction and printed in traces by name.
Bits are named (byte, bit) with bytes counted from 1 and bits from 8 (leftmost) to 1,
as the books write them.
"""

from __future__ import annotations

TVR_BITS = {
    (1, 8): "offline data authentication was not performed",
    (1, 7): "SDA failed",
    (1, 6): "ICC data missing",
    (1, 5): "card appears on terminal exception file",
    (1, 4): "DDA failed",
    (1, 3): "CDA failed",
    (2, 8): "ICC and terminal have different application versions",
    (2, 7): "expired application",
    (2, 6): "application not yet effective",
    (2, 5): "requested service not allowed for card product",
    (2, 4): "new card",
    (3, 8): "cardholder verification was not successful",
    (3, 7): "unrecognised CVM",
    (3, 6): "PIN try limit exceeded",
    (3, 5): "PIN entry required and PIN pad not present or not working",
    (3, 4): "PIN entry required, PIN pad present, but PIN was not entered",
    (3, 3): "online PIN entered",
    (4, 8): "transaction exceeds floor limit",
    (4, 7): "lower consecutive offline limit exceeded",
    (4, 6): "upper consecutive offline limit exceeded",
    (4, 5): "transaction selected randomly for online processing",
    (4, 4): "merchant forced transaction online",
    (5, 8): "default TDOL used",
    (5, 7): "issuer authentication failed",
    (5, 6): "script processing failed before final GENERATE AC",
    (5, 5): "script processing failed after final GENERATE AC",
}

TSI_BITS = {
    (1, 8): "offline data authentication was performed",
    (1, 7): "cardholder verification was performed",
    (1, 6): "card risk management was performed",
    (1, 5): "issuer authentication was performed",
    (1, 4): "terminal risk management was performed",
    (1, 3): "script processing was performed",
}


class Bits:
    """A named bit field of a fixed number of bytes."""

    def __init__(self, size: int, names: dict[tuple[int, int], str], value: bytes | None = None):
        self.names = names
        self.value = bytearray(value if value is not None else bytes(size))
        if len(self.value) != size:
            raise ValueError(f"expected {size} bytes")

    def set(self, byte: int, bit: int) -> None:
        self.value[byte - 1] |= 1 << (bit - 1)

    def is_set(self, byte: int, bit: int) -> bool:
        return bool(self.value[byte - 1] & (1 << (bit - 1)))

    def __bytes__(self) -> bytes:
        return bytes(self.value)

    def hex(self) -> str:
        return self.value.hex().upper()

    def describe(self) -> list[str]:
        return [name for (byte, bit), name in self.names.items() if self.is_set(byte, bit)]


def tvr(value: bytes | None = None) -> Bits:
    return Bits(5, TVR_BITS, value)


def tsi(value: bytes | None = None) -> Bits:
    return Bits(2, TSI_BITS, value)
