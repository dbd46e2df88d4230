"""Shifts: float, paid in/out, X and Z reports that add up, Z numbers that never repeat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.core import vouchers
from appliance.core.clock import business_day
from appliance.core.returns import post_void, return_with_receipt
from appliance.errors import DomainError, InputError, PermissionDenied
from tests.conftest import BREAD, COLA, RICE, WATER


def _day(till, supervisor):
    """A small day: two sales, a return, a post-void, a cancel, paid in and out."""
    vouchers.issue(till.store, "V10", 1000, at=till.clock.now())
    till.scan(RICE)
    till.pay("voucher", reference="V10")
    a = till.pay("cash", 5000)  # 39.90: voucher 10.00 + cash 29.90
    till.scan(BREAD)
    till.scan(WATER)
    b = till.pay("cash", 2000)  # 11.90
    till.scan(COLA)
    till.cancel("changed mind")
    return_with_receipt(till, b["receipt_no"], [(2, 1000)])  # water 2.00 back in cash
    post_void(till, a["receipt_no"], approver=supervisor, reason="test")  # 29.90 cash + voucher back
    till.shifts.cash_move("paid_in", 5000, "change from bank", till.operator, at=till.clock.now())
    till.shifts.cash_move("paid_out", 1500, "window cleaner", till.operator, at=till.clock.now(), approver=supervisor)
    return a, b


def test_x_report_reads_without_closing(till, supervisor):
    _day(till, supervisor)
    x1 = till.shifts.x_report(till.operator, at=till.clock.now())
    x2 = till.shifts.x_report(till.operator, at=till.clock.now())
    assert x1.z_number is None and x1 == x2
    assert till.shifts.current() is not None


def test_z_report_adds_up(till, supervisor):
    _day(till, supervisor)
    z = till.shifts.close(supervisor, counted_cash=10000 + 2990 + 1190 - 200 - 2990 + 5000 - 1500 - 100, at=till.clock.now())
    assert z.counts == {"sale": 2, "return": 1, "void": 1, "cancel": 1}
    assert z.totals == {"sale": 3990 + 1190, "return": 200, "void": 3990, "cancel": 350}
    assert z.net_sales == 1190 - 200
    tenders = {t.kind: (t.taken, t.refunded) for t in z.tenders}
    assert tenders == {"cash": (2990 + 1190, 200 + 2990), "voucher": (1000, 1000)}
    assert (z.paid_in, z.paid_out) == (5000, 1500)
    assert z.expected_cash == 10000 + 2990 + 1190 - 200 - 2990 + 5000 - 1500
    assert z.over_short == -100
    assert sum(t.tax for t in z.taxes) == 82  # bread 9.90 at 9%: 0.82; the water returned, the rice voided
    assert z.z_number == 1 and till.shifts.current() is None


def test_z_numbers_increment_and_never_repeat(till, supervisor):
    numbers = []
    for _ in range(3):
        numbers.append(till.shifts.close(supervisor, 10000, at=till.clock.now()).z_number)
        till.shifts.open(till.operator, 10000, at=till.clock.now())
    assert numbers == [1, 2, 3]
    rows = till.store.conn.execute("SELECT z_number FROM shifts WHERE z_number IS NOT NULL").fetchall()
    assert sorted(r[0] for r in rows) == [1, 2, 3]


def test_closing_needs_a_supervisor(till, supervisor):
    with pytest.raises(PermissionDenied):
        till.shifts.close(till.operator, 0, at=till.clock.now())
    report = till.shifts.close(till.operator, 10000, at=till.clock.now(), approver=supervisor)
    assert report.closed_by == "2001" and report.over_short == 0


def test_one_open_shift_per_terminal(till, supervisor):
    with pytest.raises(DomainError, match="already open"):
        till.shifts.open(till.operator, 0, at=till.clock.now())
    till.shifts.close(supervisor, 10000, at=till.clock.now())
    with pytest.raises(DomainError, match="open a shift"):
        till.shifts.x_report(till.operator, at=till.clock.now())


def test_cash_moves_are_checked(till, supervisor):
    with pytest.raises(PermissionDenied):
        till.shifts.cash_move("paid_out", 100, "coffee", till.operator, at=till.clock.now())
    with pytest.raises(InputError, match="reason"):
        till.shifts.cash_move("paid_in", 100, " ", till.operator, at=till.clock.now())
    with pytest.raises(InputError, match="more than zero"):
        till.shifts.cash_move("paid_in", 0, "x", till.operator, at=till.clock.now())
    with pytest.raises(InputError, match="paid_in or paid_out"):
        till.shifts.cash_move("stolen", 100, "x", till.operator, at=till.clock.now())


def test_negative_float_or_count_refused(till, supervisor):
    with pytest.raises(InputError):
        till.shifts.close(supervisor, -1, at=till.clock.now())
    till.shifts.close(supervisor, 0, at=till.clock.now())
    with pytest.raises(InputError):
        till.shifts.open(till.operator, -100, at=till.clock.now())


def test_business_day_cutover():
    zone = "Asia/Shanghai"
    late = datetime(2026, 11, 25, 1, 30, tzinfo=ZoneInfo(zone))
    assert business_day(late, zone, 4).isoformat() == "2026-11-24"
    assert business_day(late, zone, 0).isoformat() == "2026-11-25"
    morning = datetime(2026, 11, 25, 4, 0, tzinfo=ZoneInfo(zone))
    assert business_day(morning, zone, 4).isoformat() == "2026-11-25"


def test_the_z_report_is_journaled_with_its_number(till, supervisor):
    z = till.shifts.close(supervisor, 10000, at=till.clock.now())
    seq = till.store.scalar("SELECT z_journal_seq FROM shifts WHERE id = ?", (z.shift.id,))
    kind, ref = till.store.conn.execute("SELECT kind, ref FROM journal WHERE seq = ?", (seq,)).fetchone()
    assert (kind, ref) == ("shift.closed", z.shift.id)


def test_a_second_close_of_the_same_shift_is_refused_without_a_z_number(till, supervisor, settings, clock):
    from appliance.core.shifts import Shifts
    from appliance.store.db import Store

    with Store(settings.database_path) as other_store:
        other = Shifts(other_store, "T01", "Asia/Shanghai", 4)
        stale = other.require_open()
        till.shifts.close(supervisor, 10000, at=clock.now())
        other.require_open = lambda: stale  # it looked before the first close committed
        with pytest.raises(DomainError, match="closed meanwhile"):
            other.close(supervisor, 10000, at=clock.now())
    assert till.store.scalar("SELECT value FROM counters WHERE name = 'z:T01'") == 1
    assert till.store.scalar("SELECT count(*) FROM journal WHERE kind = 'shift.closed'") == 1


def test_a_paid_out_cannot_take_more_than_the_drawer_holds(till, supervisor):
    with pytest.raises(DomainError, match="only 100.00") as err:
        till.shifts.cash_move("paid_out", 10001, "supplier", till.operator, at=till.clock.now(), approver=supervisor)
    assert err.value.code == "drawer_short"
    till.shifts.cash_move("paid_out", 10000, "supplier", till.operator, at=till.clock.now(), approver=supervisor)
