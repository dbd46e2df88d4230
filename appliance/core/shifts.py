"""Shifts: open with a float, pay cash in and out, read the X report, close with the Z report.

Reports are SQL aggregates over the shift's documents (index on shift_id), never a loop
over sales in Python, so a Z report of 10,000 sales takes milliseconds. The Z number is
a per-terminal counter in the same transaction as the close: it increments and never
repeats, even across power cuts.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from appliance.core.clock import business_day, iso
from appliance.core.ids import uuid7
from appliance.core.money import format_amount
from appliance.core.operators import Operator, authorize
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

DOC_KINDS = ("sale", "return", "void", "cancel")


@dataclass(frozen=True)
class Shift:
    id: str
    device: str
    business_day: str
    opened_at: str
    opened_by: str
    opening_float: int
    closed_at: str | None = None
    z_number: int | None = None


@dataclass(frozen=True)
class TenderLine:
    kind: str
    taken: int
    refunded: int

    @property
    def net(self) -> int:
        return self.taken - self.refunded


@dataclass(frozen=True)
class TaxLine:
    rate: int
    net: int
    tax: int


@dataclass(frozen=True)
class ShiftReport:
    title: str  # "X" (a reading, nothing reset) or "Z" (the shift is closed)
    shift: Shift
    printed_at: str
    counts: dict[str, int]
    totals: dict[str, int]
    discounts: int
    line_voids: int
    line_void_amount: int
    rounding: int
    taxes: list[TaxLine]
    tenders: list[TenderLine]
    paid_in: int
    paid_out: int
    expected_cash: int
    z_number: int | None = None
    counted_cash: int | None = None
    closed_by: str | None = None
    suspended_open: int = 0

    @property
    def net_sales(self) -> int:
        return self.totals["sale"] - self.totals["return"] - self.totals["void"]

    @property
    def average_basket(self) -> int:
        completed = self.counts["sale"] - self.counts["void"]
        return self.net_sales // completed if completed > 0 else 0

    @property
    def over_short(self) -> int | None:
        return None if self.counted_cash is None else self.counted_cash - self.expected_cash

    def as_payload(self) -> dict:
        data = dataclasses.asdict(self)
        data["net_sales"] = self.net_sales
        data["over_short"] = self.over_short
        return data

    @classmethod
    def from_payload(cls, data: dict) -> "ShiftReport":
        """The report as it was closed, from its journal entry (a reprint shows the Z that was printed)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        return cls(**{**values, "shift": Shift(**values["shift"]), "taxes": [TaxLine(**t) for t in values["taxes"]],
                      "tenders": [TenderLine(**t) for t in values["tenders"]]})  # fmt: skip


_SHIFT_COLUMNS = "id, device, business_day, opened_at, opened_by, opening_float, closed_at, z_number"


