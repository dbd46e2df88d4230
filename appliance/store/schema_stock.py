"""Schema of the stock ledger (migration 7): moves with their reason and cost, cached balances,
suppliers, reorder alerts and stocktake sessions.

The ledger stays the one `stock_moves` table that posting already writes (sales, returns,
voids): receipts, adjustments, counts and transfers are more rows of it, with the columns
below. On-hand is the sum of a product's moves; `stock_levels` caches that sum, kept by a
trigger in the very statement that inserts the move, so no code path can forget it and
`appliance stock check` can prove cache == ledger. The ledger is append-only: a wrong move
is corrected by another move, never by editing one.
"""

from __future__ import annotations

import sqlite3


def migrate(conn: sqlite3.Connection) -> None:
    from appliance.store.migrations import _script

    _script(
        conn,
        """
        ALTER TABLE stock_moves ADD COLUMN reason TEXT NOT NULL DEFAULT '';
        ALTER TABLE stock_moves ADD COLUMN unit_cost INTEGER;
        ALTER TABLE stock_moves ADD COLUMN party TEXT NOT NULL DEFAULT '';
        ALTER TABLE stock_moves ADD COLUMN document TEXT NOT NULL DEFAULT '';
        ALTER TABLE stock_moves ADD COLUMN operator TEXT NOT NULL DEFAULT '';
        CREATE INDEX stock_moves_ref ON stock_moves (ref);
        CREATE TRIGGER stock_moves_no_update BEFORE UPDATE ON stock_moves
            BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: correct a move with another move'); END;
        CREATE TRIGGER stock_moves_no_delete BEFORE DELETE ON stock_moves
            BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: correct a move with another move'); END;
        CREATE TABLE stock_levels (
            sku TEXT PRIMARY KEY,
            on_hand INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO stock_levels (sku, on_hand) SELECT sku, sum(quantity) FROM stock_moves GROUP BY sku;
        CREATE TRIGGER stock_moves_level AFTER INSERT ON stock_moves BEGIN
            INSERT INTO stock_levels (sku, on_hand) VALUES (NEW.sku, NEW.quantity)
            ON CONFLICT (sku) DO UPDATE SET on_hand = on_hand + excluded.on_hand; END;
        CREATE TABLE suppliers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            lead_days INTEGER NOT NULL CHECK (lead_days >= 0),
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE stock_rules (
            sku TEXT PRIMARY KEY,
            minimum INTEGER CHECK (minimum >= 0),
            supplier_id TEXT REFERENCES suppliers (id),
            pack_size INTEGER NOT NULL DEFAULT 1000 CHECK (pack_size > 0),
            min_order INTEGER NOT NULL DEFAULT 0 CHECK (min_order >= 0),
            lead_days INTEGER CHECK (lead_days >= 0)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX stock_rules_supplier ON stock_rules (supplier_id);
        CREATE TABLE stock_points (
            sku TEXT PRIMARY KEY,
            day TEXT NOT NULL,
            point INTEGER NOT NULL,
            lead_demand INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE stock_alerts (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL,
            on_hand INTEGER NOT NULL,
            point INTEGER NOT NULL,
            raised_at TEXT NOT NULL,
            raised_ref TEXT NOT NULL,
            cleared_at TEXT,
            cleared_ref TEXT,
            cleared_on_hand INTEGER
        ) STRICT;
        CREATE UNIQUE INDEX stock_alerts_open ON stock_alerts (sku) WHERE cleared_at IS NULL;
        CREATE TABLE stocktakes (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            blind INTEGER NOT NULL CHECK (blind IN (0, 1)),
            status TEXT NOT NULL CHECK (status IN ('open', 'applied', 'cancelled')),
            opened_at TEXT NOT NULL,
            opened_by TEXT NOT NULL,
            closed_at TEXT,
            closed_by TEXT
        ) STRICT;
        CREATE UNIQUE INDEX stocktakes_one_open ON stocktakes (status) WHERE status = 'open';
        CREATE TABLE stocktake_lines (
            stocktake_id TEXT NOT NULL REFERENCES stocktakes (id),
            sku TEXT NOT NULL,
            counted INTEGER,
            on_hand_at_count INTEGER,
            first_counted_at TEXT,
            PRIMARY KEY (stocktake_id, sku)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE stocktake_entries (
            id INTEGER PRIMARY KEY,
            stocktake_id TEXT NOT NULL REFERENCES stocktakes (id),
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity >= 0),
            operator TEXT NOT NULL,
            at TEXT NOT NULL
        ) STRICT
        """,
    )
