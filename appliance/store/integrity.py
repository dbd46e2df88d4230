"""`db check`: SQLite's own integrity check, the journal chain, and what the chain cannot see.

A hash chain detects edits, deletions, insertions and reordering, but not the newest
entries cut off the end (the shorter chain is still valid). Sales and Z reports record
the journal sequence number of their event, so a journal that ends before them, or
entries that no longer match them, show the truncation.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from appliance.errors import JournalBroken
from appliance.store import journal
from appliance.store.migrations import current_version, latest_version

# (what, SQL counting rows whose journal entry is missing or belongs to something else)
_REFERENCES = (
    ("sales", "SELECT count(*) FROM sales s LEFT JOIN journal j ON j.seq = s.journal_seq "
              "WHERE j.seq IS NULL OR j.ref != s.id"),
    ("Z reports", "SELECT count(*) FROM shifts s LEFT JOIN journal j ON j.seq = s.z_journal_seq "
                  "WHERE s.z_journal_seq IS NOT NULL AND (j.seq IS NULL OR j.ref != s.id OR j.kind != 'shift.closed')"),
    ("outbox entries", "SELECT count(*) FROM outbox o LEFT JOIN journal j ON j.seq = o.seq "
                       "WHERE j.seq IS NULL OR j.kind != o.topic"),
)


# Void marks that do not match a void document, or void documents whose sale is not marked:
# clearing the mark would let a voided sale be refunded again.
_VOID_MARKS = """
SELECT (SELECT count(*) FROM sales s WHERE s.voided_by IS NOT NULL AND NOT EXISTS
          (SELECT 1 FROM sales v WHERE v.id = s.voided_by AND v.kind = 'void' AND v.original_id = s.id))
     + (SELECT count(*) FROM sales v JOIN sales s ON s.id = v.original_id
          WHERE v.kind = 'void' AND s.voided_by IS NOT v.id)
"""

# Sales whose rows say something else than the document journaled with them: a row
# edited after the fact (the chain itself can still be whole).
_AGREEMENT = """
SELECT count(*) FROM sales s JOIN journal j ON j.seq = s.journal_seq AND j.ref = s.id
WHERE json_extract(j.payload, '$.receipt_no') IS NOT s.receipt_no
   OR json_extract(j.payload, '$.kind') IS NOT s.kind
   OR json_extract(j.payload, '$.shift_id') IS NOT s.shift_id
   OR json_extract(j.payload, '$.total') IS NOT s.total
   OR json_extract(j.payload, '$.tax') IS NOT s.tax
   OR json_extract(j.payload, '$.discount') IS NOT s.discount
   OR json_extract(j.payload, '$.rounding') IS NOT s.rounding
   OR json_extract(j.payload, '$.tendered') IS NOT s.tendered
   OR json_extract(j.payload, '$.change') IS NOT s.change
   OR json_extract(j.payload, '$.line_count') IS NOT s.line_count
   OR (SELECT count(*) || '/' || coalesce(sum(amount), 0) || '/' || coalesce(sum(quantity), 0)
       FROM sale_lines l WHERE l.sale_id = s.id)
      IS NOT (SELECT count(*) || '/' || coalesce(sum(json_extract(value, '$.amount')), 0) || '/'
              || coalesce(sum(json_extract(value, '$.quantity')), 0) FROM json_each(j.payload, '$.lines'))
   OR (SELECT count(*) || '/' || coalesce(sum(amount), 0) FROM payments p WHERE p.sale_id = s.id)
      IS NOT (SELECT count(*) || '/' || coalesce(sum(json_extract(value, '$.amount')), 0)
              FROM json_each(j.payload, '$.payments'))
"""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check(conn: sqlite3.Connection) -> Report:
    report = Report()
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result == ["ok"]:
        report.lines.append("sqlite integrity_check: ok")
    else:
        report.problems += [f"sqlite integrity_check: {r}" for r in result]
    fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    if fk:
        report.problems.append(f"{len(fk)} row(s) point at rows that do not exist (first: table {fk[0][0]})")
    version, latest = current_version(conn), latest_version()
    report.lines.append(f"schema version: {version} (software {latest})")
    if version != latest:
        report.problems.append(f"schema version {version} differs from the software's {latest}")
    try:
        head = journal.verify(conn)
        report.lines.append(f"journal: {head.seq} entries verify, head {head.hash.hex()[:16]}")
    except JournalBroken as exc:
        report.problems.append(str(exc))
        head = journal.head(conn)
    for what, sql in _REFERENCES:
        bad = conn.execute(sql).fetchone()[0]
        if bad:
            report.problems.append(
                f"{bad} {what} refer to journal entries that are missing or different "
                f"(the journal ends at {head.seq}: was it truncated or replaced?)"
            )
        else:
            report.lines.append(f"{what}: every one has its journal entry")
    marks = conn.execute(_VOID_MARKS).fetchone()[0]
    if marks:
        report.problems.append(f"{marks} post-void mark(s) do not match their void documents")
    else:
        report.lines.append("post-voids: every voided sale is marked, every mark has its void")
    disagree = conn.execute(_AGREEMENT).fetchone()[0]
    if disagree:
        report.problems.append(
            f"{disagree} sale(s) differ from the document journaled with them (rows edited after the sale?)"
        )
    else:
        report.lines.append("sales: totals, lines and payments agree with the journal")
    return report
