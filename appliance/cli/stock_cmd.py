"""`appliance stock`: receive deliveries, adjust, transfer, count, report, alerts, reorder, check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.cli.common import approver, money, sign_in, till_for
from appliance.core import reorder, stock, stock_ledger, stocktake
from appliance.core.clock import iso
from appliance.core.money import format_amount, parse_amount, parse_quantity
from appliance.errors import InputError

_OPERATOR = "operator code (PIN from $APPLIANCE_PIN or a prompt)"
_SUPERVISOR = "a supervisor who approves (PIN from $APPLIANCE_SUPERVISOR_PIN)"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("stock", help="inventory: deliveries, adjustments, stocktakes, reorder")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    rec = sub.add_parser("receive", help="book a delivery in (CSV sku,quantity,unit_cost, or one --sku)")
    rec.add_argument("file", nargs="?", type=Path, help="delivery note as CSV")
    rec.add_argument("--sku")
    rec.add_argument("--qty", help="quantity received (pieces or kilograms)")
    rec.add_argument("--cost", help="unit cost of this delivery")
    rec.add_argument("--supplier", default="", help="supplier id")
    rec.add_argument("--document", default="", help="delivery note number")
    rec.add_argument("--operator", required=True, help=_OPERATOR)
    rec.set_defaults(func=receive)

    adj = sub.add_parser("adjust", help="correct stock with a reason (needs a supervisor)")
    adj.add_argument("--sku", required=True)
    adj.add_argument("--qty", required=True, help="signed quantity: -2 takes two out, 3 puts three in")
    adj.add_argument("--reason", required=True, choices=stock_ledger.REASONS)
    adj.add_argument("--note", default="")
    adj.add_argument("--operator", required=True, help=_OPERATOR)
    adj.add_argument("--supervisor", help=_SUPERVISOR)
    adj.set_defaults(func=adjust)

    trn = sub.add_parser("transfer", help="send goods to another shop, or book them in from one")
    trn.add_argument("--sku", required=True)
    trn.add_argument("--qty", required=True)
    way = trn.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", help="shop id the goods go to")
    way.add_argument("--from", dest="from_shop", help="shop id the goods come from")
    trn.add_argument("--cost", help="unit cost of goods coming in (default: the current average)")
    trn.add_argument("--document", default="", help="transfer slip number")
    trn.add_argument("--operator", required=True, help=_OPERATOR)
    trn.add_argument("--supervisor", help=_SUPERVISOR)
    trn.set_defaults(func=transfer)

    _register_count(sub)

    rep = sub.add_parser("report", help="on-hand, value at cost, reorder point")
    rep.add_argument("--category", default="")
    rep.add_argument("--below", action="store_true", help="only products below their reorder point")
    rep.set_defaults(func=report)

    alr = sub.add_parser("alerts", help="low-stock alerts")
    alr.add_argument("--all", action="store_true", help="cleared alerts too")
    alr.set_defaults(func=alerts)

    reo = sub.add_parser("reorder", help="what to order, per supplier")
    reo.add_argument("--supplier")
    reo.set_defaults(func=reorder_list)

    chk = sub.add_parser("check", help="prove on-hand equals the ledger and the ledger equals the sales")
    chk.set_defaults(func=check)

    sup = sub.add_parser("supplier", help="suppliers")
    sup_sub = sup.add_subparsers(dest="supplier_action", required=True, metavar="ACTION")
    add = sup_sub.add_parser("add", help="add a supplier (needs a manager)")
    add.add_argument("--id", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--lead-days", type=int, help="days from order to delivery (default [stock] default_lead_days)")
    add.add_argument("--operator", required=True, help=_OPERATOR)
    add.set_defaults(func=supplier_add)
    sup_sub.add_parser("list", help="list suppliers").set_defaults(func=supplier_list)

    rule = sub.add_parser("rule", help="how a product is reordered (needs a manager)")
    rule.add_argument("--sku", required=True)
    minimum = rule.add_mutually_exclusive_group()
    minimum.add_argument("--minimum", help="fixed reorder point (pieces or kilograms)")
    minimum.add_argument("--learned", action="store_true", help="drop the fixed minimum: learn the point from sales")
    rule.add_argument("--supplier", help="supplier id")
    rule.add_argument("--pack", help="pack size orders are rounded up to")
    rule.add_argument("--min-order", help="smallest quantity the supplier takes")
    rule.add_argument("--lead-days", type=int, help="lead time of this product, if not the supplier's")
    rule.add_argument("--operator", required=True, help=_OPERATOR)
    rule.set_defaults(func=set_rule)


def _register_count(sub: argparse._SubParsersAction) -> None:
    count = sub.add_parser("count", help="stocktakes: open, sheet, enter, variance, apply, cancel")
    steps = count.add_subparsers(dest="count_action", required=True, metavar="STEP")
    opn = steps.add_parser("open", help="start a stocktake of every product or one category")
    opn.add_argument("--category", default="")
    opn.add_argument("--blind", action="store_true", help="count sheets without the expected quantity")
    opn.add_argument("--operator", required=True, help=_OPERATOR)
    opn.set_defaults(func=count_open)
    sheet = steps.add_parser("sheet", help="write the count sheet as CSV (to FILE, or standard output)")
    sheet.add_argument("file", nargs="?", type=Path)
    sheet.set_defaults(func=count_sheet)
    ent = steps.add_parser("enter", help="enter counts: a filled-in sheet, or one --sku and --qty")
    ent.add_argument("file", nargs="?", type=Path, help="count sheet with the counted column filled in")
    ent.add_argument("--sku")
    ent.add_argument("--qty")
    ent.add_argument("--operator", required=True, help=_OPERATOR)
    ent.set_defaults(func=count_enter)
    var = steps.add_parser("variance", help="counted against expected, in quantity and at cost")
    var.add_argument("--session", help="a closed stocktake's id (default: the open one)")
    var.set_defaults(func=count_variance)
    app = steps.add_parser("apply", help="write the variances to stock and close the stocktake")
    app.add_argument("--operator", required=True, help=_OPERATOR)
    app.add_argument("--supervisor", help=_SUPERVISOR)
    app.set_defaults(func=count_apply)
    can = steps.add_parser("cancel", help="close the stocktake without changing stock")
    can.add_argument("--operator", required=True, help=_OPERATOR)
    can.add_argument("--supervisor", help=_SUPERVISOR)
    can.set_defaults(func=count_cancel)


def _qty(text: str | None, what: str = "quantity") -> int:
    if text is None:
        raise InputError(f"give --{what.replace(' ', '-')}")
    return parse_quantity(text, what=what)


def _print_alerts(changes: list[dict]) -> None:
    for change in changes:
        print(f"alert {change['state']}: {change['name']} ({change['sku']}) on hand "
              f"{stock_ledger.describe(change['on_hand'], change['unit'])}, "
              f"reorder point {stock_ledger.describe(change['point'], change['unit'])}")


def receive(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        exp = till.settings.currency.exponent
        if args.file is not None:
            if args.sku or args.qty or args.cost:
                raise InputError("give a delivery file or --sku/--qty/--cost, not both")
            with args.file.open(encoding="utf-8-sig", newline="") as text:
                lines, errors = stock.read_delivery(till.store.conn, text, exp)
            if errors:
                for error in errors:
                    print(f"{args.file}: {error}", file=sys.stderr)
                print(f"nothing received: {len(errors)} bad row(s); fix them and run again", file=sys.stderr)
                return 2
        else:
            if not args.sku or args.cost is None:
                raise InputError("give a delivery file, or --sku, --qty and --cost")
            lines = [stock.ReceiptLine(args.sku, _qty(args.qty), money(args.cost, till.settings, "unit cost"))]
        done = stock.receive(till.store, till.settings, lines, operator=operator, at=till.clock.now(),
                             supplier_id=args.supplier, document=args.document)
    for line in done["lines"]:
        print(f"{line['sku']:<12} +{stock_ledger.describe(line['quantity'], 'piece')} at "
              f"{format_amount(line['unit_cost'], exp)}; average cost {format_amount(line['cost_before'], exp)} -> "
              f"{format_amount(line['cost_after'], exp)}; on hand {stock_ledger.describe(line['on_hand'], 'piece')}")
    _print_alerts(done["stock_alerts"])
    print(f"received {len(done['lines'])} line(s)")
    return 0


def adjust(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        quantity = parse_amount(args.qty, 3, what="quantity")
        done = stock.adjust(till.store, till.settings, args.sku, quantity, args.reason, operator=operator,
                            approver=approver(till, args.supervisor), at=till.clock.now(), note=args.note)
    print(f"{done['sku']}: {args.reason} {args.qty}; on hand {stock_ledger.describe(done['on_hand'], 'piece')}")
    _print_alerts(done["stock_alerts"])
    return 0


def transfer(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        boss = approver(till, args.supervisor)
        quantity = _qty(args.qty)
        if args.to:
            if args.cost is not None:
                raise InputError("--cost is for goods coming in (--from); goods sent leave at the average cost")
            done = stock.transfer_out(till.store, till.settings, args.sku, quantity, args.to, operator=operator,
                                      approver=boss, at=till.clock.now(), document=args.document)
            print(f"{done['sku']}: sent {args.qty} to {args.to}; on hand {stock_ledger.describe(done['on_hand'], 'piece')}")
        else:
            item = stock_ledger.product(till.store.conn, args.sku)
            cost = item.cost if args.cost is None else money(args.cost, till.settings, "unit cost")
            done = stock.receive(till.store, till.settings, [stock.ReceiptLine(item.sku, quantity, cost)],
                                 operator=operator, at=till.clock.now(), document=args.document,
                                 kind="transfer_in", party=args.from_shop, approver=boss)
            print(f"{item.sku}: received {args.qty} from {args.from_shop}; "
                  f"on hand {stock_ledger.describe(done['lines'][0]['on_hand'], 'piece')}")
    _print_alerts(done["stock_alerts"])
    return 0


def count_open(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        session = stocktake.open_session(till.store, category=args.category, blind=args.blind,
                                         operator=sign_in(till, args.operator), at=till.clock.now())
        products = till.store.scalar("SELECT count(*) FROM stocktake_lines WHERE stocktake_id = ?", (session.id,))
    print(f"stocktake {session.id} open: {products} products{' (blind)' if session.blind else ''}")
    return 0


def count_sheet(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        if args.file is None:
            count = stocktake.write_sheet(till.store.conn, sys.stdout)
        else:
            with args.file.open("w", encoding="utf-8", newline="") as out:
                count = stocktake.write_sheet(till.store.conn, out)
    print(f"{count} products on the sheet", file=sys.stderr)
    return 0


def count_enter(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        if args.file is not None:
            if args.sku or args.qty:
                raise InputError("give a count sheet or --sku/--qty, not both")
            with args.file.open(encoding="utf-8-sig", newline="") as text:
                rows = stocktake.read_counts(text)
            entries, bad = [], 0
            for line, sku, counted in rows:
                try:
                    entries.append((sku, parse_amount(counted, 3, what="counted")))
                except InputError as exc:
                    print(f"{args.file}: line {line}, column counted: {exc.message}", file=sys.stderr)
                    bad += 1
            if bad:
                print(f"nothing entered: {bad} bad row(s)", file=sys.stderr)
                return 2
        else:
            if not args.sku or args.qty is None:
                raise InputError("give a count sheet, or --sku and --qty")
            entries = [(args.sku, parse_amount(args.qty, 3, what="quantity"))]
        done = stocktake.enter(till.store, entries, operator=operator, at=till.clock.now())
    print(f"stocktake {done['id']}: {len(done['entries'])} count(s) entered")
    return 0


def count_variance(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        session, lines = stocktake.variance(till.store.conn, args.session)
        exp = till.settings.currency.exponent
    print(f"stocktake {session.id} ({session.status}), {len(lines)} products counted")
    for v in lines:
        print(f"{v.sku:<12} expected {stock_ledger.describe(v.expected, v.unit):>9} counted "
              f"{stock_ledger.describe(v.counted, v.unit):>9} variance {stock_ledger.describe(v.variance, v.unit):>9} "
              f"{format_amount(v.value, exp):>10}  {v.name}")
    print(f"variance at cost: {format_amount(sum(v.value for v in lines), exp)}")
    return 0


def count_apply(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        done = stocktake.apply(till.store, till.settings, operator=operator, approver=approver(till, args.supervisor),
                               at=till.clock.now())
        exp = till.settings.currency.exponent
    moved = sum(1 for line in done["lines"] if line["variance"])
    print(f"stocktake {done['id']} applied: {len(done['lines'])} counted, {moved} changed, "
          f"variance at cost {format_amount(done['variance_value'], exp)}")
    _print_alerts(done["stock_alerts"])
    return 0


def count_cancel(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        session_id = stocktake.cancel(till.store, operator=operator, approver=approver(till, args.supervisor),
                                      at=till.clock.now())
    print(f"stocktake {session_id} cancelled; stock unchanged")
    return 0


def report(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        levels = stock.report(till.store, till.settings, till.clock.now(), category=args.category)
        exp = till.settings.currency.exponent
    total = 0
    for level in levels:
        if args.below and not level.below:
            continue
        total += level.value
        point = "-" if level.point is None else stock_ledger.describe(level.point, level.unit)
        flag = "  BELOW" if level.below else ""
        print(f"{level.sku:<12} {stock_ledger.describe(level.on_hand, level.unit):>10} x "
              f"{format_amount(level.cost, exp):>8} = {format_amount(level.value, exp):>11}  point {point:>7}"
              f"  {level.name}{flag}")
    print(f"stock value at cost: {format_amount(total, exp)}")
    return 0


def alerts(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        found = reorder.alerts(till.store.conn, include_cleared=args.all)
    for a in found:
        state = f"cleared {a.cleared_at}" if a.cleared_at else "OPEN"
        print(f"{a.sku:<12} on hand {stock_ledger.describe(a.on_hand, a.unit):>8} below "
              f"{stock_ledger.describe(a.point, a.unit):>8} since {a.raised_at}  {state}  {a.name}")
    print(f"{sum(1 for a in found if a.cleared_at is None)} open alert(s)")
    return 0


def reorder_list(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        with till.store.atomic() as conn:
            found = reorder.suggestions(conn, till.settings, reorder.today_of(till.settings, iso(till.clock.now())),
                                        args.supplier)
    supplier = None
    for s in found:
        if s.supplier_id != supplier:
            supplier = s.supplier_id
            print(f"supplier {supplier}:")
        print(f"  {s.sku:<12} order {stock_ledger.describe(s.quantity, s.unit):>8}  (on hand "
              f"{stock_ledger.describe(s.on_hand, s.unit)}, point {stock_ledger.describe(s.point, s.unit)}, "
              f"up to {stock_ledger.describe(s.order_up_to, s.unit)})  {s.name}")
    print(f"{len(found)} product(s) to order")
    return 0


def check(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        result = stock_ledger.check(till.store.conn)
    for line in result.lines:
        print(line)
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    if result.problems:
        return 3
    print("stock ok")
    return 0


def supplier_add(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        reorder.add_supplier(till.store, till.settings, args.id, args.name, args.lead_days,
                             operator=sign_in(till, args.operator), at=till.clock.now())
    print(f"supplier {args.id} added")
    return 0


def supplier_list(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        for supplier_id, name, lead in reorder.suppliers(till.store.conn):
            print(f"{supplier_id:<12} lead {lead:>3} day(s)  {name}")
    return 0


def set_rule(args: argparse.Namespace) -> int:
    changes: dict = {}
    if args.minimum is not None:
        changes["minimum"] = parse_amount(args.minimum, 3, what="minimum")
    if args.learned:
        changes["minimum"] = None
    if args.supplier is not None:
        changes["supplier_id"] = args.supplier
    if args.pack is not None:
        changes["pack_size"] = _qty(args.pack, "pack")
    if args.min_order is not None:
        changes["min_order"] = parse_amount(args.min_order, 3, what="min order")
    if args.lead_days is not None:
        changes["lead_days"] = args.lead_days
    with till_for(args) as till:
        rule = reorder.set_rule(till.store, args.sku, changes, operator=sign_in(till, args.operator),
                                at=till.clock.now())
    print(f"{args.sku}: " + ", ".join(f"{k} {v}" for k, v in rule.items()))
    return 0
