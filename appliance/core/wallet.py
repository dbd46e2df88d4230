"""Wallet payments (QR codes): customer-presented and merchant-presented, against a provider.

- Customer-presented: the shopper shows a payment code on the phone; the till scans it
  and asks the provider to charge it.
- Merchant-presented: the provider gives a dynamic QR for the order; the till shows it
  on the customer display (or prints it) and waits for the shopper's phone to pay it.
Every attempt has an order number built from the sale id, so asking again after a
restart or a timeout finds the payment already made instead of charging twice; a
payment still pending at the timeout is cancelled at the provider. Refunds go back to
the same wallet order.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from appliance.core.tenders import Payment, Tender, TenderContext
from appliance.errors import DomainError, InputError


@dataclass(frozen=True)
class WalletResult:
    status: str  # "paid", "pending", "declined", "cancelled", "refunded", "unknown"
    provider_ref: str = ""
    message: str = ""


class WalletProvider(Protocol):
    def pay(self, order_no: str, amount: int, customer_code: str) -> WalletResult: ...

    def create(self, order_no: str, amount: int) -> str:
        """The QR payload for a merchant-presented payment."""

    def query(self, order_no: str) -> WalletResult: ...

    def cancel(self, order_no: str) -> WalletResult: ...

    def refund(self, order_no: str, refund_no: str, amount: int) -> WalletResult: ...


class WalletTender(Tender):
    kind = "wallet"

    def __init__(
        self,
        provider: WalletProvider,
        *,
        show_qr: Callable[[str], None] | None = None,
        poll_s: float = 1.0,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.provider = provider
        self.show_qr = show_qr
        self.poll_s, self.timeout_s = poll_s, timeout_s
        self.sleep, self.monotonic = sleep, monotonic
        self.attempts: dict[str, int] = {}

    def _order_no(self, sale_id: str) -> str:
        return f"{sale_id}-{self.attempts.setdefault(sale_id, 1)}"

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        wanted = due if amount is None else amount
        if wanted <= 0 or wanted > due:
            raise InputError(f"a wallet payment must be between 0.01 and the {ctx.money(due)} due")
        order_no = self._order_no(ctx.sale_id)
        result = self.provider.query(order_no)  # after a restart: was this order already paid?
        if result.status != "paid":
            code = reference.strip()
            if code:
                if not code.isdigit() or not 16 <= len(code) <= 24:
                    raise InputError("a wallet payment code is 16 to 24 digits: scan the code on the customer's phone")
                result = self.provider.pay(order_no, wanted, code)
            else:
                if self.show_qr is None:
                    raise DomainError("this till cannot show a payment QR code: scan the customer's code instead")
                self.show_qr(self.provider.create(order_no, wanted))
                result = WalletResult("pending")
            result = self._wait(order_no, result)
        if result.status != "paid":
            self.attempts[ctx.sale_id] += 1  # a new attempt gets a new order number
            raise DomainError(f"wallet payment {result.status}: {result.message or 'try again or take another tender'}",
                              code=f"wallet_{result.status}")
        return Payment(kind="wallet", amount=wanted, reference=order_no, auth_code=result.provider_ref, effect="pay")

    def _wait(self, order_no: str, result: WalletResult) -> WalletResult:
        deadline = self.monotonic() + self.timeout_s
        while result.status == "pending" and self.monotonic() < deadline:
            self.sleep(self.poll_s)
            result = self.provider.query(order_no)
        if result.status == "pending":
            cancelled = self.provider.cancel(order_no)
            # The shopper may have paid in the last moment: then the cancel finds it paid.
            return cancelled if cancelled.status == "paid" else WalletResult("cancelled", message="no payment in time")
        return result

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        if original is None:
            raise DomainError("a wallet refund needs the original wallet payment")
        order_no = original["reference"]
        result = self.provider.refund(order_no, f"{ctx.sale_id}", amount)
        if result.status != "refunded":
            raise DomainError(f"the wallet refund failed: {result.message or result.status}", code="wallet_refund")
        return Payment(kind="wallet", amount=amount, reference=order_no, auth_code=result.provider_ref,
                       original_seq=original["seq"], effect="refund")

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        if payment.effect == "pay":
            conn.execute(
                "INSERT INTO wallet_payments (order_no, sale_id, provider_ref, amount, created_at) VALUES (?, ?, ?, ?, ?)",
                (payment.reference, ref, payment.auth_code, payment.amount, at),
            )
        elif payment.effect == "refund":
            conn.execute("UPDATE wallet_payments SET refunded = refunded + ? WHERE order_no = ?",
                         (payment.amount, payment.reference))
