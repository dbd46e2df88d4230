"""What one business event did to members' points and stored value, written into the event itself.

A member may earn at one shop and spend at another. Head office keeps each member's
balances across the chain by adding up, per terminal, the figures every event states
(hq/projection.py), and sends each terminal what the others added (appliance/sync/
apply_members.py). The figures are read from the ledger rows the event's own
transaction wrote, so they are exact whatever code path posted them (a sale, a return,
a reward, an expiry, a top-up).
"""

from __future__ import annotations

import sqlite3
from typing import Any

KEY = "ledger"  # the payload key: {"points": {member: delta}, "stored_value": {member: delta}}
# Rows that bring in what other terminals did (points kind and stored-value ref): never
# reported back, or head office would count them twice.
ELSEWHERE = "elsewhere"


def mark(conn: sqlite3.Connection) -> tuple[int, int]:
    """Where the two ledgers end before the event writes (their INTEGER PRIMARY KEYs only grow)."""
    row = conn.execute("SELECT (SELECT max(id) FROM points), (SELECT max(id) FROM stored_value)").fetchone()
    return row[0] or 0, row[1] or 0


def since(conn: sqlite3.Connection, before: tuple[int, int]) -> dict[str, Any]:
    """Each member's net change in each ledger since `before`; empty when the event touched none."""
    ledger: dict[str, Any] = {}
    for name, own, after in (("points", "kind", before[0]), ("stored_value", "ref", before[1])):
        changes = {member: delta for member, delta in conn.execute(
            f"SELECT member_id, sum(delta) FROM {name} WHERE id > ? AND {own} != ? GROUP BY member_id"
            " ORDER BY member_id", (after, ELSEWHERE)) if delta}  # fmt: skip
        if changes:
            ledger[name] = changes
    return ledger
