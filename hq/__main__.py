"""`python -m hq`: run the head office server, issue enrolment codes, revoke devices, print reports."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.errors import ApplianceError, ConfigError

from hq import feeds, reports
from hq.databases import open_storage
from hq.server import start
from hq.storage import SqlStorage

DB_HELP = "the head office database: a SQLite file path, or a postgresql://user@host/dbname URL"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hq", description="Head office: receives the terminals' journals.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the terminal contract over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8470, help="port to listen on; 0 picks a free one")
    serve.add_argument("--report-token-file", type=Path,
                       help="file holding the bearer token that opens /v1/reports (reports are off without it)")
    serve.add_argument("--zone", default="Asia/Shanghai", help="time zone the receipt pages show times in")
    serve.add_argument("--exponent", type=int, default=2, choices=(0, 1, 2, 3),
                       help="decimals of the currency on the receipt pages (2 for CNY)")
    code = sub.add_parser("enroll-code", help="print a new one-time enrolment code")
    code.add_argument("--store", default="", help="the store the terminal enrolled with this code belongs to")
    revoke = sub.add_parser("revoke", help="refuse a device's uploads from now on")
    revoke.add_argument("device", help="the device id")
    report = sub.add_parser("report", help="print a cross-store report")
    report.add_argument("name", choices=("sales", "top-products", "stock"))
    today = date.today()
    report.add_argument("--from", dest="since", default=(today - timedelta(days=6)).isoformat(),
                        help="first business day (default: six days ago)")
    report.add_argument("--to", dest="until", default=today.isoformat(), help="last business day (default: today)")
    report.add_argument("--store", default="", help="one store only (top-products, stock)")
    report.add_argument("--limit", type=int, default=20, help="how many products (top-products)")
    publish = sub.add_parser("publish", help="send catalog, promotions, coupons or delivery orders to the terminals")
    publish.add_argument("feed", choices=("catalog", "promotions", "coupons", "delivery-orders"))
    publish.add_argument("file", type=Path, help="catalog: CSV with the terminal's import columns; others: JSON list")
    publish.add_argument("--store", default="", help="delivery orders: the store whose terminals get them")
    for command in (serve, code, revoke, report, publish):
        command.add_argument("--db", required=True, help=DB_HELP)
    for command in (serve, report):
        command.add_argument("--read-db", help="a PostgreSQL read replica for status and reports")
    return parser


async def _serve(storage: SqlStorage, host: str, port: int, **options: object) -> None:
    app_runner, bound = await start(storage, host, port, **options)
    # Printed and flushed so a supervisor (or a test) knows when requests will be answered.
    print(f"hq listening on http://{host}:{bound}", flush=True)
    print(f"hq storage: {storage}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await app_runner.cleanup()


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {zone!r}: use an IANA name like Asia/Shanghai", where="--zone") from None


def _token(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the report token: {exc.strerror}", where=str(path)) from None
    if len(token) < 16:
        raise ConfigError("the report token is shorter than 16 characters: use a long random one", where=str(path))
    return token


def _print(report: reports.Report) -> None:
    print(report.title)
    print("\t".join(report.columns))
    for row in report.rows:
        print("\t".join(str(value) for value in row))


def _report(storage: SqlStorage, args: argparse.Namespace) -> None:
    if args.name == "sales":
        _print(reports.sales_by_store_day(storage, args.since, args.until))
    elif args.name == "top-products":
        _print(reports.top_products(storage, args.since, args.until, store=args.store, limit=args.limit))
    else:
        _print(reports.stock_by_store(storage, store=args.store))


def _publish(storage: SqlStorage, args: argparse.Namespace) -> None:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", where=str(args.file)) from None
    if args.feed == "delivery-orders" and not args.store:
        raise ConfigError("delivery orders belong to one store: give --store", where="--store")
    if args.feed == "coupons":
        items = feeds.coupon_items(text)
        feeds.publish_coupons(storage, items)
    else:
        read = {"catalog": feeds.catalog_items, "promotions": feeds.promotion_items,
                "delivery-orders": feeds.order_items}[args.feed]  # fmt: skip
        items = read(text)
        storage.publish(args.feed.replace("-", "_"), args.store if args.feed == "delivery-orders" else "", items)
    print(f"published {len(items)} {args.feed} item(s)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        storage = open_storage(args.db, read_db=getattr(args, "read_db", None))
        if args.command == "serve":
            _check_zone(args.zone)
            asyncio.run(_serve(storage, args.host, args.port, report_token=_token(args.report_token_file),
                               zone=args.zone, exponent=args.exponent))
        elif args.command == "enroll-code":
            print(storage.new_enrollment_code(args.store))
        elif args.command == "report":
            _report(storage, args)
        elif args.command == "publish":
            _publish(storage, args)
        else:
            storage.revoke(args.device)
            print(f"revoked {args.device}")
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
