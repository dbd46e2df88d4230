"""Schema of the downstream feeds (migration 12): cursors, balances from other shops, delivery orders.

`feed_cursors` holds, per feed, the last version applied; it moves in the same
transaction as the rows the page changed, so a crash never applies a page twice or
skips one. `member_elsewhere` is what head office last said the other terminals added to
a member's points and stored value: the next figure is applied as the difference, as one
ledger row (points kind `elsewhere`), so the local ledger stays the one truth for the
balance and its lots. Delivery orders move from a JSON file in the data folder into the
store, fed by head office.

The points table is rebuilt to admit the new kind (SQLite cannot alter a CHECK).
"""

from __future__ import annotations

import sqlite3

from appliance.store.migrations import _script


def migrate(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE feed_cursors (
            feed TEXT PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 0),
            applied_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE member_elsewhere (
            member_id TEXT PRIMARY KEY REFERENCES members (id),
            points INTEGER NOT NULL DEFAULT 0,
            stored_value INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE delivery_orders (
            order_no TEXT PRIMARY KEY,
            items TEXT NOT NULL,
            total INTEGER NOT NULL,
            paid INTEGER NOT NULL DEFAULT 0,
            receipt_no TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE points_new (
            id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL REFERENCES members (id),
            delta INTEGER NOT NULL,
            balance INTEGER NOT NULL CHECK (balance >= 0),
            kind TEXT NOT NULL CHECK (kind IN
                ('earn', 'take_back', 'redeem', 'refund', 'reward', 'expire', 'adjust', 'erase', 'elsewhere')),
            ref TEXT NOT NULL,
            origin TEXT,
            at TEXT NOT NULL,
            expires_on TEXT,
            remaining INTEGER NOT NULL DEFAULT 0 CHECK (remaining >= 0 AND remaining <= max(delta, 0))
        ) STRICT;
        INSERT INTO points_new SELECT * FROM points;
        DROP TABLE points;
        ALTER TABLE points_new RENAME TO points;
        CREATE INDEX points_member ON points (member_id, id);
        CREATE INDEX points_origin ON points (origin) WHERE origin IS NOT NULL;
        CREATE INDEX points_lots ON points (member_id, expires_on, id) WHERE remaining > 0;
        CREATE INDEX points_history ON points (member_id, id, at, balance)
        """,
    )
