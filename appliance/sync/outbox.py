"""The terminal's side of the outbox: what is still to send, marking what head office confirmed, and status.

The outbox row of each journal entry is written in the same transaction as the entry
(`Store.event`), so "unsent" is exactly "outbox.sent_at IS NULL". Rows are only ever
marked, never deleted, and the journal is never touched: head office's copy is checked
against the hash chain, so the terminal must keep sending the entries exactly as stored.

No migration here: numbers go to the existing `counters` table and the last success and
last error (free text) to a small JSON file beside the database (`SyncState`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from appliance.store.db import Store

SENT_COUNTER = "sync.sent"  # events head office confirmed, all time
LAST_SEQ_COUNTER = "sync.last_seq"  # highest contiguous seq head office says it holds


def unsent(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The oldest `limit` unsent events, in seq order, shaped as the ingest contract's events."""
    rows = conn.execute(
        "SELECT j.seq, j.at, j.kind, j.ref, j.payload, j.prev_hash, j.hash FROM outbox o "
        "JOIN journal j ON j.seq = o.seq WHERE o.sent_at IS NULL ORDER BY o.seq LIMIT ?",
        (limit,),
    ).fetchall()
    # The payload is stored as canonical JSON text; parsing it back keeps every byte of
    # meaning, and head office re-canonicalises it to check the hash.
    return [
        {"seq": seq, "at": at, "kind": kind, "ref": ref, "payload": json.loads(payload),
         "prev_hash": bytes(prev).hex(), "hash": bytes(digest).hex()}
        for seq, at, kind, ref, payload, prev, digest in rows
    ]


def mark_sent(store: Store, seqs: Iterable[int], at: str) -> int:
    """Mark these seqs sent (only rows still unsent); returns how many rows changed."""
    with store.atomic() as conn:
        # One statement for the whole batch: the till waits for this write lock.
        changed = conn.execute(
            "UPDATE outbox SET sent_at = ? WHERE seq IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
            (at, json.dumps(list(seqs))),
        ).rowcount
        if changed:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
                (SENT_COUNTER, changed, changed),
            )
    return changed


def record_last_seq(store: Store, last_seq: int) -> None:
    with store.atomic() as conn:
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (LAST_SEQ_COUNTER, last_seq),
        )


def batch_due(pending: int, oldest_queued_at: str | None, now: datetime, *, max_events: int, max_age_s: int) -> bool:
    """Whether a batch should go now: full, or its oldest event has waited long enough.

    Batching keeps requests few on a busy day; the age limit bounds how stale head
    office's view gets on a quiet one.
    """
    if pending == 0 or oldest_queued_at is None:
        return False
    if pending >= max_events:
        return True
    return (now - datetime.fromisoformat(oldest_queued_at)).total_seconds() >= max_age_s


class SyncState:
    """Last success and last error, as text, in a JSON file beside the database.

    Written with write-then-rename so a power cut leaves the old or the new file, never half of one.
    """

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def beside(cls, database: Path) -> "SyncState":
        return cls(database.with_name(database.name + ".sync.json"))

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {"last_error": {"at": "", "message": f"sync state file {self.path} is unreadable; it will be rewritten"}}
        return data if isinstance(data, dict) else {}

    def _update(self, **values: Any) -> None:
        data = self.read()
        data.update(values)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def success(self, at: str, sent: int) -> None:
        self._update(last_success={"at": at, "sent": sent})

    def error(self, at: str, message: str) -> None:
        self._update(last_error={"at": at, "message": message})


@dataclass(frozen=True)
class Status:
    pending: int
    oldest_pending: str | None  # queued_at of the oldest unsent event
    sent_total: int
    head_office_last_seq: int | None
    last_success: dict[str, Any] | None
    last_error: dict[str, Any] | None


def status(conn: sqlite3.Connection, state: SyncState) -> Status:
    pending, oldest = conn.execute("SELECT count(*), min(queued_at) FROM outbox WHERE sent_at IS NULL").fetchone()
    counters = dict(conn.execute(
        "SELECT name, value FROM counters WHERE name IN (?, ?)", (SENT_COUNTER, LAST_SEQ_COUNTER)
    ).fetchall())
    data = state.read()
    return Status(
        pending=pending,
        oldest_pending=oldest,
        sent_total=counters.get(SENT_COUNTER, 0),
        head_office_last_seq=counters.get(LAST_SEQ_COUNTER),
        last_success=data.get("last_success"),
        last_error=data.get("last_error"),
    )
