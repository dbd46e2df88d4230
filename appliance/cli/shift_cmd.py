"""`appliance shift open|x|close`."""

from __future__ import annotations

import argparse

import sys

from appliance.cli.card_cmd import run_batch_close
from appliance.cli.common import approver, money, paper, sign_in, till_for
from appliance.display.report import batch_report, shift_report
from appliance.errors import DomainError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("shift", help="open a shift, read the X report, close with the Z report")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    opener = sub.add_parser("open", help="open a shift with a cash float")
    opener.add_argument("--operator", required=True)
    opener.add_argument("--float", dest="opening_float", default="0", help="cash in the drawer at the start")
    opener.set_defaults(func=open_shift)
    x = sub.add_parser("x", help="print the X report (nothing is reset)")
    x.add_argument("--operator", required=True)
    x.add_argument("--width", type=int, choices=(32, 42, 48))
    x.set_defaults(func=x_report)
    close = sub.add_parser("close", help="close the shift and print its Z report")
    close.add_argument("--operator", required=True)
    close.add_argument("--counted", required=True, help="cash counted in the drawer")
    close.add_argument("--supervisor", help="supervisor code when a cashier closes")
    close.add_argument("--width", type=int, choices=(32, 42, 48))
    close.set_defaults(func=close_shift)


def open_shift(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        shift = till.shifts.open(operator, money(args.opening_float, till.settings, "float"), at=till.clock.now())
    print(f"shift {shift.id} opened on {shift.device} for business day {shift.business_day}")
    return 0


def x_report(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        report = till.shifts.x_report(sign_in(till, args.operator), at=till.clock.now())
        print(paper(shift_report(report, till.settings), [args.width or till.settings.receipt.width]))
    return 0


def close_shift(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        counted = money(args.counted, till.settings, "counted cash")
        report = till.shifts.close(operator, counted, at=till.clock.now(), approver=approver(till, args.supervisor))
        elements = shift_report(report, till.settings)
        if till.settings.payments.host:
            # The card batch closes with the day; the shift is closed whatever the acquirer says.
            try:
                elements += batch_report(run_batch_close(till.settings, till.store, till.clock.now()), till.settings)
            except DomainError as exc:
                print(f"the card batch is not closed: {exc}; close it later with `appliance card batch`",
                      file=sys.stderr)
        print(paper(elements, [args.width or till.settings.receipt.width]))
    return 0
