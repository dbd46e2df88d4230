"""The terminal's side of the acquirer link: ISO 8583 requests over framed TCP, typed replies and errors.

One TCP connection per request: a till sends a few messages a minute, and a fresh
connection cannot be left half-read by an earlier timeout. What the caller must do after
each failure differs, so each has its own error (EMV Book 4 6.3.6, acquirer practice):

- HostUnreachable: nothing was sent; the kernel may decide offline (Book 3 10.9).
- HostTimeout: the request left but no answer came in time; the host may have approved
  it, so the caller declines and queues a reversal (0400).
- HostProtocolError: an answer that cannot be trusted (garbage, wrong MTI, wrong STAN,
  connection closed without an answer): handled exactly like a timeout.
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping

from appliance.emv import iso8583, tlv
from appliance.emv.iso8583 import MessageError, Totals
from appliance.errors import ApplianceError
from appliance.native.secret import Secret

RESPONSE_CODES = {
    "00": "approved",
    "01": "refer to card issuer",
    "05": "do not honour",
    "51": "insufficient funds",
    "54": "expired card",
    "55": "incorrect PIN",
    "91": "issuer unavailable",
    "95": "reconciliation error",
    "96": "system malfunction",
    # Book 4 A6 (8A values the terminal itself sets when it decides offline):
    "Y1": "approved offline",
    "Y3": "approved offline (unable to go online)",
    "Z1": "declined offline",
    "Z3": "declined offline (unable to go online)",
}


def response_text(code: str) -> str:
    """The receipt and operator text for a response code (field 39 / tag 8A)."""
    return RESPONSE_CODES.get(code, f"declined (response code {code!r})")


# What identifies a request for its reversal (field 90) without card data, so a queued
# reversal can wait on disk or in memory for as long as the link is down.
IDENTITY = ("t", "3", "4", "7", "11", "12", "13", "49")


class HostError(ApplianceError):
    """The acquirer could not give an answer; the subclass says what the caller must do.

    `original` is the request's identity (IDENTITY fields, no card data): what
    `HostClient.reverse` needs after a timeout or a protocol error.
    """

    code = "host"
    original: dict[str, str] = {}


class HostUnreachable(HostError, ConnectionError):
    """Nothing was sent (no connection): the kernel may approve or decline offline."""

    code = "host_unreachable"


class HostTimeout(HostError, TimeoutError):
    """The request was sent but no answer came in time: decline and queue a reversal."""

    code = "host_timeout"


class HostProtocolError(HostError):
    """An answer that cannot be trusted: decline and queue a reversal, as for a timeout."""

    code = "host_protocol"


@dataclass(frozen=True)
class AuthRequest:
    """One card transaction as the acquirer needs it; card data stays in Secrets until encoding."""

    stan: int  # 1..999999, unique per terminal per day
    amount: int  # minor units, tip included
    currency: str  # ISO 4217 numeric, "978"
    pan: Secret  # ASCII digits
    expiry: str  # YYMM
    local_time: datetime
    track2: Secret | None = None  # ASCII, "D" or "=" as separator
    psn: str = ""  # PAN sequence number (5F34), "" when the card has none
    entry_mode: str = "051"  # 051 chip, 071 contactless chip, 901 magstripe, 801 fallback
    icc_data: bytes = b""  # field 55 TLV
    pin_block: Secret | None = None  # ISO 9564 format 0, already encrypted under the PIN key
    tip: int = 0  # part of `amount`, reported in field 54
    processing_code: str = "000000"  # 00 goods and services; 20 refund
    sealed_card: bytes = b""  # offline advices: PAN, PSN and expiry sealed to the acquirer's key (field 62), pan empty


@dataclass(frozen=True)
class HostReply:
    mti: str
    response_code: str
    auth_code: str = ""
    rrn: str = ""
    issuer_auth_data: bytes = b""  # tag 91 of field 55: ARPC + ARC, for the card's 2nd GENERATE AC
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    original: Mapping[str, str] = field(default_factory=dict, repr=False)  # to reverse it if the card declines

    @property
    def approved(self) -> bool:
        return self.response_code == "00"

    @property
    def text(self) -> str:
        return response_text(self.response_code)


def _stan(value: int) -> str:
    if not 0 < value <= 999_999:
        raise ValueError(f"STAN {value} is outside 1..999999")
    return f"{value:06d}"


class HostClient:
    """Sends one request per connection to the acquirer at host:port and checks the answer belongs to it."""

    def __init__(self, host: str, port: int, *, timeout: float, terminal_id: str, merchant_id: str):
        self.host, self.port, self.timeout = host, port, timeout
        self.terminal_id, self.merchant_id = terminal_id, merchant_id
        # STANs for messages that carry no card transaction (echo, batch close).
        self._stans = itertools.cycle(range(1, 1_000_000))

    # --- requests

    def authorize(self, request: AuthRequest) -> HostReply:
        """0100: authorisation (a chip ARQC, a pre-authorisation)."""
        return self._exchange(self.message("0100", request))

    def financial(self, request: AuthRequest) -> HostReply:
        """0200: authorisation that also posts (single-message acquirers)."""
        return self._exchange(self.message("0200", request))

    def advice(self, request: AuthRequest, response_code: str = "Y1") -> HostReply:
        """0220: upload a transaction the card approved offline ("Y1", or "Y3" when the host was unreachable)."""
        fields = self.message("0220", request)
        fields["39"] = response_code
        return self._exchange(fields)

    def reverse(self, original: Mapping[str, Any], reason: str) -> HostReply:
        """0400 for `original` (`HostReply.original`, `HostError.original`, or the fields of `message`).

        Carries only what identifies the original (MTI, STAN, transmission time in 90,
        terminal) and its amount, never card data, so a queued reversal holds no PAN.
        The STAN is the original's: a repeated reversal is the same message.
        """
        fields = {key: original[key] for key in IDENTITY[1:] if key in original}
        fields.update(
            {
                "t": "0400",
                "41": self.terminal_id,
                "42": self.merchant_id,
                "60": reason[:100],
                "90": f"{original['t']}{original['11']}{original['7']}" + "0" * 22,
            }
        )
        return self._exchange(fields)

    def batch_close(self, batch: int, totals: Totals) -> HostReply:
        """0500: the terminal's totals for `batch`; "00" in balance, "95" not (then settle by detail)."""
        fields = self._header("0500", next(self._stans))
        fields.update({"60": f"{batch:06d}", "63": totals.to_field()})
        return self._exchange(fields)

    def echo(self) -> HostReply:
        """0800 echo test (network management code 301 in 70 is left out: this host needs none)."""
        return self._exchange(self._header("0800", next(self._stans)))

    # --- building and exchanging

    def _header(self, mti: str, stan: int, at: datetime | None = None) -> dict[str, Any]:
        # Field 7 is the request's own time, so a reversal queued before the request left
        # (or after a restart) names the same transmission time in its field 90.
        sent = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        return {"t": mti, "7": sent.strftime("%m%d%H%M%S"), "11": _stan(stan), "41": self.terminal_id, "42": self.merchant_id}

    def message(self, mti: str, request: AuthRequest) -> dict[str, Any]:
        """The request's fields, card data revealed here and only here (the dict must not be logged raw)."""
        fields = self._header(mti, request.stan, request.local_time)
        fields.update(
            {
                "3": request.processing_code,
                "4": f"{request.amount:012d}",
                "12": request.local_time.strftime("%H%M%S"),
                "13": request.local_time.strftime("%m%d"),
                "22": request.entry_mode,
                "25": "00",  # normal presentment
                "49": request.currency,
            }
        )
        if request.sealed_card:
            fields["62"] = bytes(request.sealed_card)
        else:
            fields["2"] = request.pan.reveal().decode("ascii")
            fields["14"] = request.expiry
        if request.psn and not request.sealed_card:
            fields["23"] = request.psn.zfill(3)
        if request.track2 is not None:
            fields["35"] = request.track2.reveal().decode("ascii").replace("=", "D").upper().rstrip("F")
        if request.pin_block is not None:
            fields["52"] = request.pin_block.reveal()
        if request.tip:
            # Additional amounts (ISO 8583 54): account type 00, amount type 44 (gratuity),
            # currency, C for credit to the merchant, n12 amount.
            fields["54"] = f"0044{request.currency}C{request.tip:012d}"
        if request.icc_data:
            fields["55"] = bytes(request.icc_data)
        return fields

    def _exchange(self, fields: dict[str, Any]) -> HostReply:
        original = {key: fields[key] for key in IDENTITY if key in fields}
        try:
            return replace(self._send(fields), original=original)
        except HostError as exc:
            exc.original = original
            raise

    def _send(self, fields: dict[str, Any]) -> HostReply:
        payload = iso8583.frame(iso8583.encode(fields))
        where = f"acquirer {self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:  # refused, no route, DNS, connect timeout: nothing was sent
            raise HostUnreachable(f"cannot connect ({exc.strerror or exc})", where=where) from exc
        with sock:
            try:
                sock.sendall(payload)
                raw = iso8583.read_frame(sock)
            except TimeoutError as exc:
                raise HostTimeout(f"no answer within {self.timeout:g} s", where=where) from exc
            except iso8583.ConnectionClosed as exc:
                raise HostProtocolError("the host closed the connection without answering", where=where) from exc
            except OSError as exc:
                raise HostProtocolError(f"connection failed mid-request ({exc.strerror or exc})", where=where) from exc
        return self._check(fields, raw, where)

    def _check(self, sent: Mapping[str, Any], raw: bytes, where: str) -> HostReply:
        try:
            reply = iso8583.decode(raw)
        except MessageError as exc:
            raise HostProtocolError(f"unreadable answer ({exc})", where=where) from None
        expected = iso8583.RESPONSE_MTI[sent["t"]]
        if reply["t"] != expected:
            raise HostProtocolError(f"answer {reply['t']} to a {sent['t']}, expected {expected}", where=where)
        if reply.get("11") != sent["11"]:
            raise HostProtocolError("the answer's STAN is not the request's", where=where)
        if "41" in reply and reply["41"] != self.terminal_id:
            raise HostProtocolError("the answer is for another terminal", where=where)
        if "39" not in reply:
            raise HostProtocolError("the answer has no response code (39)", where=where)
        issuer_auth_data = b""
        if "55" in reply:
            try:
                found = tlv.find(tlv.decode(reply["55"]), 0x91)
            except ValueError:
                raise HostProtocolError("the answer's ICC data (55) is not TLV", where=where) from None
            issuer_auth_data = found.value if found else b""
        return HostReply(
            reply["t"], reply["39"], reply.get("38", "").strip(), reply.get("37", ""), issuer_auth_data, reply
        )
