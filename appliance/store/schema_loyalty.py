"""Schema of loyalty: points ledger, tiers, coupons (migration 8), being built for issue 6."""

from __future__ import annotations

import sqlite3


def migrate(conn: sqlite3.Connection) -> None:
    return None
