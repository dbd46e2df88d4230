"""Card payments: chip, tap and swipe through the EMV kernels, authorised online by the acquirer.

The tender drives one card payment from "insert, tap or swipe" to the bank's answer and
keeps only what a till may keep: the masked PAN, a keyed token (to send a refund back
to the same card), the authorisation code. Money safety comes first:
- an authorisation is announced to the reversal queue before it is sent, so an approval
  the sale never commits (a crash, a payment handed back, a card pulled before the
  final cryptogram) is reversed, never left reserved on the customer's card;
- no answer in time declines the payment and reverses it;
- an unreachable host allows an offline approval only for chip and tap, only within the
  merchant's caps, with the card number sealed for the acquirer's eyes only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from appliance.config import Payments
from appliance.core import host_queue, offline
from appliance.core.card_data import card_token, load_seal_key, seal
from appliance.core.card_host import Acquirer, HostDown, HostNoAnswer, Reply, transmitted
from appliance.core.clock import Clock, iso
from appliance.core.tenders import Payment, Tender, TenderContext
from appliance.emv import contact, contactless, magstripe
from appliance.emv.apdu import Channel, Transmit
from appliance.emv.card_read import read_card
from appliance.emv.model import Cardholder, OnlineRequest, OnlineResponse, Outcome, TerminalConfig, Transaction
from appliance.errors import DomainError, InputError
from appliance.native.secret import Secret
from appliance.store.db import Store


@dataclass(frozen=True)
class PresentedCard:
    """What the reader saw: a chip or a tap (a channel to the card) or a swipe (the tracks)."""

    interface: str  # "contact", "contactless", "magstripe"
    transmit: Transmit | None = None
    tracks: Secret | None = None


class CardTerminal(Cardholder, Protocol):
    """The people and devices at the till during a card payment (the daemon implements it over the hal)."""

    def present(self, amount: int) -> PresentedCard:
        """Show the amount and wait for a card to be inserted, tapped or swiped."""

    def tip(self, amount: int) -> int:
        """The tip the customer chose on the display (0 for none)."""


@dataclass
class _Attempt:
    """One trip to the bank during a kernel run."""

    stan: int | None = None
    reply: Reply | None = None
    refusal: str = ""
    offline: bool = False
    sealed: bytes | None = None


@dataclass(frozen=True)
class _Pending:
    """An approved payment waiting for its sale to commit: what `record` writes."""

    stan: int
    interface: str
    label: str
    decision: str
    response_code: str
    tip: int
    sealed: bytes | None
    advice: dict[str, Any]
    receipt: dict[str, Any]  # aid, tvr, tsi, cvm, signature: printed on the receipt


class CardTender(Tender):
    kind = "card"

    def __init__(
        self,
        store: Store,
        terminal: CardTerminal,
        *,
        acquirer: Acquirer | None,
        emv: TerminalConfig,
        rules: Payments,
        token_key: bytes,
        clock: Clock,
        seal_key: bytes | None = None,
        pin_block: Callable[[Secret, Secret], Secret] | None = None,
    ):
        self.store, self.terminal, self.acquirer = store, terminal, acquirer
        self.emv, self.rules, self.clock = emv, rules, clock
        self.token_key, self.pin_block = token_key, pin_block
        # Checked here, at start-up: a bad key is a configuration error, not a surprise mid-payment.
        self.seal_key = load_seal_key(seal_key) if seal_key is not None else None
        self._pending: dict[str, _Pending] = {}
        self._chip_failed: set[str] = set()  # sales whose chip could not be read (swipe fallback)
        host_queue.release_orphans(store, at=clock.now())  # a previous run's unfinished approvals

    # --- paying

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        wanted = due if amount is None else amount
        if wanted <= 0 or wanted > due:
            raise InputError(f"a card payment must be between {ctx.money(1)} and the {ctx.money(due)} due")
        acquirer = self._require_acquirer()
        tip = self.terminal.tip(wanted) if self.rules.tips == "prompt" else 0
        if tip < 0:
            raise InputError("a tip cannot be negative")
        card = self.terminal.present(wanted + tip)
        if card.interface == "magstripe":
            return self._swipe(acquirer, card, wanted, tip, ctx)
        if card.transmit is None or card.interface not in ("contact", "contactless"):
            raise InputError(f"the reader reported an unknown card interface {card.interface!r}")
        attempt = _Attempt()
        now = self.clock.now()
        txn = Transaction(amount=wanted + tip, date=now.strftime("%y%m%d"), time=now.strftime("%H%M%S"))
        kernel = contact.run if card.interface == "contact" else contactless.run
        outcome = kernel(Channel(card.transmit), self.emv, txn, self.terminal,
                         lambda request: self._online(acquirer, request, attempt, wanted + tip, tip, ctx, card.interface),
                         now=now)
        return self._settle(outcome, attempt, wanted, tip, ctx)

    def _online(self, acquirer: Acquirer, request: OnlineRequest, attempt: _Attempt, total: int, tip: int,
                ctx: TenderContext, interface: str) -> OnlineResponse:
        """The kernel's trip to the bank: approval, decline, no answer (reverse) or unreachable (offline)."""
        now = self.clock.now()
        attempt.stan = self._arm(total, ctx.sale_id, interface, "0100", now)
        pin_block = None
        if request.pin is not None:
            if self.pin_block is None:
                host_queue.drop_armed(self.store, attempt.stan, reason="online PIN without a PIN key", at=now)
                attempt.refusal = "this till has no PIN key for online PIN: ask for another card or another tender"
                return OnlineResponse(False, "Z3")
            pin_block = self.pin_block(request.pin, request.pan)
        try:
            reply = acquirer.authorize(stan=attempt.stan, amount=total, tip=tip, request=request, pin_block=pin_block, at=now)
        except HostDown as exc:
            host_queue.drop_armed(self.store, attempt.stan, reason=str(exc), at=now)
            why = self._offline_refusal(total, interface, now, ctx)
            if why:
                attempt.refusal = f"the bank cannot be reached and {why}"
                return OnlineResponse(False, "Z3")
            attempt.offline = True
            attempt.sealed = seal(self.seal_key, {
                "pan": request.pan.reveal().decode(), "psn": request.psn, "expiry": request.expiry})
            return OnlineResponse(False, "", unable_to_go_online=True)
        except HostNoAnswer as exc:
            host_queue.make_due(self.store, attempt.stan, reason=str(exc), at=now)
            attempt.refusal = "no answer from the bank in time: the payment is declined and will be reversed"
            return OnlineResponse(False, "Z3")
        attempt.reply = reply
        return OnlineResponse(reply.approved, reply.response_code, reply.auth_code, reply.issuer_auth_data)

    def _offline_refusal(self, total: int, interface: str, now: datetime, ctx: TenderContext) -> str:
        if self.seal_key is None:
            return "offline approvals are not set up (no acquirer sealing key)"
        # Offline payments already taken on this sale count too: splitting a sale must not get round the caps.
        on_this_sale = [p.amount for p in ctx.pending
                        if p.kind == "card" and (pending := self._pending.get(p.reference)) and pending.sealed]
        waiting = offline.exposure(self.store.conn)
        waiting = offline.Exposure(waiting.count + len(on_this_sale), waiting.total + sum(on_this_sale), waiting.oldest)
        return offline.refusal(self.rules, waiting, total, interface, now)

    def _settle(self, outcome: Outcome, attempt: _Attempt, wanted: int, tip: int, ctx: TenderContext) -> Payment:
        now = self.clock.now()
        if attempt.reply is not None and attempt.stan is not None:
            if not attempt.reply.approved:
                host_queue.drop_armed(self.store, attempt.stan, reason=f"declined {attempt.reply.response_code}", at=now)
            elif not outcome.approved:
                # The bank approved but the card did not finish (pulled, refused the final cryptogram).
                host_queue.make_due(self.store, attempt.stan, reason=f"card did not complete: {outcome.reason}", at=now)
        if not outcome.approved:
            if outcome.interface == "contact" and outcome.decision == "failed" and "removed" not in outcome.reason:
                self._chip_failed.add(ctx.sale_id)
            reason = attempt.refusal or outcome.reason or outcome.decision
            raise DomainError(f"card payment not approved: {reason}", code=f"card_{outcome.decision}")
        # Book 4 A6: Y1 the card approved without the bank (below the floor limit), Y3 the bank was unreachable.
        code = outcome.response_code or ("Y3" if attempt.offline else "Y1")
        if attempt.stan is None:
            attempt.stan = self._next_stan()
            attempt.offline = True
            attempt.sealed = self._seal_outcome(outcome)
        auth_id = f"{ctx.sale_id}-c{attempt.stan}"
        self._pending[auth_id] = _Pending(
            stan=attempt.stan, interface=outcome.interface, label=outcome.label, decision=outcome.decision,
            response_code=code, tip=tip, sealed=attempt.sealed if attempt.offline else None,
            advice={"auth_id": auth_id, "stan": attempt.stan, "amount": wanted + tip, "tip": tip,
                    "masked_pan": outcome.masked_pan, "icc_data": outcome.icc_data.hex(), "response_code": code,
                    "entry_mode": "071" if outcome.interface == "contactless" else "051",
                    "transmitted": transmitted(now), "at": iso(now)},
            receipt={"aid": outcome.aid.hex().upper(), "tvr": outcome.tvr.hex().upper(), "tsi": outcome.tsi.hex().upper(),
                     "cvm": outcome.cvm, "signature": int(outcome.signature_required)},
        )
        return Payment(kind="card", amount=wanted, reference=auth_id, masked_pan=outcome.masked_pan,
                       card_token=card_token(self.token_key, outcome.pan) if outcome.pan else "",
                       auth_code=outcome.auth_code or code, effect="sale")

    def _seal_outcome(self, outcome: Outcome) -> bytes:
        if self.seal_key is None or outcome.pan is None:
            raise DomainError("the card approved offline but this till cannot keep offline payments: take another tender")
        return seal(self.seal_key, {"pan": outcome.pan.reveal().decode(), "psn": outcome.psn, "expiry": outcome.expiry})

    def _swipe(self, acquirer: Acquirer, card: PresentedCard, wanted: int, tip: int, ctx: TenderContext) -> Payment:
        """Swipes go online or not at all: a stripe carries no cryptogram to trust offline."""
        if card.tracks is None:
            raise InputError("the stripe reader gave no track data: swipe again")
        now = self.clock.now()
        swipe = magstripe.parse(card.tracks, today=now.date())
        decision = magstripe.swipe_decision(swipe, chip_failed=ctx.sale_id in self._chip_failed,
                                            fallback_to_swipe=self.rules.fallback_to_swipe, today=now.date())
        if decision.action == "use_chip":
            raise DomainError(decision.reason, code="use_chip")
        total = wanted + tip
        stan = self._arm(total, ctx.sale_id, "magstripe", "0100", now)
        request = OnlineRequest(pan=swipe.pan, track2=swipe.track2, psn="", expiry=swipe.expiry, icc_data=b"",
                                entry_mode=decision.entry_mode)
        reply = self._online_only(
            lambda: acquirer.authorize(stan=stan, amount=total, tip=tip, request=request, pin_block=None, at=now),
            stan, now, what="card payment",
            unreachable="the bank cannot be reached and swiped cards are never approved offline: "
                        "insert the chip or take another tender")
        auth_id = f"{ctx.sale_id}-c{stan}"
        self._pending[auth_id] = _Pending(stan, "magstripe", "", "approved", reply.response_code, tip, None, {},
                                          {"cvm": "signature", "signature": 1})
        return Payment(kind="card", amount=wanted, reference=auth_id, masked_pan=swipe.masked_pan,
                       card_token=card_token(self.token_key, swipe.pan), auth_code=reply.auth_code, effect="sale")

    def _online_only(self, send: Callable[[], Reply], stan: int, now: datetime, *, what: str, unreachable: str) -> Reply:
        """A request that has no offline fallback (swipes, refunds): approved, or a DomainError saying why not."""
        try:
            reply = send()
        except HostDown as exc:
            host_queue.drop_armed(self.store, stan, reason=str(exc), at=now)
            raise DomainError(unreachable, code="card_offline") from exc
        except HostNoAnswer as exc:
            host_queue.make_due(self.store, stan, reason=str(exc), at=now)
            raise DomainError(f"no answer from the bank in time: the {what} is declined and will be reversed",
                              code="card_no_answer") from exc
        if not reply.approved:
            host_queue.drop_armed(self.store, stan, reason=f"declined {reply.response_code}", at=now)
            raise DomainError(f"{what} not approved: declined by the bank ({reply.response_code} {reply.text})",
                              code="card_declined")
        return reply

    # --- refunds and voids

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        """A post-void reverses the authorisation; a return is a refund to the card that paid, read again."""
        if original is None:
            raise DomainError("a card refund needs the original card payment: refund with the receipt, or in cash")
        auth = self.store.conn.execute(
            "SELECT stan, offline, batch, reversed FROM card_auths WHERE id = ?", (original["reference"],)).fetchone()
        if auth is None:
            raise DomainError("this till has no record of the original card payment: refund in cash with a manager")
        stan, was_offline, batch, reversed_ = auth
        if reversed_:
            raise DomainError("this card payment was already reversed")
        if reversal:
            if batch is not None:
                raise DomainError("this card payment was settled at the last batch close: make a return to the card instead",
                                  code="card_settled")
            return Payment(kind="card", amount=amount, reference=original["reference"], masked_pan=original["masked_pan"],
                           card_token=original["card_token"], original_seq=original["seq"], effect="void")
        return self._refund_to_card(original, amount, ctx)

    def _refund_to_card(self, original: dict[str, Any], amount: int, ctx: TenderContext) -> Payment:
        acquirer = self._require_acquirer()
        card = self.terminal.present(amount)
        now = self.clock.now()
        if card.interface == "magstripe":
            if card.tracks is None:
                raise InputError("the stripe reader gave no track data: swipe again")
            swipe = magstripe.parse(card.tracks, today=now.date())
            pan, track2, psn, expiry, entry = swipe.pan, swipe.track2, "", swipe.expiry, "901"
        else:
            if card.transmit is None:
                raise InputError("the reader gave no card channel: insert or tap the card again")
            read = read_card(Channel(card.transmit), self.emv, contactless=card.interface == "contactless",
                             cardholder=self.terminal)
            pan, track2, psn, expiry = read.pan, read.track2, read.psn, read.expiry
            entry = "071" if card.interface == "contactless" else "051"
        if card_token(self.token_key, pan) != original["card_token"]:
            raise DomainError(f"this is not the card that paid: refund to the card {original['masked_pan']}",
                              code="card_mismatch")
        stan = self._arm(amount, ctx.sale_id, card.interface, "0200", now, processing="200000")
        request = OnlineRequest(pan=pan, track2=track2, psn=psn, expiry=expiry, icc_data=b"", entry_mode=entry)
        reply = self._online_only(lambda: acquirer.refund(stan=stan, amount=amount, request=request, at=now),
                                  stan, now, what="refund",
                                  unreachable="refunds to a card need the bank, which cannot be reached: try again later")
        auth_id = f"{ctx.sale_id}-c{stan}"
        self._pending[auth_id] = _Pending(stan, card.interface, "", "approved", reply.response_code, 0, None, {}, {})
        return Payment(kind="card", amount=amount, reference=auth_id, masked_pan=original["masked_pan"],
                       card_token=original["card_token"], auth_code=reply.auth_code, original_seq=original["seq"],
                       effect="refund")

    # --- inside the sale's transaction

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        if payment.effect == "void":
            self._record_void(conn, payment, ref=ref, at=at)
            return
        pending = self._pending.pop(payment.reference, None)
        if pending is None:
            raise DomainError("the card payment was not authorised on this till run: take payment again")
        kind = "refund" if payment.effect == "refund" else "sale"
        row = {"id": payment.reference, "sale_id": ref, "stan": pending.stan, "kind": kind,
               "interface": pending.interface, "amount": payment.amount + pending.tip, "tip": pending.tip,
               "masked_pan": payment.masked_pan, "card_token": payment.card_token, "label": pending.label,
               "decision": pending.decision, "response_code": pending.response_code, "auth_code": payment.auth_code,
               "offline": int(pending.sealed is not None), "created_at": at, **pending.receipt}
        conn.execute(f"INSERT INTO card_auths ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        if pending.sealed is not None:
            host_queue.queue_advice(conn, stan=pending.stan, amount=payment.amount + pending.tip, payload=pending.advice,
                                    sealed_card=pending.sealed, sale_id=ref, at=at)
        else:
            host_queue.complete(conn, pending.stan, at=at)

    def _record_void(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        stan, amount, was_offline, sale_id = conn.execute(
            "SELECT stan, amount, offline, sale_id FROM card_auths WHERE id = ?", (payment.reference,)).fetchone()
        conn.execute("UPDATE card_auths SET reversed = 1 WHERE id = ?", (payment.reference,))
        if was_offline and host_queue.cancel_advice(conn, stan, at=at):
            return  # never reached the bank: nothing to reverse
        # The reversal names the original by MTI, STAN and transmission time: the advice
        # (offline) or the armed reversal (online) kept them.
        sent = host_queue.original_message(conn, stan)
        host_queue.queue_reversal(conn, stan=stan, amount=amount, sale_id=sale_id, at=at, payload={
            "auth_id": payment.reference, "stan": stan, "amount": amount, "masked_pan": payment.masked_pan,
            "original_mti": "0220" if was_offline else "0100", "reason": "voided",
            "transmitted": sent.get("transmitted", ""), "processing_code": sent.get("processing_code", "000000")})

    def release(self, payment: Payment) -> None:
        """A payment handed back before its sale committed (or whose commit failed): reverse it.

        Works from the reference alone: `record` may have consumed the pending entry in a
        transaction that then rolled back, leaving the reversal still armed.
        """
        self._pending.pop(payment.reference, None)
        if payment.effect in ("sale", "refund"):
            stan = int(payment.reference.rsplit("-c", 1)[1])
            host_queue.make_due(self.store, stan, reason="payment handed back", at=self.clock.now())

    # --- helpers

    def _require_acquirer(self) -> Acquirer:
        if self.acquirer is None:
            raise DomainError("card payments are not set up on this till ([payments] host is empty)", code="no_acquirer")
        return self.acquirer

    def _next_stan(self) -> int:
        with self.store.atomic() as conn:
            return (self.store.next_counter(conn, "stan") - 1) % 999_999 + 1

    def _arm(self, amount: int, sale_id: str, interface: str, mti: str, now: datetime, processing: str = "000000") -> int:
        stan = self._next_stan()
        host_queue.arm_reversal(self.store, stan=stan, amount=amount, sale_id=sale_id, at=now, payload={
            "stan": stan, "amount": amount, "original_mti": mti, "processing_code": processing,
            "interface": interface, "transmitted": transmitted(now), "auth_id": f"{sale_id}-c{stan}"})
        return stan


def receipt_details(conn: sqlite3.Connection, references: list[str]) -> dict[str, dict[str, Any]]:
    """What the receipt prints under each card payment, by payment reference."""
    if not references:
        return {}
    rows = conn.execute(
        "SELECT id, label, aid, interface, tvr, tsi, cvm, signature, amount, tip, offline, response_code FROM card_auths "
        f"WHERE id IN ({', '.join('?' * len(references))})", references)
    names = [c[0] for c in rows.description]
    return {row[0]: dict(zip(names, row)) for row in rows}
