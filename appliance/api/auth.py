"""API tokens: issued for an operator (who lends the token their role), kept hashed, revoked by id.

The token travels as `Authorization: Bearer <token>` (RFC 6750 section 2.1). Only its
SHA-256 is stored (appliance/store/schema_api.py says why a fast hash suffices for a
256-bit random secret); the clear token is shown once, when issued. A token stops
working when it is revoked or when its operator is deactivated.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from appliance.core.clock import iso
from appliance.core.operators import Operator
from appliance.errors import InputError, NotFound
from appliance.store.db import Store

PREFIX = "apt_"
_SHAPE = re.compile(r"apt_[A-Za-z0-9_-]{43}")  # PREFIX + 32 random bytes in URL-safe base64


@dataclass(frozen=True)
class TokenInfo:
    id: int
    prefix: str
    operator: str
    label: str
    created_at: str
    revoked_at: str | None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(store: Store, operator: Operator, *, label: str, at: datetime) -> str:
    """A new token for `operator`; the clear token is returned once and never stored."""
    if len(label) > 64:
        raise InputError("a token label is at most 64 characters")
    token = PREFIX + secrets.token_urlsafe(32)
    with store.event("api.token_added", ref=operator.code, at=iso(at)) as event:
        cursor = event.conn.execute(
            "INSERT INTO api_tokens (token_hash, prefix, operator_code, label, created_at) VALUES (?, ?, ?, ?, ?)",
            (_digest(token), token[:8], operator.code, label, iso(at)),
        )
        event.payload = {"id": cursor.lastrowid, "operator": operator.code, "label": label}
    return token


def revoke(store: Store, token_id: int, *, at: datetime) -> None:
    with store.event("api.token_revoked", ref=str(token_id), at=iso(at)) as event:
        row = event.conn.execute("SELECT revoked_at FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise NotFound(f"no API token with id {token_id} (see `appliance api token list`)")
        if row[0] is None:
            event.conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (iso(at), token_id))
        event.payload = {"id": token_id}


def tokens(conn: sqlite3.Connection) -> list[TokenInfo]:
    return [TokenInfo(*row) for row in conn.execute(
        "SELECT id, prefix, operator_code, label, created_at, revoked_at FROM api_tokens ORDER BY id")]


def operator_for(conn: sqlite3.Connection, token: str) -> Operator | None:
    """The active operator a live token stands for, or None (unknown, revoked, malformed, operator gone)."""
    if not _SHAPE.fullmatch(token):
        return None
    row = conn.execute(
        "SELECT o.code, o.name, o.role FROM api_tokens t JOIN operators o ON o.code = t.operator_code "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND o.active = 1",
        (_digest(token),),
    ).fetchone()
    return Operator(*row) if row else None
