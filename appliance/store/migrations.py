"""Versioned schema migrations, tracked in `PRAGMA user_version`.

Each migration is a function registered with its version and runs in its own
transaction together with the version bump, so a power cut mid-upgrade leaves the
database at the previous version, never half-migrated. Tables are STRICT: SQLite then
refuses a float in an integer money column instead of storing it.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: dict[int, Migration] = {}


def migration(version: int) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        if version in MIGRATIONS:
            raise RuntimeError(f"migration {version} is registered twice")
        MIGRATIONS[version] = fn
        return fn

    return register


def latest_version() -> int:
    return max(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Bring the schema to `target` (default: latest); returns the version reached."""
    target = latest_version() if target is None else target
    version = current_version(conn)
    if version > latest_version():
        raise sqlite3.DatabaseError(
            f"database schema version {version} is newer than this software ({latest_version()}); "
            "update the appliance software"
        )
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: the daemon and a command started together
            # must not both run the same migration.
            version = current_version(conn)
            if version < target:
                version += 1
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return version


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statements one by one (executescript would commit our transaction)."""
    for statement in sql.split(";\n"):
        if statement.strip():
            conn.execute(statement)


@migration(1)
def _journal_and_counters(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            payload TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        ) STRICT;
        CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY REFERENCES journal (seq),
            topic TEXT NOT NULL,
            queued_at TEXT NOT NULL,
            sent_at TEXT
        ) STRICT;
        CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
        CREATE TABLE counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID
        """,
    )


@migration(2)
def _catalog(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE products (
            sku TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            name_en TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL CHECK (unit IN ('piece', 'kg')),
            price INTEGER NOT NULL CHECK (price >= 0),
            cost INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
            tax_class TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            plu TEXT UNIQUE,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            updated_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX products_category ON products (category);
        CREATE TABLE barcodes (
            code TEXT PRIMARY KEY,
            sku TEXT NOT NULL REFERENCES products (sku) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX barcodes_sku ON barcodes (sku);
        CREATE TABLE promotions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('multi_price', 'buy_get', 'category_percent', 'timed_price')),
            name TEXT NOT NULL,
            params TEXT NOT NULL,
            starts_at TEXT,
            ends_at TEXT,
            members_only INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        ) STRICT
        """,
    )


@migration(3)
def _people(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE operators (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor', 'manager')),
            pin_salt BLOB NOT NULL,
            pin_hash BLOB NOT NULL,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            active INTEGER NOT NULL DEFAULT 1
        ) STRICT;
        CREATE TABLE members (
            id TEXT PRIMARY KEY,
            phone TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE stored_value (
            id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL REFERENCES members (id),
            delta INTEGER NOT NULL,
            balance INTEGER NOT NULL CHECK (balance >= 0),
            ref TEXT NOT NULL,
            at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX stored_value_member ON stored_value (member_id, id);
        CREATE TABLE vouchers (
            code TEXT PRIMARY KEY,
            value INTEGER NOT NULL CHECK (value > 0),
            issued_at TEXT NOT NULL,
            expires_on TEXT,
            issued_ref TEXT NOT NULL DEFAULT '',
            redeemed_ref TEXT,
            redeemed_at TEXT
        ) STRICT
        """,
    )


