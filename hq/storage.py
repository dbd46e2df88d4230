"""Where the head office keeps devices, enrolment codes and received events: an interface and its SQLite implementation.

SQLite is the embedded default (one file, no server to run); PostgreSQL is the next
implementation of the same `Storage` protocol. So the SQL on the ingest path is the common
subset of both: `INSERT ... ON CONFLICT (device, seq) DO NOTHING` (SQLite >= 3.24,
PostgreSQL >= 9.5), plain `?`-style parameters the driver adapter rewrites, times passed in
as ISO text from Python rather than computed by a dialect's date functions.

Chain logic (what counts as a gap or a broken link) is not here: it lives in hq/ingest.py,
which drives a `Batch` so every backend gets it for free.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

from appliance.errors import NotFound

from hq.errors import EnrollmentRefused

SECRET_BYTES = 32  # the contract: the device secret is hex of 32 bytes (HMAC-SHA256 key length)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS devices (
        id TEXT PRIMARY KEY,
        enrolled_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    # The secret is stored itself, not a hash of it: the head office must recompute the
    # HMAC of each body with it. It has a table of its own so reports, exports and
    # backups of device data can leave it out, and so a future move to a key store
    # touches one table.
    """CREATE TABLE IF NOT EXISTS device_secrets (
        device TEXT PRIMARY KEY REFERENCES devices (id),
        secret TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS enrollment_codes (
        code TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        used_at TEXT,
        device TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS events (
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
    )""",
    """CREATE TABLE IF NOT EXISTS chain_problems (
        device TEXT NOT NULL,
        seq BIGINT NOT NULL,
        problem TEXT NOT NULL,
        found_at TEXT NOT NULL,
        PRIMARY KEY (device, seq, problem)
    )""",
]


def now() -> str:
    """UTC time as ISO text, made in Python so both databases store the same spelling."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Event:
    """One journal entry as the terminal sent it; `payload` is its canonical JSON text."""

    seq: int
    at: str
    kind: str
    ref: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Problem:
    seq: int
    problem: str  # "gap before" | "chain broken" (the contract's two words)


class Batch(Protocol):
    """One device's ingest transaction: what hq/ingest.py needs to store and check a batch."""

    def insert(self, event: Event) -> bool:
        """Store the event unless (device, seq) is held; True when it was newly stored."""

    def hash_of(self, seq: int) -> str | None:
        """The stored hash of the device's event `seq`, None when it is not held."""

    def prev_hash_of(self, seq: int) -> str | None:
        """The stored prev_hash of the device's event `seq`, None when it is not held."""

    def flag(self, problem: Problem) -> None:
        """Record a chain problem (once: recording it again changes nothing)."""

    def last_seq(self) -> int:
        """The highest seq n such that 1..n are all held (0 when seq 1 is missing)."""


class Storage(Protocol):
    """What the head office server needs from a database."""

    def new_enrollment_code(self) -> str: ...

    def enroll(self, code: str, device: str) -> str: ...

    def revoke(self, device: str) -> None: ...

    def secret_of(self, device: str) -> bytes | None: ...

    def batch(self, device: str) -> contextlib.AbstractContextManager[Batch]: ...

    def status(self, device: str) -> tuple[int, list[Problem]]: ...


class _SqliteBatch:
    """`Batch` over one open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection, device: str):
        self._conn = conn
        self._device = device
        self._received_at = now()

    def insert(self, event: Event) -> bool:
        cursor = self._conn.execute(
            "INSERT INTO events (device, seq, at, kind, ref, payload, prev_hash, hash, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, seq) DO NOTHING",
            (self._device, event.seq, event.at, event.kind, event.ref, event.payload,
             event.prev_hash, event.hash, self._received_at),
        )  # fmt: skip
        return cursor.rowcount == 1

    def _column(self, column: str, seq: int) -> str | None:
        row = self._conn.execute(
            f"SELECT {column} FROM events WHERE device = ? AND seq = ?", (self._device, seq)
        ).fetchone()
        return row[0] if row else None

    def hash_of(self, seq: int) -> str | None:
        return self._column("hash", seq)

    def prev_hash_of(self, seq: int) -> str | None:
        return self._column("prev_hash", seq)

    def flag(self, problem: Problem) -> None:
        self._conn.execute(
            "INSERT INTO chain_problems (device, seq, problem, found_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (device, seq, problem) DO NOTHING",
            (self._device, problem.seq, problem.problem, self._received_at),
        )

    def last_seq(self) -> int:
        return _last_seq(self._conn, self._device)


def _last_seq(conn: sqlite3.Connection, device: str) -> int:
    # The first held seq whose successor is missing ends the run from 1; both lookups use
    # the (device, seq) primary key, so this stays cheap however many events are held.
    if conn.execute("SELECT 1 FROM events WHERE device = ? AND seq = 1", (device,)).fetchone() is None:
        return 0
    row = conn.execute(
        "SELECT MIN(e.seq) FROM events e WHERE e.device = ? AND NOT EXISTS"
        " (SELECT 1 FROM events n WHERE n.device = e.device AND n.seq = e.seq + 1)",
        (device,),
    ).fetchone()
    return int(row[0])


class SqliteStorage:
    """`Storage` in one SQLite file; every call opens its own connection, so threads may share it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with self._connect() as conn:
            # WAL lets status reads run while a batch is being written.
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                conn.execute(statement)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            # IMMEDIATE takes the write lock at BEGIN, so two requests carrying the same
            # batch run one after the other and the second sees the first's rows (the
            # PostgreSQL backend gets the same with SELECT ... FOR UPDATE on the device row).
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def new_enrollment_code(self) -> str:
        """A fresh one-time code to type into a new terminal; 16 hex digits, easy to read out."""
        code = secrets.token_hex(8)
        with self._transaction() as conn:
            conn.execute("INSERT INTO enrollment_codes (code, created_at) VALUES (?, ?)", (code, now()))
        return code

    def enroll(self, code: str, device: str) -> str:
        """Spend `code` on `device` and return the device's new secret (hex).

        A device id already enrolled and not revoked is refused, so a leaked code cannot
        take over a working terminal's identity; a revoked one may be enrolled again
        (the terminal was reinstalled) and gets a new secret.
        """
        at = now()
        with self._transaction() as conn:
            spent = conn.execute(
                "UPDATE enrollment_codes SET used_at = ?, device = ? WHERE code = ? AND used_at IS NULL",
                (at, device, code),
            )
            if spent.rowcount != 1:
                raise EnrollmentRefused(
                    "the enrolment code is unknown or was already used: ask head office for a new one", where="code"
                )
            row = conn.execute("SELECT revoked_at FROM devices WHERE id = ?", (device,)).fetchone()
            if row is not None and row[0] is None:
                raise EnrollmentRefused(f"device {device!r} is already enrolled: revoke it first to re-enrol",
                                        where="device")  # fmt: skip
            secret = secrets.token_hex(SECRET_BYTES)
            if row is None:
                conn.execute("INSERT INTO devices (id, enrolled_at) VALUES (?, ?)", (device, at))
                conn.execute("INSERT INTO device_secrets (device, secret) VALUES (?, ?)", (device, secret))
            else:
                conn.execute("UPDATE devices SET enrolled_at = ?, revoked_at = NULL WHERE id = ?", (at, device))
                conn.execute("UPDATE device_secrets SET secret = ? WHERE device = ?", (secret, device))
        return secret

    def revoke(self, device: str) -> None:
        """Refuse the device's uploads from now on (a stolen or retired terminal)."""
        with self._transaction() as conn:
            if conn.execute("UPDATE devices SET revoked_at = ? WHERE id = ?", (now(), device)).rowcount != 1:
                raise NotFound(f"no device {device!r} is enrolled", where="device")

    def secret_of(self, device: str) -> bytes | None:
        """The HMAC key of an enrolled, unrevoked device; None for unknown or revoked ones."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT s.secret FROM device_secrets s JOIN devices d ON d.id = s.device"
                " WHERE d.id = ? AND d.revoked_at IS NULL",
                (device,),
            ).fetchone()
        return bytes.fromhex(row[0]) if row else None

    @contextlib.contextmanager
    def batch(self, device: str) -> Iterator[Batch]:
        """One transaction for one request's events: all stored and flagged, or none."""
        with self._transaction() as conn:
            yield _SqliteBatch(conn, device)

    def status(self, device: str) -> tuple[int, list[Problem]]:
        """The device's last contiguous seq and every chain problem recorded for it, by seq."""
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM devices WHERE id = ?", (device,)).fetchone() is None:
                raise NotFound(f"no device {device!r} is enrolled", where="device")
            problems = [
                Problem(seq, problem)
                for seq, problem in conn.execute(
                    "SELECT seq, problem FROM chain_problems WHERE device = ? ORDER BY seq, problem", (device,)
                )
            ]
            return _last_seq(conn, device), problems
