"""Local API tokens (migration 11): each bound to one operator, stored only as a SHA-256 hash.

A token is a long random secret (256 bits), so a plain SHA-256 is enough to make a stolen
database useless for calling the API (no salt or slow hash needed, unlike the short PINs
in operators); the first characters are kept in clear (`prefix`) so a person can tell
tokens apart in `appliance api token list` and revoke the right one.
"""

from __future__ import annotations

import sqlite3

from appliance.store.migrations import _script


def migrate(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            token_hash BLOB NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            operator_code TEXT NOT NULL REFERENCES operators (code),
            label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            revoked_at TEXT
        ) STRICT
        """,
    )
