"""The till's interaction state machine: what each input means in each state, or why it is refused.

States follow a checkout: locked → idle → in sale → tendering → card in progress →
receipt, with a supervisor override as a state of its own (the action that needed it
waits, and runs once a supervisor signs). Every input is either legal in the current
state or gets a refusal that says what to do instead; nothing an operator presses is
silently ignored. Inputs come from the scanner, the keypad (through `KeyEntry`), card
events, the console and the local API, all as `Action`s; the result tells the daemon
what to show, beep and light. This module is pure logic over `Till`: no devices here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from appliance.core import returns
from appliance.core.money import format_amount
from appliance.core.till import Till
from appliance.errors import ApplianceError, DomainError, InputError, PermissionDenied


class State(str, enum.Enum):
    LOCKED = "locked"
    IDLE = "idle"
    IN_SALE = "in_sale"
    TENDERING = "tendering"
    CARD = "card_in_progress"
    RECEIPT = "receipt"
    OVERRIDE = "supervisor_override"


@dataclass(frozen=True)
class Action:
    """One input: `name` (scan, sign_in, tender, ...) and its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, **args: Any) -> "Action":
        return cls(name, args)


@dataclass
class Result:
    ok: bool
    state: State
    message: str = ""  # for the operator: what happened, or why not and what to do
    signal: str = "ok"  # "ok" (short beep, green), "error" (long beep, red), "attention" (amber: waiting)
    display: tuple[Any, ...] = ()  # customer display event: ("item", name, amount, total), ("total", due), ...
    document: dict[str, Any] | None = None  # a completed sale, return or cancel: to print


# Where each action is legal. Anything else is refused with REFUSALS[state].
LEGAL: dict[State, frozenset[str]] = {
    State.LOCKED: frozenset({"sign_in"}),
    State.IDLE: frozenset({"sign_in", "sign_out", "scan", "resume", "open_shift", "close_shift", "x_report",
                           "return"}),
    State.IN_SALE: frozenset({"scan", "quantity", "void_line", "member", "subtotal", "suspend", "cancel",
                              "override_price", "discount"}),
    State.TENDERING: frozenset({"scan", "tender", "remove_payment", "back", "cancel", "member"}),
    State.CARD: frozenset(),
    State.RECEIPT: frozenset({"scan", "done", "sign_out", "resume", "return"}),
    State.OVERRIDE: frozenset({"approve", "back"}),
}

REFUSALS = {
    State.LOCKED: "sign in first (operator code, then PIN)",
    State.IDLE: "scan an item to start a sale (a member is attached to a sale in progress)",
    State.IN_SALE: "finish the sale (subtotal, then payment) or suspend or cancel it first",
    State.TENDERING: "take payment, or go back to the items first",
    State.CARD: "a card payment is in progress: wait for it to finish",
    State.RECEIPT: "scan the next customer's first item, or press done",
    State.OVERRIDE: "a supervisor must approve (code and PIN), or press back to cancel",
}


