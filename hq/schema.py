"""The head office's tables, in the SQL both databases take, with PostgreSQL's partitioning added where it matters.

Events and everything derived from them are keyed by device first: ingest, chain checks
and a device's status only ever touch one device's rows. On PostgreSQL those tables are
hash-partitioned by device, so a chain of thousands of terminals spreads over smaller
tables and indexes (vacuum and the (device, seq) lookups stay cheap); SQLite, the
embedded default for one shop, keeps them whole.
"""

from __future__ import annotations

PARTITIONS = 16  # PostgreSQL only; fixed at creation (re-partitioning is a dump and load)

# name -> (columns and keys, partitioned by device on PostgreSQL)
TABLES: dict[str, tuple[str, bool]] = {
    "stores": ("""
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    """, False),
    # last_seq: the highest n with events 1..n all held, kept by ingest so status and the
    # next batch need not count a device's whole history.
    "devices": ("""
        id TEXT PRIMARY KEY,
        store TEXT NOT NULL DEFAULT '',
        enrolled_at TEXT NOT NULL,
        revoked_at TEXT,
        last_seq BIGINT NOT NULL DEFAULT 0
    """, False),
    # The secret is stored itself, not a hash of it: head office must recompute the HMAC
    # of each body with it. A table of its own so reports, exports and backups of device
    # data can leave it out, and so a move to a key store touches one table.
    "device_secrets": ("""
        device TEXT PRIMARY KEY REFERENCES devices (id),
        secret TEXT NOT NULL
    """, False),
    "enrollment_codes": ("""
        code TEXT PRIMARY KEY,
        store TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        used_at TEXT,
        device TEXT
    """, False),
    "events": ("""
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device, seq)
    """, True),
    # problem: "gap before" | "chain broken" | "conflict" (the contract's words)
    "chain_problems": ("""
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        problem TEXT NOT NULL,
        found_at TEXT NOT NULL,
        PRIMARY KEY (device, seq, problem)
    """, False),
    # Derived from sale events at ingest (hq/projection.py); store is the device's store
    # at the time, so moving a terminal to another shop does not move its history.
    "sales": ("""
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        store TEXT NOT NULL,
        sale_id TEXT NOT NULL,
        receipt_no TEXT NOT NULL,
        kind TEXT NOT NULL,
        business_day TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        total BIGINT NOT NULL,
        tax BIGINT NOT NULL,
        line_count INTEGER NOT NULL,
        PRIMARY KEY (device, seq)
    """, True),
    "sale_lines": ("""
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        line_no INTEGER NOT NULL,
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        amount BIGINT NOT NULL,
        cost BIGINT NOT NULL
    """, True),
    "stock_moves": ("""
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        store TEXT NOT NULL,
        sku TEXT NOT NULL,
        quantity BIGINT NOT NULL
    """, True),
    # Downstream feeds (hq/feeds.py). A feed's versions come from its counter row, bumped
    # under that row's lock, so versions become visible in order and a `since=` cursor
    # never skips one. store '' is every store; delivery orders name one.
    "feed_versions": ("""
        feed TEXT PRIMARY KEY,
        version BIGINT NOT NULL
    """, False),
    "feed_items": ("""
        feed TEXT NOT NULL,
        store TEXT NOT NULL,
        key TEXT NOT NULL,
        version BIGINT NOT NULL,
        body TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (feed, store, key)
    """, False),
    # Keys whose feed item must be rebuilt from what ingest derived (members, coupons):
    # ingest only marks them, a publisher pass (one at a time) versions them.
    "feed_dirty": ("""
        feed TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (feed, key)
    """, False),
    # A member's profile as last sent by any terminal, and each device's share of their
    # points and stored value: a terminal adds the others' shares to its own ledger.
    "members": ("""
        id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        updated_at TEXT NOT NULL
    """, False),
    "member_ledger": ("""
        member_id TEXT NOT NULL,
        device TEXT NOT NULL,
        points BIGINT NOT NULL,
        stored_value BIGINT NOT NULL,
        PRIMARY KEY (member_id, device)
    """, False),
    "delivery_paid": ("""
        store TEXT NOT NULL,
        order_no TEXT NOT NULL,
        receipt_no TEXT NOT NULL,
        PRIMARY KEY (store, order_no)
    """, False),
    "coupons": ("""
        code TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        redeemed_ref TEXT,
        redeemed_at TEXT
    """, False),
}

INDEXES = [
    "CREATE INDEX IF NOT EXISTS feed_items_version ON feed_items (feed, version)",
    "CREATE INDEX IF NOT EXISTS sales_store_day ON sales (store, business_day)",
    "CREATE INDEX IF NOT EXISTS sales_day ON sales (business_day)",
    "CREATE INDEX IF NOT EXISTS sales_receipt ON sales (device, receipt_no)",
    "CREATE INDEX IF NOT EXISTS sale_lines_sale ON sale_lines (device, seq)",
    "CREATE INDEX IF NOT EXISTS stock_moves_store_sku ON stock_moves (store, sku)",
]


def sqlite_statements() -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {name} ({columns})" for name, (columns, _) in TABLES.items()] + INDEXES


def postgres_statements() -> list[str]:
    statements = []
    for name, (columns, partitioned) in TABLES.items():
        if not partitioned:
            statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
            continue
        statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({columns}) PARTITION BY HASH (device)")
        statements += [
            f"CREATE TABLE IF NOT EXISTS {name}_p{i} PARTITION OF {name}"
            f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
            for i in range(PARTITIONS)
        ]
    return statements + INDEXES
