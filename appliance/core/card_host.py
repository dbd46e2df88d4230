"""The till's view of the acquirer: card requests in, two kinds of failure out.

The payment layer only needs to know whether a request left the till: `HostDown`
(nothing was sent, an offline decision is possible) or `HostNoAnswer` (it was sent and
may have been approved, so it must be reversed). This adapter turns the tender's
requests and the host queue's reversals and advices into ISO 8583 messages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from appliance.core.clock import parse_iso
from appliance.core.host_queue import SendError
from appliance.emv.host import (AuthRequest, HostClient, HostProtocolError, HostReply, HostTimeout,
                                HostUnreachable)
from appliance.emv.iso8583 import Totals
from appliance.emv.model import OnlineRequest
from appliance.native.secret import Secret

Reply = HostReply


class HostDown(Exception):
    """The request never left the till: the bank cannot be reached."""


class HostNoAnswer(Exception):
    """The request left but no answer came that can be trusted: decline and reverse."""


def transmitted(at: datetime) -> str:
    """Field 7 (transmission date and time, UTC MMDDhhmmss): a reversal names its original by it."""
    return at.astimezone(timezone.utc).strftime("%m%d%H%M%S")


def _track2_text(request: OnlineRequest) -> Secret | None:
    """Field 35 as text: a chip gives its 57 value in BCD (Book 3 Annex A), a stripe its track as read."""
    raw = request.track2.reveal()
    if not raw:
        return None
    if request.entry_mode[:2] in ("05", "07"):
        return Secret(raw.hex().upper().rstrip("F").encode("ascii"))
    return request.track2


class Acquirer:
    def __init__(self, client: HostClient, currency: str):
        self.client = client
        self.currency = currency  # ISO 4217 numeric

    def authorize(self, *, stan: int, amount: int, tip: int, request: OnlineRequest, pin_block: Secret | None,
                  at: datetime) -> HostReply:
        return self._send(self.client.authorize, self._request(stan, amount, request, at, pin_block=pin_block, tip=tip))

    def refund(self, *, stan: int, amount: int, request: OnlineRequest, at: datetime) -> HostReply:
        """0200 with processing code 20: money back to the card, posted at once."""
        return self._send(self.client.financial, self._request(stan, amount, request, at, processing_code="200000"))

    def batch_close(self, batch: int, totals: Totals) -> HostReply:
        return self._send(lambda _: self.client.batch_close(batch, totals), None)

    # --- the host queue's Sender

    def reversal(self, payload: dict[str, Any]) -> str:
        original = {
            "t": payload["original_mti"], "3": payload.get("processing_code", "000000"), "4": f"{payload['amount']:012d}",
            "7": payload["transmitted"], "11": f"{payload['stan']:06d}", "49": self.currency,
        }
        reply = self._queued(lambda: self.client.reverse(original, payload.get("reason", "no answer")))
        return reply.response_code

    def advice(self, payload: dict[str, Any], sealed_card: bytes | None) -> str:
        if sealed_card is None:
            raise SendError("the advice has lost its sealed card data")
        request = AuthRequest(
            stan=payload["stan"], amount=payload["amount"], currency=self.currency, pan=Secret(b""), expiry="",
            local_time=parse_iso(payload["at"]), entry_mode=payload["entry_mode"],
            icc_data=bytes.fromhex(payload["icc_data"]), tip=payload.get("tip", 0), sealed_card=sealed_card)
        reply = self._queued(lambda: self.client.advice(request, payload.get("response_code") or "Y3"))
        return reply.response_code

    # --- helpers

    def _request(self, stan: int, amount: int, request: OnlineRequest, at: datetime, *, pin_block: Secret | None = None,
                 tip: int = 0, processing_code: str = "000000") -> AuthRequest:
        return AuthRequest(
            stan=stan, amount=amount, currency=self.currency, pan=request.pan, expiry=request.expiry, local_time=at,
            track2=_track2_text(request), psn=request.psn, entry_mode=request.entry_mode,
            icc_data=request.icc_data, pin_block=pin_block, tip=tip, processing_code=processing_code,
        )

    @staticmethod
    def _send(call: Any, request: AuthRequest | None) -> HostReply:
        try:
            return call(request)
        except HostUnreachable as exc:
            raise HostDown(f"the bank cannot be reached: {exc}") from exc
        except (HostTimeout, HostProtocolError) as exc:
            raise HostNoAnswer(f"no usable answer from the bank: {exc}") from exc

    @staticmethod
    def _queued(call: Any) -> HostReply:
        try:
            return call()
        except (HostUnreachable, HostTimeout, HostProtocolError) as exc:
            raise SendError(str(exc)) from exc
