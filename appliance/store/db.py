"""The local SQLite store: opening, pragmas, and the one way to write a business event.

Every business event (a sale, a refund, a shift close...) goes through `Store.event()`:
its rows, its journal entry and its outbox entry commit together or not at all. With
`synchronous=FULL` in WAL mode the commit is on disk when `event()` returns, which is
what lets the till say "sale complete" before a power cut.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from appliance.errors import StoreError
from appliance.store import journal, member_ledger
from appliance.store.migrations import migrate

if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class Event:
    """A business event being written: rows go through `conn`, `payload` is journaled on exit."""

    conn: sqlite3.Connection
    kind: str
    ref: str
    at: str
    seq: int  # the journal sequence number this event will have; rows may reference it
    payload: dict[str, Any] = field(default_factory=dict)


class Store:
    """One connection to the database. The daemon and CLI tools may both write: every write
    transaction takes the lock at its start and waits up to 5 s for it."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", checkpoint: str = "auto",
                 migrate_schema: bool = True):
        """`checkpoint="idle"`: the owner (the daemon) calls `checkpoint()` between customers.

        SQLite's automatic WAL checkpoint runs inside whichever commit crosses 1,000 pages
        and copies them into the main file with an fsync: on a board that is a sale
        commit taking 100 ms. In "idle" mode only a safety limit of 10,000 pages triggers
        it inside a commit.

        `migrate_schema=False` leaves the schema as it is (a slot on trial must not move it: a
        rollback would meet a schema the old software cannot read).
        """
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the data folder: {exc.strerror}", where=str(self.path.parent), code="data_dir"
                ) from exc
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            if self.path is not None:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"the database refused WAL mode (got {mode})", where=str(path))
            conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'FULL' else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed, not left in free pages: a sealed card
            # number once its advice is delivered, an erased member's details.
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute(f"PRAGMA wal_autocheckpoint = {10000 if checkpoint == 'idle' else 1000}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database: {exc}", where=str(path)) from exc
        self.conn = conn
        if not migrate_schema:
            return
        try:
            migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot migrate the database: {exc}", where=str(path)) from exc

    @cached_property
    def db(self) -> "sqlite_utils.Database":
        """sqlite-utils' view of the database, for introspection and tools; imported on first use
        because it costs a tenth of a second of start-up that the till does not need."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn, execute_plugins=False)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file now (passive: never waits for readers)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction; nested blocks become savepoints.

        The outer block takes the write lock at BEGIN (IMMEDIATE) so a transaction that
        reads then writes never fails half-way because another process wrote first.
        `immediate=False` is for work that only reads the store (and writes temporary
        tables): it must not keep the till waiting for the write lock.
        """
        conn = self.conn
        if conn.in_transaction:
            conn.execute("SAVEPOINT nested")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO SAVEPOINT nested")
                    conn.execute("RELEASE SAVEPOINT nested")
                raise
            conn.execute("RELEASE SAVEPOINT nested")
            return
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except sqlite3.OperationalError as exc:  # still locked after busy_timeout
            raise StoreError(
                "the database is busy (another program is writing to it); try again", where=str(self.path), code="busy"
            ) from exc
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def event(self, kind: str, ref: str, at: str) -> Iterator[Event]:
        """Write one business event: the caller's rows, then the journal entry and the outbox entry.

        Changes to members' points or stored value are added to the payload (`ledger`), so
        head office can keep a member's balances across shops.
        """
        with self.atomic() as conn:
            event = Event(conn=conn, kind=kind, ref=ref, at=at, seq=journal.next_seq(conn))
            before = member_ledger.mark(conn)
            yield event
            ledger = member_ledger.since(conn, before)
            if ledger:
                event.payload[member_ledger.KEY] = ledger
            if journal.append(conn, kind=kind, ref=ref, at=at, payload=event.payload) != event.seq:
                raise StoreError("the journal moved during a transaction; the event was rolled back")
            conn.execute("INSERT INTO outbox (seq, topic, queued_at) VALUES (?, ?, ?)", (event.seq, kind, at))

    def next_counter(self, conn: sqlite3.Connection, name: str) -> int:
        """Next value of a named counter (receipt numbers, Z numbers); call inside a transaction."""
        row = conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None