class Session:
    """One till's state; `handle` takes an Action and never raises for bad input, it refuses."""

    def __init__(self, till: Till, *, on_change: Callable[[State], None] | None = None):
        self.till = till
        self.on_change = on_change
        self.state = State.LOCKED if till.operator is None else (State.IN_SALE if till.sale else State.IDLE)
        self._pending: tuple[Action, State] | None = None  # the action waiting for a supervisor, and where from

    # --- the one entry point

    def handle(self, action: Action) -> Result:
        if action.name not in LEGAL[self.state]:
            return self._refuse(REFUSALS[self.state], code="illegal")
        try:
            return getattr(self, f"_{action.name}")(**action.args)
        except PermissionDenied as exc:
            if exc.code != "approval_required":
                return self._refuse(exc.message)
            self._pending = (action, self.state)
            self._enter(State.OVERRIDE)
            return Result(False, self.state, f"{exc.message}: supervisor code and PIN", "attention")
        except ApplianceError as exc:
            return self._refuse(exc.message)
        except TypeError as exc:  # an action with the wrong arguments: a programming error of the caller
            return self._refuse(f"the {action.name} input is incomplete ({exc})")

    # --- people

    def _sign_in(self, code: str, pin: str) -> Result:
        operator = self.till.sign_in(code, pin)
        self._enter(State.IN_SALE if self.till.sale else State.IDLE)
        return Result(True, self.state, f"{operator.name} signed in")

    def _sign_out(self) -> Result:
        self.till.sign_out()
        self._enter(State.LOCKED)
        return Result(True, self.state, "signed out")

    def _approve(self, code: str, pin: str) -> Result:
        assert self._pending is not None
        supervisor = self.till.approve(code, pin)
        action, back_to = self._pending
        self._pending = None
        self._enter(back_to)
        result = self.handle(Action(action.name, {**action.args, "approver": supervisor}))
        result.message = f"approved by {supervisor.name}: {result.message}"
        return result

    def _back(self) -> Result:
        if self.state is State.OVERRIDE:
            assert self._pending is not None
            self._enter(self._pending[1])
            self._pending = None
            return Result(True, self.state, "not approved: nothing changed")
        if self.till.sale is not None and self.till.sale.payments:
            return self._refuse("payments were taken: remove them before going back to the items")
        self._enter(State.IN_SALE)
        return Result(True, self.state, "back to the items")

    # --- ringing up

    def _scan(self, code: str, quantity: int | None = None) -> Result:
        line = self.till.scan(code, quantity)
        if self.state in (State.IDLE, State.RECEIPT):
            self._enter(State.IN_SALE)
        priced = self.till.priced()
        amount = next(p.result.amount for p in priced.lines if p.line.line_no == line.line_no)
        return Result(True, self.state, f"{line.name} {self._money(line.unit_price)}",
                      display=("item", line.name, amount, priced.total))

    def _quantity(self, line_no: int, quantity: int) -> Result:
        self.till.set_quantity(line_no, quantity)
        return Result(True, self.state, f"line {line_no}: quantity {quantity / 1000:g}",
                      display=("total", self.till.priced().total))

    def _void_line(self, line_no: int | None = None) -> Result:
        sale = self.till.sale
        if sale is None or not sale.lines:
            raise DomainError("there is no line to void")
        number = line_no if line_no is not None else sale.lines[-1].line_no
        self.till.void_line(number)
        return Result(True, self.state, f"line {number} voided", display=("total", self.till.priced().total))

    def _override_price(self, line_no: int, price: int, reason: str, approver: Any = None) -> Result:
        self.till.override_price(line_no, price, reason, approver)
        return Result(True, self.state, f"line {line_no} now {self._money(price)}",
                      display=("total", self.till.priced().total))

    def _discount(self, discount: Any, line_no: int | None = None, approver: Any = None) -> Result:
        if line_no is None:
            self.till.discount_basket(discount, approver)
        else:
            self.till.discount_line(line_no, discount, approver)
        return Result(True, self.state, "discount given", display=("total", self.till.priced().total))

    def _member(self, key: str) -> Result:
        member = self.till.attach_member(key)
        if self.state in (State.IDLE, State.RECEIPT):
            self._enter(State.IN_SALE)
        return Result(True, self.state, f"member {member.name}")

    def _subtotal(self) -> Result:
        if self.till.sale is None or not self.till.sale.lines:
            raise DomainError("the sale has no items yet")
        self._enter(State.TENDERING)
        due = self.till.remaining()
        return Result(True, self.state, f"to pay {self._money(due)}", display=("total", due))

    def _suspend(self, label: str = "") -> Result:
        sale_id = self.till.suspend(label)
        self._enter(State.IDLE)
        return Result(True, self.state, f"sale suspended ({sale_id[-6:]})")

    def _resume(self, sale_id: str) -> Result:
        self.till.resume(sale_id)
        self._enter(State.IN_SALE)
        return Result(True, self.state, "sale resumed", display=("total", self.till.priced().total))

    def _return(self, receipt: str, items: list[tuple[int, int]], refund_to: str = "original",
                reason: str = "", approver: Any = None) -> Result:
        """Goods back against a receipt, between sales; the refund slip is the result's document."""
        doc = returns.return_with_receipt(self.till, receipt, items, refund_to=refund_to, reason=reason,
                                          approver=approver)
        self._enter(State.IDLE)
        return Result(True, self.state, f"{doc['receipt_no']}: refunded {self._money(abs(doc['total']))}",
                      document=doc)

    def _cancel(self, reason: str = "") -> Result:
        doc = self.till.cancel(reason)
        self._enter(State.IDLE)
        return Result(True, self.state, "sale cancelled", document=doc)

    # --- paying

    def _tender(self, kind: str, amount: int | None = None, reference: str = "") -> Result:
        if kind == "card":
            self._enter(State.CARD)
        try:
            doc = self.till.pay(kind, amount, reference)
        finally:
            if self.state is State.CARD:
                self._enter(State.TENDERING)
        if doc is None:
            due = self.till.remaining()
            paid = sum(p.amount for p in self.till.sale.payments) if self.till.sale else 0
            return Result(True, self.state, f"still to pay {self._money(due)}", display=("paid", paid, due))
        self._enter(State.RECEIPT)
        change = doc["change"]
        return Result(True, self.state, f"change {self._money(change)}" if change else "paid",
                      display=("change", change) if change else ("thanks",), document=doc)

    def _remove_payment(self, index: int) -> Result:
        self.till.remove_payment(index)
        return Result(True, self.state, f"payment {index + 1} handed back; still to pay {self._money(self.till.remaining())}")

    def _done(self) -> Result:
        self._enter(State.IDLE)
        return Result(True, self.state, "", display=("welcome",))

    # --- shifts

    def _open_shift(self, opening_float: int) -> Result:
        shift = self.till.shifts.open(self.till.require_operator(), opening_float, at=self.till.clock.now())
        return Result(True, self.state, f"shift opened for {shift.business_day}")

    def _close_shift(self, counted: int, approver: Any = None) -> Result:
        report = self.till.shifts.close(self.till.require_operator(), counted, at=self.till.clock.now(),
                                        approver=approver)
        return Result(True, self.state, f"Z report {report.z_number} printed", document={"report": report})

    def _x_report(self) -> Result:
        report = self.till.shifts.x_report(self.till.require_operator(), at=self.till.clock.now())
        return Result(True, self.state, "X report printed", document={"report": report})

    # --- helpers

    def _money(self, amount: int) -> str:
        return format_amount(amount, self.till.settings.currency.exponent)

    def _enter(self, state: State) -> None:
        if state is not self.state:
            self.state = state
            if self.on_change is not None:
                self.on_change(state)

    def _refuse(self, message: str, *, code: str = "") -> Result:
        return Result(False, self.state, message, "error")


