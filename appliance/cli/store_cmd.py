"""`appliance journal verify` and `appliance db check`: is the store whole?"""

from __future__ import annotations

import argparse

from appliance.cli.common import open_store, settings_from
from appliance.core import stock_ledger
from appliance.core.reports import summary
from appliance.store import integrity, journal, schema_summary
from appliance.errors import StoreError


def register(commands: argparse._SubParsersAction) -> None:
    jparser = commands.add_parser("journal", help="the hash-chained journal of business events")
    jsub = jparser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = jsub.add_parser("verify", help="walk the hash chain; name the first bad entry")
    verify.set_defaults(func=verify_journal)
    dparser = commands.add_parser("db", help="the local database")
    dsub = dparser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = dsub.add_parser("check", help="integrity check, journal verify, truncation and migration version")
    check.set_defaults(func=check_db)
    rebuild = dsub.add_parser("rebuild-reports", help="recompute the report summaries from the sale documents")
    rebuild.set_defaults(func=rebuild_reports)


def verify_journal(args: argparse.Namespace) -> int:
    with open_store(settings_from(args), must_exist=True) as store:
        head = journal.verify(store.conn)
    print(f"journal ok: {head.seq} entries, head {head.hash.hex()}")
    return 0


def check_db(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with open_store(settings, must_exist=True) as store:
        report = integrity.check(store.conn)
        # The store cannot import core: the stock ledger's and the report summaries' checks join here.
        for part in (stock_ledger.check(store.conn), summary.check(store.conn)):
            report.lines += part.lines
            report.problems += part.problems
    for line in report.lines:
        print(line)
    if report.problems:
        for problem in report.problems:
            print(f"PROBLEM: {problem}")
        raise StoreError(f"{len(report.problems)} problem(s) found", where=str(settings.database_path))
    print("database ok")
    return 0


def rebuild_reports(args: argparse.Namespace) -> int:
    """The summaries are derived data: rebuilding them from the documents is always safe."""
    settings = settings_from(args)
    with open_store(settings, must_exist=True) as store:
        with store.atomic() as conn:
            schema_summary.rebuild(conn)
    print("report summaries rebuilt from the sale documents")
    return 0