class Shifts:
    def __init__(self, store: Store, device: str, zone: str, cutover_hour: int, exponent: int = 2):
        self.store = store
        self.exponent = exponent
        self.device = device
        self.zone = zone
        self.cutover_hour = cutover_hour

    def current(self) -> Shift | None:
        row = self.store.conn.execute(
            f"SELECT {_SHIFT_COLUMNS} FROM shifts WHERE device = ? AND closed_at IS NULL", (self.device,)
        ).fetchone()
        return Shift(*row) if row else None

    def require_open(self) -> Shift:
        shift = self.current()
        if shift is None:
            raise DomainError(f"no shift is open on terminal {self.device}: open a shift first", code="no_shift")
        return shift

    def open(self, operator: Operator, opening_float: int, *, at: datetime) -> Shift:
        authorize("shift.open", operator)
        if opening_float < 0:
            raise InputError("the opening float cannot be negative")
        if self.current() is not None:
            raise DomainError(f"a shift is already open on terminal {self.device}; close it with a Z report first")
        shift = Shift(
            id=uuid7(at),
            device=self.device,
            business_day=business_day(at, self.zone, self.cutover_hour).isoformat(),
            opened_at=iso(at),
            opened_by=operator.code,
            opening_float=opening_float,
        )
        with self.store.event("shift.opened", ref=shift.id, at=shift.opened_at) as event:
            if event.conn.execute(
                "SELECT 1 FROM shifts WHERE device = ? AND closed_at IS NULL", (self.device,)
            ).fetchone():
                raise DomainError(f"a shift was opened on terminal {self.device} meanwhile")
            event.conn.execute(
                "INSERT INTO shifts (id, device, business_day, opened_at, opened_by, opening_float) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (shift.id, shift.device, shift.business_day, shift.opened_at, shift.opened_by, opening_float),
            )
            event.payload = dataclasses.asdict(shift)
        return shift

    def cash_move(
        self, kind: str, amount: int, reason: str, operator: Operator, *, at: datetime, approver: Operator | None = None
    ) -> None:
        """Paid-in (change brought to the drawer) or paid-out (a supplier paid from the drawer)."""
        if kind not in ("paid_in", "paid_out"):
            raise InputError(f"cash move {kind!r} must be paid_in or paid_out")
        approved_by = authorize(f"cash.{kind}", operator, approver)
        if amount <= 0:
            raise InputError("the amount must be more than zero")
        if not reason.strip():
            raise InputError("give a reason for the cash movement")
        shift = self.require_open()
        if kind == "paid_out":
            in_drawer = self._report(self.store.conn, shift, "X", iso(at)).expected_cash
            if amount > in_drawer:
                raise DomainError(
                    f"the drawer should hold only {format_amount(in_drawer, self.exponent)}; "
                    "a paid-out cannot take more", code="drawer_short",
                )
        move_id = uuid7(at)
        with self.store.event(f"cash.{kind}", ref=move_id, at=iso(at)) as event:
            event.conn.execute(
                "INSERT INTO cash_moves (id, shift_id, kind, amount, reason, operator, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (move_id, shift.id, kind, amount, reason.strip(), operator.code, iso(at)),
            )
            event.payload = {
                "id": move_id, "shift_id": shift.id, "kind": kind, "amount": amount,
                "reason": reason.strip(), "operator": operator.code, "approved_by": approved_by,
            }

    def x_report(self, operator: Operator, *, at: datetime) -> ShiftReport:
        authorize("shift.x_report", operator)
        return self._report(self.store.conn, self.require_open(), "X", iso(at))

    def close(
        self, operator: Operator, counted_cash: int, *, at: datetime, approver: Operator | None = None
    ) -> ShiftReport:
        """Close the shift with its Z report; the report is computed in the closing transaction."""
        approved_by = authorize("shift.close", operator, approver)
        if counted_cash < 0:
            raise InputError("the counted cash cannot be negative")
        shift = self.require_open()
        at_text = iso(at)
        with self.store.event("shift.closed", ref=shift.id, at=at_text) as event:
            closed_by = approved_by or operator.code
            z_number = self.store.next_counter(event.conn, f"z:{self.device}")
            closing = event.conn.execute(
                "UPDATE shifts SET closed_at = ?, closed_by = ?, z_number = ?, counted_cash = ?, z_journal_seq = ? "
                "WHERE id = ? AND closed_at IS NULL",
                (at_text, closed_by, z_number, counted_cash, event.seq, shift.id),
            )
            if closing.rowcount != 1:  # another tool closed it first: no second Z, no gap in Z numbers
                raise DomainError(f"the shift on terminal {self.device} was closed meanwhile; nothing to close")
            closed = dataclasses.replace(shift, closed_at=at_text, z_number=z_number)
            report = self._report(event.conn, closed, "Z", at_text)
            report = dataclasses.replace(report, z_number=z_number, counted_cash=counted_cash, closed_by=closed_by)
            event.payload = report.as_payload()
        return report

    def _report(self, conn: sqlite3.Connection, shift: Shift, title: str, at: str) -> ShiftReport:
        counts = dict.fromkeys(DOC_KINDS, 0)
        totals = dict.fromkeys(DOC_KINDS, 0)
        discounts = rounding = line_voids = line_void_amount = 0
        for kind, count, total, discount, rounded, voids, void_amount in conn.execute(
            "SELECT kind, count(*), sum(total), sum(discount), sum(rounding), sum(line_voids), sum(line_void_amount) "
            "FROM sales WHERE shift_id = ? GROUP BY kind",
            (shift.id,),
        ):
            counts[kind], totals[kind] = count, total
            sign = {"sale": 1, "return": -1, "void": -1, "cancel": 0}[kind]
            discounts += sign * discount
            rounding += sign * rounded
            line_voids += voids
            line_void_amount += void_amount
        taxes: dict[int, list[int]] = {}
        for kind, rate, net, tax in conn.execute(
            "SELECT s.kind, t.rate, sum(t.net), sum(t.tax) FROM sales s JOIN sale_taxes t ON t.sale_id = s.id "
            "WHERE s.shift_id = ? AND s.kind != 'cancel' GROUP BY s.kind, t.rate",
            (shift.id,),
        ):
            sign = 1 if kind == "sale" else -1
            entry = taxes.setdefault(rate, [0, 0])
            entry[0] += sign * net
            entry[1] += sign * tax
        tenders: dict[str, list[int]] = {}
        for kind, tender, amount in conn.execute(
            "SELECT s.kind, p.kind, sum(p.amount) FROM sales s JOIN payments p ON p.sale_id = s.id "
            "WHERE s.shift_id = ? GROUP BY s.kind, p.kind",
            (shift.id,),
        ):
            entry = tenders.setdefault(tender, [0, 0])
            entry[0 if kind == "sale" else 1] += amount
        moves = dict(
            conn.execute("SELECT kind, sum(amount) FROM cash_moves WHERE shift_id = ? GROUP BY kind", (shift.id,)).fetchall()
        )
        cash = tenders.get("cash", [0, 0])
        paid_in, paid_out = moves.get("paid_in", 0), moves.get("paid_out", 0)
        suspended = conn.execute(
            "SELECT count(*) FROM suspended_sales WHERE device = ? AND resumed_at IS NULL", (shift.device,)
        ).fetchone()[0]
        return ShiftReport(
            title=title,
            shift=shift,
            printed_at=at,
            counts=counts,
            totals=totals,
            discounts=discounts,
            line_voids=line_voids,
            line_void_amount=line_void_amount,
            rounding=rounding,
            taxes=[TaxLine(rate, net, tax) for rate, (net, tax) in sorted(taxes.items())],
            tenders=[TenderLine(kind, taken, refunded) for kind, (taken, refunded) in sorted(tenders.items())],
            paid_in=paid_in,
            paid_out=paid_out,
            expected_cash=shift.opening_float + cash[0] - cash[1] + paid_in - paid_out,
            suspended_open=suspended,
        )

    def history(self, limit: int = 60) -> list[Shift]:
        """This terminal's shifts, the latest first."""
        return [Shift(*row) for row in self.store.conn.execute(
            f"SELECT {_SHIFT_COLUMNS} FROM shifts WHERE device = ? ORDER BY opened_at DESC LIMIT ?",
            (self.device, limit))]  # fmt: skip

    def z_report(self, shift_id: str) -> ShiftReport:
        """The Z report of a closed shift exactly as it was printed, read back from the journal."""
        row = self.store.conn.execute(
            "SELECT j.payload FROM shifts s JOIN journal j ON j.seq = s.z_journal_seq WHERE s.id = ?", (shift_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no closed shift {shift_id!r} on this terminal (open shifts have an X report, not a Z)")
        return ShiftReport.from_payload(json.loads(row[0]))

    def last_business_day(self) -> str | None:
        return self.store.scalar("SELECT max(business_day) FROM shifts WHERE device = ?", (self.device,))
