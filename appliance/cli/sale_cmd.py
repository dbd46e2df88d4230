"""`appliance sale`, `appliance return`, `appliance void`: scripted transactions for automation.

Arguments are applied in the order given, as at the till: `--qty 3 --scan CODE` rings up
three (the quantity key comes before the scan), `--pay` tenders in turn. Every code is
looked up before anything is written; then a shift is opened (float 0) if none is open,
and stays open even if the sale is then refused (unpaid, a voucher already used). A
refused sale commits nothing and exits non-zero.
"""

from __future__ import annotations

import argparse

from appliance.cli.common import approver, money, parse_quantity_arg, print_receipt, sign_in, till_for
from appliance.core.money import format_amount
from appliance.core.money import parse_quantity
from appliance.core.returns import find_receipt, post_void, return_with_receipt, return_without_receipt, returnable
from appliance.core.till import Till
from appliance.errors import DomainError, InputError


class _Ordered(argparse.Action):
    """Keep --scan/--qty/--pay/--member in the order typed, like keys pressed at the till."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, values))
        namespace.steps = steps


def register(commands: argparse._SubParsersAction) -> None:
    sale = commands.add_parser("sale", help="ring up and pay a sale from the command line")
    sale.add_argument("--operator", required=True, help="operator code (PIN from $APPLIANCE_PIN or a prompt)")
    sale.add_argument("--scan", dest="scan", action=_Ordered, metavar="CODE", help="barcode, scale label or SKU")
    sale.add_argument("--qty", dest="qty", action=_Ordered, metavar="N", type=parse_quantity_arg,
                      help="quantity for the next --scan: pieces, or kilograms for weighed goods")
    sale.add_argument("--member", dest="member", action=_Ordered, metavar="PHONE", help="attach a member")
    sale.add_argument("--pay", dest="pay", action=_Ordered, metavar="KIND[:VALUE]",
                      help="cash:12.50, cash (exact), voucher:CODE, stored_value[:AMOUNT]")
    sale.add_argument("--width", type=int, choices=(32, 42, 48), help="receipt width (default: the configured one)")
    sale.set_defaults(func=run_sale, steps=[])

    ret = commands.add_parser("return", help="return goods against a receipt (or without one, with a supervisor)")
    ret.add_argument("--operator", required=True)
    ret.add_argument("--receipt", help="receipt number, typed or scanned from the receipt's barcode")
    ret.add_argument("--line", action="append", default=[], metavar="N[:QTY]",
                     help="line of the receipt to return, with a quantity (default: all that is left)")
    ret.add_argument("--all", action="store_true", help="return everything left on the receipt")
    ret.add_argument("--scan", action="append", default=[], metavar="CODE[:QTY]", help="item returned without receipt")
    ret.add_argument("--to", choices=("original", "cash"), default="original", help="where the refund goes")
    ret.add_argument("--no-restock", action="store_true", help="damaged goods: do not put them back in stock")
    ret.add_argument("--reason", default="")
    ret.add_argument("--supervisor", help="supervisor code when approval is needed (PIN from $APPLIANCE_SUPERVISOR_PIN)")
    ret.add_argument("--width", type=int, choices=(32, 42, 48))
    ret.set_defaults(func=run_return)

    void = commands.add_parser("void", help="post-void a completed sale of the open shift (needs a supervisor)")
    void.add_argument("--operator", required=True)
    void.add_argument("--receipt", required=True)
    void.add_argument("--supervisor", help="supervisor code (PIN from $APPLIANCE_SUPERVISOR_PIN)")
    void.add_argument("--reason", required=True)
    void.add_argument("--width", type=int, choices=(32, 42, 48))
    void.set_defaults(func=run_void)


def _widths(till: Till, args: argparse.Namespace) -> list[int]:
    return [args.width or till.settings.receipt.width]


def _ensure_shift(till: Till) -> None:
    if till.shifts.current() is None:
        till.shifts.open(till.require_operator(), 0, at=till.clock.now())


def run_sale(args: argparse.Namespace) -> int:
    if not any(kind == "scan" for kind, _ in args.steps):
        raise InputError("nothing to sell: give at least one --scan CODE")
    _check_order(args.steps)
    with till_for(args) as till:
        sign_in(till, args.operator)
        for kind, value in args.steps:
            if kind == "scan":
                till.catalog.resolve(value)  # an unknown code is refused before a shift is opened
        _ensure_shift(till)
        quantity = None
        doc = None
        for index, (kind, value) in enumerate(args.steps):
            if kind == "qty":
                quantity = value
            elif kind == "scan":
                line = till.scan(value, quantity)
                if quantity is not None and line.unit == "piece" and line.from_label:
                    raise InputError(f"--qty does not apply to the scale label {value}")
                quantity = None
            elif kind == "member":
                till.attach_member(value)
            else:
                doc = _pay(till, value)
                if doc is not None and index < len(args.steps) - 1:
                    # Committed already (a paid sale is never rolled back): show its receipt, then say
                    # which arguments were not used, so a script does not take them as paid.
                    print_receipt(till, doc, _widths(till, args))
                    unused = " ".join(f"--pay {v}" for _, v in args.steps[index + 1 :])
                    raise InputError(f"the sale was paid in full by --pay {value} and recorded as "
                                     f"{doc['receipt_no']}; not used: {unused}")
        if doc is None:
            due = till.remaining() if till.sale else 0
            raise DomainError(f"the sale is not paid in full: {format_amount(due, till.settings.currency.exponent)} "
                              "still due; nothing was recorded")
        print_receipt(till, doc, _widths(till, args))
    return 0


def _check_order(steps: list[tuple[str, object]]) -> None:
    """Items and the member come before the payments, as at the till; refuse before anything is done."""
    seen_pay = pending_qty = False
    for kind, _ in steps:
        if seen_pay and kind != "pay":
            raise InputError(f"--{kind} comes after --pay: give every --scan, --qty and --member before the first --pay")
        if pending_qty and kind != "scan":
            raise InputError("--qty must be followed by the --scan it counts")
        seen_pay = seen_pay or kind == "pay"
        pending_qty = kind == "qty"
    if pending_qty:
        raise InputError("--qty must be followed by the --scan it counts")


def _pay(till: Till, spec: str):
    kind, _, value = spec.partition(":")
    if kind == "voucher":
        return till.pay("voucher", reference=value)
    amount = money(value, till.settings) if value else None
    return till.pay(kind, amount)


def run_return(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        sign_in(till, args.operator)
        _ensure_shift(till)
        boss = approver(till, args.supervisor)
        if args.receipt:
            if args.scan:
                raise InputError("give --line for a return with --receipt, --scan only without one")
            items = _receipt_items(till, args)
            doc = return_with_receipt(till, args.receipt, items, refund_to=args.to, restock=not args.no_restock,
                                      reason=args.reason, approver=boss)
            print_receipt(till, doc, _widths(till, args), original_receipt=args.receipt.strip().upper())
        else:
            if not args.scan:
                raise InputError("give --receipt NUMBER, or --scan CODE for a return without receipt")
            items = []
            for spec in args.scan:
                code, _, qty = spec.partition(":")
                items.append((code, parse_quantity(qty) if qty else 1000))
            doc = return_without_receipt(till, items, approver=boss, reason=args.reason, restock=not args.no_restock)
            print_receipt(till, doc, _widths(till, args))
    return 0


def _receipt_items(till: Till, args: argparse.Namespace) -> list[tuple[int, int]]:
    left = {r.line_no: r.left for r in returnable(till, find_receipt(till, args.receipt))}
    if args.all:
        if args.line:
            raise InputError("give either --all or --line")
        items = [(n, q) for n, q in left.items() if q > 0]
        if not items:
            raise DomainError(f"everything on receipt {args.receipt} has already been returned")
        return items
    if not args.line:
        raise InputError("choose what to return: --line N[:QTY] (repeatable) or --all")
    items = []
    for spec in args.line:
        number, _, qty = spec.partition(":")
        if not number.isdigit():
            raise InputError(f"--line {spec!r}: the line number must be a whole number")
        items.append((int(number), parse_quantity(qty) if qty else left.get(int(number), 0) or 1000))
    return items


def run_void(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        sign_in(till, args.operator)
        doc = post_void(till, args.receipt, approver=approver(till, args.supervisor), reason=args.reason)
        print_receipt(till, doc, _widths(till, args), original_receipt=args.receipt.strip().upper())
    return 0
