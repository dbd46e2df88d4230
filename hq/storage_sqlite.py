"""Head office storage in one SQLite file: the embedded default for `make run` and a single shop."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Iterator, Sequence

from hq.schema import sqlite_statements
from hq.storage import Event, SqlStorage


class SqliteStorage(SqlStorage):
    """Every call opens its own connection, so the server's worker threads may share one instance."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with self._connect() as conn:
            # WAL lets status reads and reports run while a batch is being written.
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in sqlite_statements():
                conn.execute(statement)

    def __str__(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            yield conn
        finally:
            conn.close()

    def _begin(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE takes the (whole database) write lock at BEGIN: two requests carrying
        # the same batch run one after the other and the second sees the first's rows.
        conn.execute("BEGIN IMMEDIATE")

    def _lock_device(self, conn: sqlite3.Connection, device: str) -> tuple[str, int] | None:
        return conn.execute("SELECT store, last_seq FROM devices WHERE id = ?", (device,)).fetchone()

    def _insert_events(self, conn: sqlite3.Connection, device: str, events: Sequence[Event],
                       received_at: str) -> list[int]:  # fmt: skip
        # Row by row: in-process calls cost microseconds, and rowcount says which were new.
        stored = []
        for e in events:
            cursor = conn.execute(
                "INSERT INTO events (device, seq, at, kind, ref, payload, prev_hash, hash, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, seq) DO NOTHING",
                (device, e.seq, e.at, e.kind, e.ref, e.payload, e.prev_hash, e.hash, received_at),
            )
            if cursor.rowcount == 1:
                stored.append(e.seq)
        return stored

    def _held(self, conn: sqlite3.Connection, device: str, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
        # json_each takes the list as one parameter, however long the batch.
        rows = conn.execute("SELECT seq, prev_hash, hash FROM events WHERE device = ? AND seq IN"
                            " (SELECT value FROM json_each(?))", (device, json.dumps(list(seqs))))  # fmt: skip
        return {seq: (prev, digest) for seq, prev, digest in rows}

    def _insert_many(self, conn: sqlite3.Connection, sql: str, rows: Sequence[tuple]) -> None:
        if rows:
            conn.executemany(sql, rows)