@migration(4)
def _sales(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE shifts (
            id TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            business_day TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            opened_by TEXT NOT NULL,
            opening_float INTEGER NOT NULL CHECK (opening_float >= 0),
            closed_at TEXT,
            closed_by TEXT,
            z_number INTEGER,
            counted_cash INTEGER,
            z_journal_seq INTEGER,
            UNIQUE (device, z_number)
        ) STRICT;
        CREATE UNIQUE INDEX shifts_one_open ON shifts (device) WHERE closed_at IS NULL;
        CREATE TABLE cash_moves (
            id TEXT PRIMARY KEY,
            shift_id TEXT NOT NULL REFERENCES shifts (id),
            kind TEXT NOT NULL CHECK (kind IN ('paid_in', 'paid_out')),
            amount INTEGER NOT NULL CHECK (amount > 0),
            reason TEXT NOT NULL,
            operator TEXT NOT NULL,
            at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX cash_moves_shift ON cash_moves (shift_id);
        CREATE TABLE sales (
            id TEXT PRIMARY KEY,
            receipt_no TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('sale', 'return', 'void', 'cancel')),
            original_id TEXT REFERENCES sales (id),
            shift_id TEXT NOT NULL REFERENCES shifts (id),
            device TEXT NOT NULL,
            operator TEXT NOT NULL,
            approved_by TEXT,
            member_id TEXT REFERENCES members (id),
            business_day TEXT NOT NULL,
            started_at TEXT NOT NULL,
            completed_at TEXT NOT NULL,
            subtotal INTEGER NOT NULL,
            discount INTEGER NOT NULL,
            tax INTEGER NOT NULL,
            total INTEGER NOT NULL,
            rounding INTEGER NOT NULL DEFAULT 0,
            tendered INTEGER NOT NULL DEFAULT 0,
            change INTEGER NOT NULL DEFAULT 0,
            line_count INTEGER NOT NULL,
            line_voids INTEGER NOT NULL DEFAULT 0,
            line_void_amount INTEGER NOT NULL DEFAULT 0,
            voided_by TEXT,
            reason TEXT NOT NULL DEFAULT '',
            journal_seq INTEGER NOT NULL UNIQUE
        ) STRICT;
        CREATE INDEX sales_shift ON sales (shift_id, kind);
        CREATE INDEX sales_day ON sales (business_day);
        CREATE INDEX sales_original ON sales (original_id) WHERE original_id IS NOT NULL;
        CREATE TABLE sale_lines (
            sale_id TEXT NOT NULL REFERENCES sales (id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            unit TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            unit_price INTEGER NOT NULL,
            regular_price INTEGER NOT NULL,
            gross INTEGER NOT NULL,
            discount INTEGER NOT NULL,
            basket_share INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            tax_rate INTEGER NOT NULL,
            tax INTEGER NOT NULL,
            cost INTEGER NOT NULL,
            promo_discount INTEGER NOT NULL DEFAULT 0,
            promotion TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            original_line_no INTEGER,
            PRIMARY KEY (sale_id, line_no)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE sale_taxes (
            sale_id TEXT NOT NULL REFERENCES sales (id),
            rate INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            net INTEGER NOT NULL,
            tax INTEGER NOT NULL,
            PRIMARY KEY (sale_id, rate)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE payments (
            sale_id TEXT NOT NULL REFERENCES sales (id),
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            reference TEXT NOT NULL DEFAULT '',
            masked_pan TEXT NOT NULL DEFAULT '',
            card_token TEXT NOT NULL DEFAULT '',
            auth_code TEXT NOT NULL DEFAULT '',
            original_seq INTEGER,
            PRIMARY KEY (sale_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE stock_moves (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX stock_moves_sku ON stock_moves (sku, id);
        CREATE TABLE suspended_sales (
            id TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            operator TEXT NOT NULL,
            label TEXT NOT NULL,
            total INTEGER NOT NULL,
            suspended_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            resumed_at TEXT
        ) STRICT;
        CREATE INDEX suspended_open ON suspended_sales (device) WHERE resumed_at IS NULL
        """,
    )


@migration(5)
def _card_payments(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE card_auths (
            id TEXT PRIMARY KEY,
            sale_id TEXT,
            stan INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
            interface TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            tip INTEGER NOT NULL DEFAULT 0 CHECK (tip >= 0),
            masked_pan TEXT NOT NULL,
            card_token TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            decision TEXT NOT NULL,
            response_code TEXT NOT NULL DEFAULT '',
            auth_code TEXT NOT NULL DEFAULT '',
            offline INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
            batch INTEGER,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX card_auths_sale ON card_auths (sale_id);
        CREATE INDEX card_auths_batch ON card_auths (batch);
        CREATE TABLE host_queue (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('reversal', 'advice')),
            stan INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            payload TEXT NOT NULL,
            sealed_card BLOB,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            done_at TEXT,
            result TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            UNIQUE (kind, stan)
        ) STRICT;
        CREATE INDEX host_queue_open ON host_queue (next_attempt_at) WHERE done_at IS NULL;
        CREATE TABLE wallet_payments (
            order_no TEXT PRIMARY KEY,
            sale_id TEXT,
            provider_ref TEXT NOT NULL DEFAULT '',
            amount INTEGER NOT NULL,
            refunded INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        ) STRICT
        """,
    )


@migration(6)
def _card_reversals(conn: sqlite3.Connection) -> None:
    # A post-voided card payment is reversed at the acquirer and leaves the batch totals;
    # the receipt shows what the schemes ask for (application, AID, TVR/TSI, CVM, signature);
    # a queued reversal or advice names the sale it belongs to, so recovery after a
    # crash can tell a completed sale's authorisation from an abandoned one.
    _script(
        conn,
        """
        ALTER TABLE card_auths ADD COLUMN reversed INTEGER NOT NULL DEFAULT 0 CHECK (reversed IN (0, 1));
        ALTER TABLE card_auths ADD COLUMN aid TEXT NOT NULL DEFAULT '';
        ALTER TABLE card_auths ADD COLUMN tvr TEXT NOT NULL DEFAULT '';
        ALTER TABLE card_auths ADD COLUMN tsi TEXT NOT NULL DEFAULT '';
        ALTER TABLE card_auths ADD COLUMN cvm TEXT NOT NULL DEFAULT '';
        ALTER TABLE card_auths ADD COLUMN signature INTEGER NOT NULL DEFAULT 0 CHECK (signature IN (0, 1));
        ALTER TABLE host_queue ADD COLUMN sale_id TEXT NOT NULL DEFAULT ''
        """,
    )


@migration(7)
def _stock(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_stock

    schema_stock.migrate(conn)


@migration(8)
def _loyalty(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_loyalty

    schema_loyalty.migrate(conn)


@migration(9)
def _reports(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_reports

    schema_reports.migrate(conn)


@migration(10)
def _report_summaries(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_summary

    schema_summary.migrate(conn)


@migration(11)
def _api_tokens(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_api

    schema_api.migrate(conn)


@migration(12)
def _feeds(conn: sqlite3.Connection) -> None:
    from appliance.store import schema_feeds

    schema_feeds.migrate(conn)
