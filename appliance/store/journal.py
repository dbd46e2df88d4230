"""The append-only, hash-chained journal of business events.

Entry n's hash is SHA-256(hash of entry n-1 || canonical bytes of entry n), starting from
32 zero bytes. The canonical bytes are the compact, key-sorted UTF-8 JSON of
[seq, at, kind, ref, payload], and the payload is stored in exactly that form, so editing
any byte of a row, deleting, inserting or reordering rows breaks the chain at the first
changed entry. Money in payloads is integers; a float is refused before it is written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from appliance.errors import JournalBroken

GENESIS = bytes(32)
# One encoder made once: json.dumps with options builds a new encoder on every call.
_spell = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical(value: Any) -> str:
    """The one JSON spelling of a value: sorted keys, no spaces, UTF-8, no floats."""
    _refuse_floats(value)
    return _spell(value)


def canonical_float_free(value: Any) -> str:
    """`canonical` of a value already known to hold no float (head office parses a whole
    batch once and sees any float there), without walking it again."""
    return _spell(value)


def _refuse_floats(value: Any) -> None:
    # Iterative: this runs on every business event, a recursive walk doubled its cost.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            raise TypeError("floats are not allowed in the journal: money and quantities are integers")
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)


def _no_float(text: str) -> Any:
    raise ValueError(f"float {text} in a journal payload")


def _is_canonical(payload: str) -> bool:
    """The stored text is exactly the canonical spelling of what it parses to (and has no float)."""
    try:
        value = json.loads(payload, parse_float=_no_float)
    except ValueError:
        return False
    return _spell(value) == payload


def entry_hash(prev_hash: bytes, seq: int, at: str, kind: str, ref: str, payload_text: str) -> bytes:
    body = f'[{seq},{json.dumps(at)},{json.dumps(kind)},{json.dumps(ref)},{payload_text}]'
    return hashlib.sha256(prev_hash + body.encode("utf-8")).digest()


def append(conn: sqlite3.Connection, *, kind: str, ref: str, at: str, payload: dict[str, Any]) -> int:
    """Append an entry inside the caller's write transaction; returns its sequence number.

    The caller holds the write lock (BEGIN IMMEDIATE), so the head read here cannot move
    before the insert, and rows written earlier in the transaction may already carry the
    number this returns (see `next_seq`).
    """
    last = head(conn)
    seq = last.seq + 1
    text = canonical(payload)
    digest = entry_hash(last.hash, seq, at, kind, ref, text)
    conn.execute(
        "INSERT INTO journal (seq, at, kind, ref, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, at, kind, ref, text, last.hash, digest),
    )
    return seq


def next_seq(conn: sqlite3.Connection) -> int:
    """The number the next append will get; only stable inside a write transaction."""
    return head(conn).seq + 1


@dataclass(frozen=True)
class Head:
    seq: int  # 0 when the journal is empty
    hash: bytes


def verify(conn: sqlite3.Connection) -> Head:
    """Walk the whole chain in order; raise JournalBroken naming the first bad sequence number."""
    expected_seq = 1
    prev = GENESIS
    cursor = conn.execute("SELECT seq, at, kind, ref, payload, prev_hash, hash FROM journal ORDER BY seq")
    for seq, at, kind, ref, payload, prev_hash, digest in cursor:
        if seq != expected_seq:
            first_bad = expected_seq if seq > expected_seq else seq
            raise JournalBroken(
                f"sequence jumps from {expected_seq - 1} to {seq}: entries are missing", seq=first_bad
            )
        if prev_hash != prev:
            raise JournalBroken("does not follow the entry before it (deleted, inserted or reordered)", seq=seq)
        if not _is_canonical(payload):
            raise JournalBroken("payload is not in canonical form: it was edited", seq=seq)
        if entry_hash(prev, seq, at, kind, ref, payload) != digest:
            raise JournalBroken("hash does not match the entry's content: it was edited", seq=seq)
        prev = digest
        expected_seq += 1
    return Head(seq=expected_seq - 1, hash=prev)


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(seq=row[0], hash=row[1]) if row else Head(seq=0, hash=GENESIS)
