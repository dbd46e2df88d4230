"""The APDU layer: command APDUs, and a card channel over any `transmit(apdu) -> (data, sw1, sw2)`.

ISO/IEC 7816-4 and EMV Book 1 9.3: on T=0, a card answering 61xx has xx more bytes
waiting (fetched with GET RESPONSE) and 6Cxx asks for the same command again with
Le = xx. Status words other than 9000 (and the warnings a flow handles itself) become
CardError with a code, so a flow decides on names, not numbers. A transport that reports
the card gone raises CardRemoved.
"""

from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)

Transmit = Callable[[bytes], tuple[bytes, int, int]]

# The status words the flows care about, by name (ISO 7816-4, EMV Book 1 and Book 3).
STATUS = {
    0x9000: "ok",
    0x6283: "selected_file_invalidated",  # application blocked (EMV Book 1 12.3.3)
    0x6300: "verification_failed",
    0x6700: "wrong_length",
    0x6981: "command_incompatible",
    0x6983: "pin_blocked",  # authentication method blocked
    0x6984: "reference_data_invalidated",
    0x6985: "conditions_not_satisfied",
    0x6A81: "function_not_supported",  # card blocked
    0x6A82: "file_not_found",
    0x6A83: "record_not_found",
    0x6A88: "referenced_data_not_found",
    0x6D00: "instruction_not_supported",
    0x6E00: "class_not_supported",
}


class CardError(Exception):
    """The card refused a command: `code` names the status word (or what went wrong)."""

    def __init__(self, message: str, *, sw: int | None = None, code: str | None = None):
        super().__init__(message)
        self.sw = sw
        self.code = code or (STATUS.get(sw, f"sw_{sw:04X}") if sw is not None else "card_error")


class CardRemoved(CardError):
    """The card left the reader (or the field) during the transaction."""

    def __init__(self, message: str = "the card was removed during the transaction"):
        super().__init__(message, code="card_removed")


def command(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = 0) -> bytes:
    """A short APDU: CLA INS P1 P2 [Lc data] [Le]; le None leaves Le out (case 1 or 3)."""
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    if le is not None:
        apdu += bytes([le & 0xFF])
    return apdu


def select(name: bytes, *, next_occurrence: bool = False) -> bytes:
    return command(0x00, 0xA4, 0x04, 0x02 if next_occurrence else 0x00, name, 0)


def read_record(sfi: int, record: int) -> bytes:
    return command(0x00, 0xB2, record, (sfi << 3) | 0x04, le=0)


def get_processing_options(pdol_data: bytes) -> bytes:
    return command(0x80, 0xA8, 0x00, 0x00, b"\x83" + bytes([len(pdol_data)]) + pdol_data, 0)


def get_data(tag: int) -> bytes:
    return command(0x80, 0xCA, tag >> 8, tag & 0xFF, le=0)


def verify_plaintext_pin(pin_block: bytes) -> bytes:
    """VERIFY with P2 = 0x80: plaintext PIN in the ICC's PIN block format (EMV Book 3 6.5.12)."""
    return command(0x00, 0x20, 0x00, 0x80, pin_block, le=None)


def generate_ac(reference_control: int, cdol_data: bytes) -> bytes:
    """P1: 0x00 AAC, 0x40 TC, 0x80 ARQC (EMV Book 3 6.5.5)."""
    return command(0x80, 0xAE, reference_control, 0x00, cdol_data, 0)


def internal_authenticate(ddol_data: bytes) -> bytes:
    return command(0x00, 0x88, 0x00, 0x00, ddol_data, 0)


def external_authenticate(issuer_authentication_data: bytes) -> bytes:
    return command(0x00, 0x82, 0x00, 0x00, issuer_authentication_data, le=None)


class Channel:
    """Exchanges with one card: T=0 chaining handled, failures typed, nothing sensitive logged."""

    def __init__(self, transmit: Transmit):
        self._transmit = transmit
        self.exchanges = 0

    def _raw(self, apdu: bytes) -> tuple[bytes, int, int]:
        self.exchanges += 1
        try:
            data, sw1, sw2 = self._transmit(apdu)
        except CardRemoved:
            raise
        except Exception as exc:  # the reader's own error type: removed card, reader gone
            if getattr(exc, "code", "") == "card_removed":
                raise CardRemoved() from exc
            raise CardError(f"the reader failed: {exc}", code="reader_error") from exc
        log.debug("C-APDU %02X%02X %d bytes -> SW %02X%02X, %d bytes", apdu[0], apdu[1], len(apdu), sw1, sw2, len(data))
        return bytes(data), sw1, sw2

    def exchange(self, apdu: bytes, *, allowed: frozenset[int] = frozenset({0x9000})) -> tuple[bytes, int]:
        """Send a command; returns (response data, SW) or raises CardError for a status not allowed."""
        data, sw1, sw2 = self._raw(apdu)
        if sw1 == 0x6C:  # wrong Le: send again with the length the card asks for
            data, sw1, sw2 = self._raw(apdu[:-1] + bytes([sw2]) if len(apdu) > 4 else apdu + bytes([sw2]))
        collected = bytearray(data)
        while sw1 == 0x61:  # more data waiting: GET RESPONSE
            data, sw1, sw2 = self._raw(command(0x00, 0xC0, 0x00, 0x00, le=sw2))
            collected += data
        sw = sw1 << 8 | sw2
        if sw not in allowed and not (sw1 == 0x63 and sw2 & 0xF0 == 0xC0 and 0x63C0 in allowed):
            name = STATUS.get(sw, f"status {sw:04X}")
            raise CardError(f"the card answered {sw:04X} ({name})", sw=sw)
        return bytes(collected), sw
