"""Check digits and framing checksums in pure Python: the reference for checkdigit.c and crc.c."""

from __future__ import annotations


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def luhn_check(digits: str) -> int:
    """0 valid, 1 invalid, -1 when empty or not all ASCII digits (ISO/IEC 7812-1)."""
    if not digits or not _ascii_digits(digits):
        return -1
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return 0 if total % 10 == 0 else 1


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of the digits before it (weights 3,1,3,... from the right); -1 if not digits."""
    if body and not _ascii_digits(body):
        return -1
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def lrc_xor(data: bytes) -> int:
    lrc = 0
    for byte in data:
        lrc ^= byte
    return lrc
