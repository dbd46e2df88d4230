"""ISO 8583:1987 messages between the terminal and its acquirer: field spec, codec, framing, masked logs.

One interface, ours and the reference acquirer's (acquirer/server.py): ASCII message type,
binary bitmaps, ASCII fields except the PIN block (52) and the ICC data (55), which are
binary. Every message travels in a frame with a 2-byte big-endian length header, the
usual TCP framing of acquirer links. A field dict maps field numbers as strings ("2",
"55") and "t" (the MTI) to values: `str` for text fields, `bytes` for 52 and 55.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Mapping

import iso8583

from appliance.emv import tlv, trace
from appliance.errors import InputError


class MessageError(InputError):
    """A message that cannot be encoded or decoded; `field` names the culprit ("t" is the MTI)."""

    code = "iso8583"

    def __init__(self, field: str, reason: str):
        super().__init__(reason, where=f"field {field}")
        self.field = field


class ConnectionClosed(EOFError):
    """The peer closed the connection before a whole frame arrived."""


def _field(data_enc: str, len_type: int, max_len: int, desc: str) -> dict[str, Any]:
    return {"data_enc": data_enc, "len_enc": "ascii", "len_type": len_type, "max_len": max_len, "desc": desc}


FIXED, LLVAR, LLLVAR = 0, 2, 3

# The shape of iso8583.specs.default_ascii, cut to the fields this interface uses. A field
# outside the spec is refused by name rather than guessed at. Field 65 stays out: in
# pyiso8583 4.x bit 65 announces a tertiary bitmap, which no message here needs.
SPEC: dict[str, dict[str, Any]] = {
    "h": _field("ascii", FIXED, 0, "Message Header"),
    "t": _field("ascii", FIXED, 4, "Message Type"),
    "p": _field("b", FIXED, 8, "Bitmap, Primary"),
    "1": _field("b", FIXED, 8, "Bitmap, Secondary"),
    "2": _field("ascii", LLVAR, 19, "Primary Account Number (PAN)"),
    "3": _field("ascii", FIXED, 6, "Processing Code"),
    "4": _field("ascii", FIXED, 12, "Amount, Transaction"),
    "7": _field("ascii", FIXED, 10, "Transmission Date and Time (MMDDhhmmss)"),
    "11": _field("ascii", FIXED, 6, "System Trace Audit Number (STAN)"),
    "12": _field("ascii", FIXED, 6, "Time, Local Transaction (hhmmss)"),
    "13": _field("ascii", FIXED, 4, "Date, Local Transaction (MMDD)"),
    "14": _field("ascii", FIXED, 4, "Date, Expiration (YYMM)"),
    "22": _field("ascii", FIXED, 3, "Point of Service Entry Mode"),
    "23": _field("ascii", FIXED, 3, "Card Sequence Number"),
    "25": _field("ascii", FIXED, 2, "Point of Service Condition Code"),
    "35": _field("ascii", LLVAR, 37, "Track 2 Data"),
    "37": _field("ascii", FIXED, 12, "Retrieval Reference Number"),
    "38": _field("ascii", FIXED, 6, "Authorization ID Response"),
    "39": _field("ascii", FIXED, 2, "Response Code"),
    "41": _field("ascii", FIXED, 8, "Card Acceptor Terminal Identification"),
    "42": _field("ascii", FIXED, 15, "Card Acceptor Identification Code"),
    "49": _field("ascii", FIXED, 3, "Currency Code, Transaction"),
    "52": _field("b", FIXED, 8, "PIN Data"),
    "54": _field("ascii", LLLVAR, 120, "Additional Amounts"),
    "55": _field("b", LLLVAR, 255, "ICC Data"),
    "60": _field("ascii", LLLVAR, 100, "Batch Number / Reversal Reason"),
    # Private use: card data of an offline advice, sealed (RSA-OAEP) to the acquirer's key
    # so the terminal never stores it readable (see appliance/core/card_data.py).
    "62": _field("b", LLLVAR, 512, "Sealed Card Data"),
    "63": _field("ascii", LLLVAR, 100, "Settlement Totals"),
    "90": _field("ascii", FIXED, 42, "Original Data Elements"),
    "95": _field("ascii", FIXED, 42, "Replacement Amounts"),
}

BINARY = frozenset({"52", "55", "62"})
NUMERIC = frozenset({"2", "3", "4", "7", "11", "12", "13", "14", "22", "23", "25", "49", "90", "95"})
TRACK2_CHARS = frozenset("0123456789=D")

# Request MTI -> response MTI (ISO 8583:1987 message classes 1, 2, 4, 5, 8).
RESPONSE_MTI = {
    "0100": "0110",  # authorisation (a pre-authorisation or a chip ARQC)
    "0200": "0210",  # financial: the authorisation that also posts
    "0220": "0230",  # advice: a transaction the terminal approved offline, uploaded afterwards
    "0400": "0410",  # reversal: undo an authorisation whose answer was lost or refused by the card
    "0500": "0510",  # batch close (reconciliation) with totals in 63
    "0800": "0810",  # network management: echo, sign-on
}
MTIS = frozenset(RESPONSE_MTI) | frozenset(RESPONSE_MTI.values())

HEADER = 2  # bytes of big-endian length before every message
MAX_FRAME = 0xFFFF


@dataclass(frozen=True)
class Totals:
    """Reconciliation totals carried in field 63 of 0500/0510: count and amount of debits and credits."""

    debit_count: int = 0
    debit_amount: int = 0
    credit_count: int = 0
    credit_amount: int = 0

    def to_field(self) -> str:
        # n4 n12 n4 n12: the layout many acquirers use for private-use totals in 63.
        return f"{self.debit_count:04d}{self.debit_amount:012d}{self.credit_count:04d}{self.credit_amount:012d}"

    @classmethod
    def from_field(cls, text: str) -> "Totals":
        if len(text) != 32 or not text.isdigit():
            raise MessageError("63", "settlement totals must be 32 digits (n4 n12 n4 n12)")
        return cls(int(text[:4]), int(text[4:16]), int(text[16:20]), int(text[20:32]))


def _check(fields: Mapping[str, Any]) -> None:
    """Content rules pyiso8583 leaves to us: known MTI and fields, digits where the field is numeric."""
    mti = fields.get("t")
    if mti not in MTIS:
        raise MessageError("t", "unknown or missing message type (MTI)")
    for key, value in fields.items():
        if key == "t":
            continue
        if key not in SPEC or key in ("h", "p", "1"):
            raise MessageError(key, "this field is not part of the interface")
        if key in BINARY:
            if not isinstance(value, (bytes, bytearray)):
                raise MessageError(key, "binary field must be bytes")
        elif not isinstance(value, str):
            raise MessageError(key, "text field must be str")
        elif key in NUMERIC and not value.isdigit():
            raise MessageError(key, "must be digits only")
        elif key == "35" and not set(value) <= TRACK2_CHARS:
            raise MessageError(key, "track 2 data holds digits and the separator only")


def encode(fields: Mapping[str, Any]) -> bytes:
    """The message bytes (without the frame header); bitmaps are computed from the fields present."""
    _check(fields)
    doc = {key: (bytes(value).hex().upper() if key in BINARY else value) for key, value in fields.items()}
    try:
        raw, _ = iso8583.encode(doc, SPEC)
    except iso8583.EncodeError as exc:
        # exc.msg names the length problem; never the value, which may be card data.
        raise MessageError(exc.field, exc.msg) from None
    return bytes(raw)


def decode(raw: bytes) -> dict[str, Any]:
    """The fields of one message; malformed input raises MessageError naming the field."""
    try:
        doc, _ = iso8583.decode(bytes(raw), SPEC)
    except iso8583.DecodeError as exc:
        raise MessageError(exc.field, f"{exc.msg} at byte {exc.pos}") from None
    except KeyError as exc:  # a bit set for a field outside SPEC
        raise MessageError(str(exc.args[0]), "this field is not part of the interface") from None
    doc.pop("p", None)
    doc.pop("1", None)
    fields: dict[str, Any] = {key: (bytes.fromhex(value) if key in BINARY else value) for key, value in doc.items()}
    _check(fields)
    return fields


def frame(payload: bytes) -> bytes:
    """The payload behind its 2-byte big-endian length."""
    if len(payload) > MAX_FRAME:
        raise MessageError("t", f"message of {len(payload)} bytes is longer than a frame can carry")
    return len(payload).to_bytes(HEADER, "big") + payload


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionClosed(f"connection closed after {len(chunks)} of {n} bytes")
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: socket.socket) -> bytes:
    """One frame's payload; socket timeouts propagate as TimeoutError, a closed peer as ConnectionClosed."""
    length = int.from_bytes(_read_exactly(sock, HEADER), "big")
    return _read_exactly(sock, length)


def _shown(key: str, value: Any) -> str:
    if key == "2":
        return trace.masked_pan(value)
    if key == "35":
        return f"<track 2, {len(value)} chars masked>"
    if key == "52":
        return "<PIN block masked>"  # not even its length: the block's presence is all a log needs
    if key == "62":
        return f"<sealed card data, {len(value)} bytes>"
    if key == "55":
        try:
            return "[" + "; ".join(line.strip() for line in trace.lines(tlv.decode(value))) + "]"
        except ValueError:
            return f"<{len(value)} bytes, not TLV>"
    return value if isinstance(value, str) else bytes(value).hex().upper()


def describe(fields: Mapping[str, Any]) -> str:
    """One log line for a message with card data masked (PAN 6+4, track 2 and PIN block hidden)."""
    parts = [str(fields.get("t", "????"))]
    for key in sorted((k for k in fields if k != "t"), key=lambda k: int(k) if k.isdigit() else 0):
        parts.append(f"{key}={_shown(key, fields[key])}")
    return " ".join(parts)
