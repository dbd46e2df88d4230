"""The link to a receipt's page at head office: `{sync url}/r/{device}/{receipt number}/{key}`.

The key is the start of the journal hash of the entry that recorded the sale, return or
void. That hash chains over every entry before it, so nobody can work it out from a
receipt number (96 bits of it are used); it needs no secret to hand out, rotate or lose
on re-enrolment; a reprint finds the same one; and head office, which holds every
entry's hash, checks a link against what it already has. Head office imports this
module, so it depends on nothing but the standard library and the shared errors.
"""

from __future__ import annotations

import hmac
import sqlite3
from urllib.parse import quote

from appliance.errors import NotFound

KEY_DIGITS = 24  # lower-case hex digits of the SHA-256 entry hash: 96 bits


def receipt_key(entry_hash: bytes) -> str:
    """The key of the document whose journal entry has this hash (32 bytes)."""
    if len(entry_hash) != 32:
        raise ValueError(f"a journal entry hash is 32 bytes, not {len(entry_hash)}")
    return entry_hash.hex()[:KEY_DIGITS]


def key_matches(key: str, entry_hash: bytes) -> bool:
    """Whether a key taken from a link belongs to this entry, in constant time (no timing oracle)."""
    return hmac.compare_digest(key.encode("utf-8"), receipt_key(entry_hash).encode("ascii"))


def receipt_url(base_url: str, device: str, receipt_no: str, key: str) -> str:
    """The link; each part is quoted, so a device id or receipt number can never add a path segment."""
    parts = "/".join(quote(part, safe="") for part in (device, receipt_no, key))
    return f"{base_url.rstrip('/')}/r/{parts}"


def key_for(conn: sqlite3.Connection, receipt_no: str) -> str:
    """The key of a receipt in this store, from the journal entry its sale row points at."""
    row = conn.execute(
        "SELECT j.hash FROM sales s JOIN journal j ON j.seq = s.journal_seq WHERE s.receipt_no = ?", (receipt_no,)
    ).fetchone()
    if row is None:
        raise NotFound(f"receipt {receipt_no} is not in this store, so it has no e-receipt link", where="sales")
    return receipt_key(row[0])