class KeyEntry:
    """Keypad keys into actions: digits build a number, function keys act on it (every action by keys alone).

    Keys: 0-9 and "." build the entry; ENTER scans it as a code (or PLU); QTY sets the
    quantity of the next scan; VOID voids the last line (or the line number entered);
    SUBTOTAL; CASH pays the entry as an amount (exact when empty); CARD, WALLET, SV pay
    by card, wallet code (the entry) or stored value; CLEAR empties the entry (or goes
    back from an override); CANCEL, SUSPEND; MEMBER attaches the member whose phone or card
    code is the entry; DONE ends the receipt screen.
    """

    TENDERS = {"CASH": "cash", "CARD": "card", "WALLET": "wallet", "SV": "stored_value", "VOUCHER": "voucher"}

    def __init__(self, exponent: int):
        self.exponent = exponent
        self.entry = ""
        self.quantity: int | None = None
        self.code = ""  # an operator or supervisor code typed before its PIN

    def press(self, key: str, state: State | None = None) -> Action | None:
        """The action a key completes, or None while an entry is being typed.

        Locked, and during a supervisor override, the keypad takes a code, ENTER, the
        PIN, ENTER: the sign-in or the approval.
        """
        if key.isdigit() or key == ".":
            if len(self.entry) >= 24:
                raise InputError("the entry is too long: press CLEAR and type it again")
            self.entry += key
            return None
        entry, self.entry = self.entry, ""
        if key == "CLEAR":
            self.quantity, self.code = None, ""
            return Action.of("back") if not entry else None
        if state in (State.LOCKED, State.OVERRIDE) and key == "ENTER":
            if not self.code:
                if not entry:
                    raise InputError("type the operator code, then ENTER")
                self.code = entry
                return None
            code, self.code = self.code, ""
            return Action.of("sign_in" if state is State.LOCKED else "approve", code=code, pin=entry)
        if key == "QTY":
            self.quantity = self._number(entry, 3, "quantity")
            return None
        if key == "ENTER":
            if not entry:
                raise InputError("type a code first, then ENTER")
            quantity, self.quantity = self.quantity, None
            return Action.of("scan", code=entry, quantity=quantity)
        if key == "VOID":
            return Action.of("void_line", line_no=int(entry) if entry else None)
        if key in self.TENDERS:
            kind = self.TENDERS[key]
            if kind == "cash":
                return Action.of("tender", kind=kind, amount=self._number(entry, self.exponent, "amount") if entry else None)
            if kind in ("wallet", "voucher"):
                return Action.of("tender", kind=kind, reference=entry)
            return Action.of("tender", kind=kind, amount=self._number(entry, self.exponent, "amount") if entry else None)
        simple = {"SUBTOTAL": "subtotal", "CANCEL": "cancel", "SUSPEND": "suspend", "DONE": "done"}
        if key in simple:
            return Action.of(simple[key])
        if key == "MEMBER":
            if not entry:
                raise InputError("type the member's phone or card number first, then MEMBER")
            return Action.of("member", key=entry)
        raise InputError(f"the key {key!r} does nothing here")

    @staticmethod
    def _number(text: str, decimals: int, what: str) -> int:
        """Typed digits with an optional point as integer units: "12.5" with 2 decimals is 1250."""
        whole, _, fraction = text.partition(".")
        if not (whole or fraction) or not (whole + fraction).isdigit() or len(fraction) > decimals:
            raise InputError(f"{text!r} is not a valid {what}")
        return int(whole or "0") * 10**decimals + int(fraction.ljust(decimals, "0") or "0")
