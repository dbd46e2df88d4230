"""Tenders: how a sale is paid and how a refund goes back.

A tender works in two steps. `take` (or `refund`) runs before the sale's transaction:
it checks the voucher, the balance, or (for cards and wallets, a later plug-in) asks the
bank, and returns a Payment. `record` runs inside the sale's transaction and writes the
tender's own side effects (voucher used, stored value debited), so a sale and its
payments commit together. Only cash may be more than what is due; the excess is change.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from appliance.core import members, vouchers
from appliance.core.money import div_round_half_up, format_amount
from appliance.errors import DomainError, InputError


@dataclass(frozen=True)
class Payment:
    kind: str
    amount: int  # what this payment settles (or refunds), in minor units
    tendered: int = 0  # cash handed over
    change: int = 0  # cash handed back
    rounding: int = 0  # cash rounding taken when this payment settled the sale
    reference: str = ""  # voucher code, member id, bank reference
    masked_pan: str = ""  # first 6 / last 4 only, for card tenders
    card_token: str = ""
    auth_code: str = ""
    original_seq: int | None = None  # for refunds: which payment of the original sale
    effect: str = ""  # what `record` must do; never stored

    def as_row(self, seq: int) -> dict[str, Any]:
        return {
            "seq": seq, "kind": self.kind, "amount": self.amount, "reference": self.reference,
            "masked_pan": self.masked_pan, "card_token": self.card_token, "auth_code": self.auth_code,
            "original_seq": self.original_seq,
        }


@dataclass(frozen=True)
class TenderContext:
    """What a tender may know of the sale it pays."""

    sale_id: str
    member_id: str | None
    today: date
    exponent: int = 2  # the currency's decimals, to state amounts in messages
    pending: tuple["Payment", ...] = ()  # payments already taken on this sale, not yet committed

    def money(self, amount: int) -> str:
        return format_amount(amount, self.exponent)


class Tender(ABC):
    kind: ClassVar[str]
    may_exceed_due: ClassVar[bool] = False

    @abstractmethod
    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        """Check or authorise a payment towards `due` (amount None: as much as fits)."""

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        """A refund back to this tender; `reversal` is a post-void that undoes the sale exactly."""
        seq = original["seq"] if original else None
        return Payment(kind=self.kind, amount=amount, original_seq=seq, reference=original["reference"] if original else "")

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        """Side effects inside the sale's or refund's transaction (none for cash)."""

    def release(self, payment: Payment) -> None:
        """A payment taken but handed back before its sale committed (a card authorisation is reversed)."""


def round_cash(amount: int, step: int, mode: str) -> int:
    if step == 1:
        return amount
    if mode == "down":
        return amount // step * step
    if mode == "up":
        return -(-amount // step) * step
    return div_round_half_up(amount, step) * step


class CashTender(Tender):
    kind = "cash"
    may_exceed_due = True

    def __init__(self, step: int, mode: str):
        self.step, self.mode = step, mode

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        """Cash that settles the sale is rounded to the step; a partial cash payment is not."""
        settles = round_cash(due, self.step, self.mode)
        offered = settles if amount is None else amount
        if offered < 0 or (offered == 0 and settles > 0):
            raise InputError("the cash amount must be more than zero")
        if offered >= settles:
            return Payment(kind="cash", amount=settles, tendered=offered, change=offered - settles, rounding=settles - due)
        if offered >= due:  # between the exact and the rounded amount: it settles, the difference is rounding
            return Payment(kind="cash", amount=offered, tendered=offered, rounding=offered - due)
        return Payment(kind="cash", amount=offered, tendered=offered)

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        """Cash refunds are rounded like cash sales; a reversal gives back exactly what was taken."""
        paid = amount if reversal else round_cash(amount, self.step, self.mode)
        return Payment(kind="cash", amount=paid, rounding=paid - amount, original_seq=original["seq"] if original else None)

    def refund_part(
        self, original: dict[str, Any] | None, amount: int, *, before: int, paid_before: int, cap: int | None
    ) -> Payment:
        """Cash for one of several returns of a sale, rounded on the running total.

        `before` is the cash owed by earlier returns before rounding, `paid_before` what
        they paid out. Rounding the running total (not each return) means the parts add
        up to the rounding of the whole, and `cap` (the cash the sale took) is never
        exceeded: returning 6.17 and 6.17 of a 12.34 sale paid 12.30 pays 6.20 + 6.10.
        """
        total = round_cash(before + amount, self.step, self.mode)
        if cap is not None:
            total = min(total, cap)
        paid = max(0, total - paid_before)
        return Payment(kind="cash", amount=paid, rounding=paid - amount, original_seq=original["seq"] if original else None)


class VoucherTender(Tender):
    kind = "voucher"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        if not reference:
            raise InputError("scan or type the voucher code")
        voucher = vouchers.find(self.conn, reference)
        if any(p.kind == "voucher" and p.reference == voucher.code for p in ctx.pending):
            raise DomainError(f"voucher {voucher.code} is already on this sale")
        vouchers.check_usable(voucher, ctx.today)
        if amount is not None and amount != voucher.value:
            raise InputError(f"voucher {voucher.code} is worth {ctx.money(voucher.value)}; it is taken whole")
        if voucher.value > due:
            raise DomainError(
                f"voucher {voucher.code} ({ctx.money(voucher.value)}) is worth more than the {ctx.money(due)} "
                "still due; vouchers give no change",
                code="exceeds_due",
            )
        return Payment(kind="voucher", amount=voucher.value, reference=voucher.code, effect="redeem")

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        """A post-void gives the same voucher back; a return issues a credit note for the amount."""
        seq = original["seq"] if original else None
        if reversal and original is not None:
            return Payment(kind="voucher", amount=amount, reference=original["reference"], original_seq=seq, effect="reinstate")
        return Payment(kind="voucher", amount=amount, reference=vouchers.new_code(), original_seq=seq, effect="issue")

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        if payment.effect == "redeem":
            vouchers.redeem(conn, payment.reference, ref=ref, at=at)
        elif payment.effect == "reinstate":
            original_id = conn.execute("SELECT original_id FROM sales WHERE id = ?", (ref,)).fetchone()
            vouchers.reinstate(conn, payment.reference, redeemed_ref=original_id[0] if original_id else "")
        elif payment.effect == "issue":
            vouchers.insert(conn, payment.reference, payment.amount, at=at, expires_on=None, ref=ref)


class StoredValueTender(Tender):
    kind = "stored_value"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def take(self, due: int, amount: int | None, reference: str, ctx: TenderContext) -> Payment:
        if ctx.member_id is None:
            raise DomainError("attach the member first: stored value belongs to a member")
        taken = sum(p.amount for p in ctx.pending if p.kind == "stored_value")
        available = members.balance(self.conn, ctx.member_id) - taken
        wanted = min(available, due) if amount is None else amount
        if wanted <= 0:
            raise DomainError(f"the member's stored value balance is {ctx.money(available)}", code="insufficient")
        if wanted > available:
            raise DomainError(f"the member's stored value balance is only {ctx.money(available)}", code="insufficient")
        if wanted > due:
            raise DomainError(f"only {ctx.money(due)} is due; stored value gives no change", code="exceeds_due")
        return Payment(kind="stored_value", amount=wanted, reference=ctx.member_id, effect="debit")

    def refund(self, original: dict[str, Any] | None, amount: int, ctx: TenderContext, *, reversal: bool) -> Payment:
        member_id = original["reference"] if original else ctx.member_id
        if not member_id:
            raise DomainError("a stored value refund needs the member")
        return Payment(
            kind="stored_value", amount=amount, reference=member_id,
            original_seq=original["seq"] if original else None, effect="credit",
        )

    def record(self, conn: sqlite3.Connection, payment: Payment, *, ref: str, at: str) -> None:
        delta = -payment.amount if payment.effect == "debit" else payment.amount
        members.post_stored_value(conn, payment.reference, delta, ref=ref, at=at)
