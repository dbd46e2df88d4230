"""The report summaries follow every posted document, and a check proves they equal the documents.

The tables and the SQL that defines them are in appliance/store/schema_summary.py. The
hook runs inside the posting transaction (appliance/core/posting.py), so a summary is
never behind or ahead of the documents it sums, whatever crashes when.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.core.stock_ledger import CheckResult
from appliance.store import schema_summary

WHAT = {"report_sku_days": "product", "report_slots": "quarter hour"}


def after_posting(conn: sqlite3.Connection, doc: dict[str, Any], at: str) -> None:
    """Add a sale, return or post-void to the summaries; a cancelled sale counts nowhere."""
    if doc["kind"] == "cancel":
        return
    schema_summary.add(conn, doc["id"], voids=doc["original_id"] if doc["kind"] == "void" else None)


def check(conn: sqlite3.Connection) -> CheckResult:
    """Every summary row equals the sum of its documents (reports read the summaries, not the documents)."""
    result = CheckResult([], [])
    for table, *_ in schema_summary.SUMMARIES:
        wrong = schema_summary.differences(conn, table)
        days = sorted({day for day, _ in wrong})
        if wrong:
            shown = ", ".join(days[:10]) + (f" and {len(days) - 10} more" if len(days) > 10 else "")
            result.problems.append(
                f"report summary {table}: {len(wrong)} {WHAT[table]} rows differ from the sale documents, "
                f"on business days {shown}; the reports of those days are wrong until the summaries are "
                "rebuilt from the documents (appliance.store.schema_summary.rebuild)"
            )
        else:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            result.lines.append(f"reports: the {rows} rows of {table} equal the sale documents")
    return result
