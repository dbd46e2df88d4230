"""`appliance report NAME --from --to --format table|csv|json [--print] [--chart FILE]` and `appliance report list`."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.common import open_store, paper, settings_from
from appliance.core import reports
from appliance.core.clock import SystemClock, business_day
from appliance.core.reports.period import Period
from appliance.display.report_docs import report_document, terminal_table


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("report", help="back-office reports: sales, profit, baskets, trend, stock, members")
    parser.add_argument("name", metavar="NAME", help="the report (`appliance report list` names them all)")
    parser.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first business day (default: --to)")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last business day (default: today's)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--limit", type=int, help="at most this many rows of a product list")
    parser.add_argument("--print", dest="narrow", action="store_true",
                        help="show the narrow version for the receipt printer instead")
    parser.add_argument("--width", type=int, choices=(32, 42, 48), help="paper width in characters for --print")
    parser.add_argument("--chart", type=Path, metavar="FILE", help="also draw the report's chart (.png or .svg)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.name == "list":
        for name, spec in reports.specs().items():
            print(f"{name:<16} {spec.summary}{'  [chart]' if spec.chart else ''}")
        return 0
    settings = settings_from(args)
    reports.spec(args.name)  # an unknown name is refused before the store is opened
    today = business_day(SystemClock().now(), settings.time.zone, settings.time.cutover_hour).isoformat()
    last = args.last or today
    period = Period.parse(args.first or last, last, settings.time.zone, settings.time.cutover_hour)
    loyalty = getattr(settings, "loyalty", None)
    with open_store(settings, must_exist=True) as store:
        table = reports.run(store.conn, args.name, period, exclusive=settings.tax.mode == "exclusive",
                            limit=args.limit, exponent=settings.currency.exponent,
                            redeem_rate=getattr(loyalty, "redeem_rate", 100))
    exp = settings.currency.exponent
    if args.chart is not None:
        from appliance.display import charts

        charts.save(table, reports.spec(args.name).chart, args.chart, exp)
    if args.narrow:
        print(paper(report_document(table, settings.shop.name, exp), [args.width or settings.receipt.width]))
    elif args.format == "csv":
        print(table.as_csv(exp), end="")
    elif args.format == "json":
        print(table.as_json())
    else:
        print(terminal_table(table, exp))
    return 0
