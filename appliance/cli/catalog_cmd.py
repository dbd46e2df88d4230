"""`appliance catalog import|export|list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.cli.common import sign_in, till_for
from appliance.core.catalog_csv import Rules, export_csv, import_csv
from appliance.core.clock import iso
from appliance.core.money import format_amount
from appliance.core.operators import authorize
from appliance.errors import InputError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("catalog", help="products: import, export, list")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="import products from CSV; nothing is applied unless every row is valid")
    imp.add_argument("file", type=Path)
    imp.add_argument("--skip-bad", action="store_true", help="apply the valid rows and list the bad ones")
    imp.add_argument("--operator", required=True, help="a manager's code (PIN from $APPLIANCE_PIN or a prompt)")
    imp.set_defaults(func=import_file)
    exp = sub.add_parser("export", help="write the catalog as CSV (to FILE, or standard output)")
    exp.add_argument("file", nargs="?", type=Path)
    exp.set_defaults(func=export_file)
    lst = sub.add_parser("list", help="list products")
    lst.add_argument("--search", default="", help="part of a SKU or name, or a whole barcode")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=list_products)


def import_file(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        authorize("catalog.import", sign_in(till, args.operator))
        s = till.settings
        rules = Rules.of(s)
        if not args.file.is_file():
            raise InputError("no such file", where=str(args.file))
        result = import_csv(till.store, args.file, rules, at=iso(till.clock.now()), skip_bad=args.skip_bad)
    for error in result.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if result.errors_truncated:
        print(f"{args.file}: more errors not shown", file=sys.stderr)
    if result.errors and not args.skip_bad:
        print(f"nothing imported: {len(result.skipped_lines)} of {result.rows} rows are bad "
              "(fix them, or use --skip-bad to import the rest)", file=sys.stderr)
        return 2
    print(f"imported {result.applied} products, skipped {len(result.skipped_lines)} bad rows")
    return 0


def export_file(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        if args.file is None:
            count = export_csv(till.catalog, sys.stdout, till.settings.currency.exponent)
        else:
            with args.file.open("w", encoding="utf-8", newline="") as out:
                count = export_csv(till.catalog, out, till.settings.currency.exponent)
    print(f"exported {count} products", file=sys.stderr)
    return 0


def list_products(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        exp = till.settings.currency.exponent
        for p in till.catalog.iter_products(args.search, limit=args.limit):
            codes = ",".join(till.catalog.barcodes_of(p.sku)) or (f"PLU {p.plu}" if p.plu else "")
            flag = "" if p.active else "  (inactive)"
            print(f"{p.sku:<12} {format_amount(p.price, exp):>9}/{p.unit:<5} {p.name} | {p.name_en}  [{codes}]{flag}")
    return 0
