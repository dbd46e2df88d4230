"""Schema of loyalty (migration 8): member profile fields, the points ledger, coupons.

The points ledger follows the stored-value ledger: every row carries the balance after
it and a CHECK keeps that balance at or above zero, so no bug or race between two tills
can overdraw a member. Earned points are also lots (FIFO): `remaining` is what is left
of a positive row and `expires_on` the business day after which that rest lapses.
"""

from __future__ import annotations

import sqlite3

from appliance.store.migrations import _script


def migrate(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        ALTER TABLE members ADD COLUMN birthday TEXT;
        ALTER TABLE members ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE members ADD COLUMN consent_at TEXT;
        ALTER TABLE members ADD COLUMN card_code TEXT;
        ALTER TABLE members ADD COLUMN tier TEXT NOT NULL DEFAULT '';
        ALTER TABLE members ADD COLUMN erased_at TEXT;
        CREATE UNIQUE INDEX members_card ON members (card_code) WHERE card_code IS NOT NULL;
        CREATE INDEX members_birthday ON members (substr(birthday, 6, 2)) WHERE birthday IS NOT NULL;
        CREATE INDEX sales_member ON sales (member_id, completed_at) WHERE member_id IS NOT NULL;
        CREATE TABLE points (
            id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL REFERENCES members (id),
            delta INTEGER NOT NULL,
            balance INTEGER NOT NULL CHECK (balance >= 0),
            kind TEXT NOT NULL CHECK (kind IN
                ('earn', 'take_back', 'redeem', 'refund', 'reward', 'expire', 'adjust', 'erase')),
            ref TEXT NOT NULL,
            origin TEXT,
            at TEXT NOT NULL,
            expires_on TEXT,
            remaining INTEGER NOT NULL DEFAULT 0 CHECK (remaining >= 0 AND remaining <= max(delta, 0))
        ) STRICT;
        CREATE INDEX points_member ON points (member_id, id);
        CREATE INDEX points_origin ON points (origin) WHERE origin IS NOT NULL;
        CREATE INDEX points_lots ON points (member_id, expires_on, id) WHERE remaining > 0;
        CREATE TABLE coupons (
            code TEXT PRIMARY KEY,
            member_id TEXT NOT NULL REFERENCES members (id),
            campaign TEXT NOT NULL DEFAULT '',
            amount INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
            percent INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 10000),
            min_spend INTEGER NOT NULL DEFAULT 0 CHECK (min_spend >= 0),
            expires_on TEXT,
            issued_at TEXT NOT NULL,
            redeemed_ref TEXT,
            redeemed_at TEXT,
            CHECK ((amount > 0) != (percent > 0))
        ) STRICT;
        CREATE INDEX coupons_member ON coupons (member_id)
        """,
    )
