"""Where the head office keeps devices, enrolment codes and received events: the interface, shared by both databases.

SQLite (hq/storage_sqlite.py) is the embedded default for `make run` and a single shop;
PostgreSQL (hq/storage_pg.py) is for a chain. Everything here is written once in the SQL
both accept: `INSERT ... ON CONFLICT DO NOTHING`, `?` parameters (rewritten for psycopg),
times made in Python as ISO text. A backend says how to connect, how to lock one device
for a batch, and how to insert many rows at once.

Chain logic (what is a gap, a broken link or a conflict) is not here: it lives in
hq/ingest.py, which drives a `Batch`, so every backend gets it unchanged.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Protocol, Sequence

from appliance.errors import NotFound

from hq.errors import EnrollmentRefused
from hq.projection import Projection

SECRET_BYTES = 32  # the contract: the device secret is hex of 32 bytes (HMAC-SHA256 key length)


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
    # The payload as parsed from the request, so deriving report rows does not parse it again.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Problem:
    seq: int
    problem: str  # "gap before" | "chain broken" | "conflict" (the contract's words)


class Connection(Protocol):
    """The part of a DB-API connection the shared code uses (sqlite3 and psycopg both have it)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...


class SqlStorage:
    """The `Storage` the server uses, over any database a subclass connects to.

    Subclasses provide `_connect()` (a connection in autocommit), `_begin(conn)` (open
    the write transaction), `_lock_device()`, `_sql(text)` (parameter style),
    `_insert_events()`, `_held()`, `_insert_many()` and may speed up `_append()`.
    """

    def _sql(self, text: str) -> str:
        return text

    def _connect(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        raise NotImplementedError

    def _lock_device(self, conn: Any, device: str) -> tuple[str, int] | None:
        """Lock the device's row until commit; its (store, last_seq), None when unknown."""
        raise NotImplementedError

    def _insert_events(self, conn: Any, device: str, events: Sequence[Event], received_at: str) -> list[int]:
        """Insert the events not held yet; the seqs of those newly stored."""
        raise NotImplementedError

    def _held(self, conn: Any, device: str, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(prev_hash, hash) of each of `seqs` the device has stored."""
        raise NotImplementedError

    def _insert_many(self, conn: Any, sql: str, rows: Sequence[tuple]) -> None:
        raise NotImplementedError

    def _append(self, conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """Add rows to a table with no conflicts to handle (the derived report rows)."""
        marks = ", ".join("?" * len(columns))
        self._insert_many(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _one(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self._sql(sql), params).fetchone()

    def _all(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return conn.execute(self._sql(sql), params).fetchall()

    def _run(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> int:
        return conn.execute(self._sql(sql), params).rowcount

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._connect() as conn:
            self._begin(conn)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._connect() as conn:
            yield conn

    # -- enrolment -------------------------------------------------------------------

    def new_enrollment_code(self, store: str = "") -> str:
        """A fresh one-time code to type into a new terminal of `store`; 16 hex digits, easy to read out."""
        code = secrets.token_hex(8)
        at = now()
        with self._transaction() as conn:
            if store:
                self._run(conn, "INSERT INTO stores (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                          (store, at))  # fmt: skip
            self._run(conn, "INSERT INTO enrollment_codes (code, store, created_at) VALUES (?, ?, ?)",
                      (code, store, at))  # fmt: skip
        return code

    def enroll(self, code: str, device: str) -> str:
        """Spend `code` on `device` and return the device's new secret (hex).

        A device id already enrolled and not revoked is refused, so a leaked code cannot
        take over a working terminal's identity; a revoked one may be enrolled again
        (the terminal was reinstalled) and gets a new secret. Its events are kept and
        its chain continues: a reinstalled terminal restored from its backup goes on
        from its last seq.
        """
        at = now()
        with self._transaction() as conn:
            row = self._one(conn, "UPDATE enrollment_codes SET used_at = ?, device = ? WHERE code = ? AND used_at IS NULL"
                                  " RETURNING store", (at, device, code))  # fmt: skip
            if row is None:
                raise EnrollmentRefused(
                    "the enrolment code is unknown or was already used: ask head office for a new one", where="code"
                )
            store = row[0]
            held = self._one(conn, "SELECT revoked_at FROM devices WHERE id = ?", (device,))
            if held is not None and held[0] is None:
                raise EnrollmentRefused(f"device {device!r} is already enrolled: revoke it first to re-enrol",
                                        where="device")  # fmt: skip
            secret = secrets.token_hex(SECRET_BYTES)
            if held is None:
                self._run(conn, "INSERT INTO devices (id, store, enrolled_at) VALUES (?, ?, ?)", (device, store, at))
                self._run(conn, "INSERT INTO device_secrets (device, secret) VALUES (?, ?)", (device, secret))
            else:
                self._run(conn, "UPDATE devices SET store = ?, enrolled_at = ?, revoked_at = NULL WHERE id = ?",
                          (store, at, device))  # fmt: skip
                self._run(conn, "UPDATE device_secrets SET secret = ? WHERE device = ?", (secret, device))
        return secret

    def revoke(self, device: str) -> None:
        """Refuse the device's uploads from now on (a stolen or retired terminal)."""
        with self._transaction() as conn:
            if self._run(conn, "UPDATE devices SET revoked_at = ? WHERE id = ?", (now(), device)) != 1:
                raise NotFound(f"no device {device!r} is enrolled", where="device")

    def secret_of(self, device: str) -> bytes | None:
        """The HMAC key of an enrolled, unrevoked device; None for unknown or revoked ones."""
        with self._reading() as conn:
            row = self._one(conn, "SELECT s.secret FROM device_secrets s JOIN devices d ON d.id = s.device"
                                  " WHERE d.id = ? AND d.revoked_at IS NULL", (device,))  # fmt: skip
        return bytes.fromhex(row[0]) if row else None

    # -- ingest ----------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self, device: str) -> Iterator["SqlBatch"]:
        """One transaction for one request's events: all stored, derived and flagged, or none.

        The device's row is locked first, so two requests of one device run one after
        the other and each sees the other's rows (chain checks need that); other devices'
        batches are not held up on PostgreSQL.
        """
        with self._transaction() as conn:
            held = self._lock_device(conn, device)
            if held is None:
                raise NotFound(f"no device {device!r} is enrolled", where="device")
            yield SqlBatch(self, conn, device, store=held[0], last_seq=held[1])

    def status(self, device: str) -> tuple[int, list[Problem]]:
        """The device's last contiguous seq and every chain problem recorded for it, by seq."""
        with self._reading() as conn:
            row = self._one(conn, "SELECT last_seq FROM devices WHERE id = ?", (device,))
            if row is None:
                raise NotFound(f"no device {device!r} is enrolled", where="device")
            problems = [Problem(seq, problem) for seq, problem in self._all(
                conn, "SELECT seq, problem FROM chain_problems WHERE device = ? ORDER BY seq, problem", (device,))]
            return row[0], problems

    def receipt(self, device: str, receipt_no: str) -> tuple[str, str] | None:
        """(hash, payload text) of the sale or refund printed as `receipt_no` by `device`, None until it arrives."""
        with self._reading() as conn:
            return self._one(conn, "SELECT e.hash, e.payload FROM sales s JOIN events e"
                                   " ON e.device = s.device AND e.seq = s.seq"
                                   " WHERE s.device = ? AND s.receipt_no = ?", (device, receipt_no))  # fmt: skip

    # -- downstream feeds (hq/feeds.py) ---------------------------------------------

    def publish(self, feed: str, store: str, items: Sequence[tuple[str, str | None]]) -> int:
        """Give each (key, body text or None for removed) the feed's next version; the last version given.

        The counter row stays locked until commit, so a later publication cannot become
        visible before an earlier one: a reader's `since=` never skips a version.
        """
        with self._transaction() as conn:
            return self._publish(conn, feed, store, items)

    def _publish(self, conn: Any, feed: str, store: str, items: Sequence[tuple[str, str | None]]) -> int:
        self._run(conn, "INSERT INTO feed_versions (feed, version) VALUES (?, 0) ON CONFLICT (feed) DO NOTHING", (feed,))
        last = self._one(conn, "UPDATE feed_versions SET version = version + ? WHERE feed = ? RETURNING version",
                         (len(items), feed))[0]  # fmt: skip
        at = now()
        self._insert_many(conn, "INSERT INTO feed_items (feed, store, key, version, body, updated_at)"
                                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (feed, store, key) DO UPDATE"
                                " SET version = excluded.version, body = excluded.body, updated_at = excluded.updated_at",
                          [(feed, store, key, last - len(items) + 1 + i, body, at)
                           for i, (key, body) in enumerate(items)])  # fmt: skip
        return last

    def feed_page(self, feed: str, store: str, since: int, limit: int) -> list[tuple[str, int, str | None]]:
        """(key, version, body) of the items of `feed` for `store` (and all stores) after version `since`."""
        with self._reading() as conn:
            return [tuple(row) for row in self._all(
                conn, "SELECT key, version, body FROM feed_items WHERE feed = ? AND store IN ('', ?) AND version > ?"
                      " ORDER BY version LIMIT ?", (feed, store, since, limit))]  # fmt: skip

    def store_of(self, device: str) -> str:
        with self._reading() as conn:
            row = self._one(conn, "SELECT store FROM devices WHERE id = ?", (device,))
        return row[0] if row else ""

    def dirty_feeds(self) -> list[str]:
        """The feeds with items ingest marked to rebuild (from the primary: a replica may lag)."""
        with self._connect() as conn:
            return [feed for (feed,) in self._all(conn, "SELECT DISTINCT feed FROM feed_dirty")]

    def rebuild(self, feed: str, build: Any, limit: int = 1000) -> int:
        """Republish up to `limit` keys ingest marked dirty in `feed`, each body made by `build(read, key)`
        (`read(sql, params)` gives the rows of a query in this transaction).

        `build` returns (store, item key, body text or None to send nothing); the marks are
        removed in the same transaction.
        """
        with self._transaction() as conn:
            keys = [key for (key,) in self._all(conn, "SELECT key FROM feed_dirty WHERE feed = ? ORDER BY key LIMIT ?",
                                                (feed, limit))]  # fmt: skip
            by_store: dict[str, list[tuple[str, str | None]]] = {}
            def read(sql: str, params: Sequence[Any] = ()) -> list[Any]:
                return self._all(conn, sql, params)

            for key in keys:
                store, item_key, body = build(read, key)
                if body is not None:  # nothing to send yet (a redemption of a coupon not heard of)
                    by_store.setdefault(store, []).append((item_key, body))
            for store, items in by_store.items():
                self._publish(conn, feed, store, items)
            self._insert_many(conn, "DELETE FROM feed_dirty WHERE feed = ? AND key = ?", [(feed, k) for k in keys])
        return len(keys)

    def add_coupons(self, items: Sequence[tuple[str, str]]) -> None:
        """Coupons head office issues (code, body), marked for the coupons feed to (re)publish."""
        with self._transaction() as conn:
            self._insert_many(conn, "INSERT INTO coupons (code, body) VALUES (?, ?) ON CONFLICT (code) DO UPDATE"
                                    " SET body = excluded.body", items)  # fmt: skip
            self._insert_many(conn, "INSERT INTO feed_dirty (feed, key) VALUES ('coupons', ?)"
                                    " ON CONFLICT (feed, key) DO NOTHING", [(code,) for code, _ in items])  # fmt: skip

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only query in the shared dialect (the reports in hq/reports.py)."""
        with self._reading() as conn:
            return [tuple(row) for row in self._all(conn, sql, params)]


class SqlBatch:
    """One device's ingest transaction: what hq/ingest.py needs to store and check a batch."""

    def __init__(self, storage: SqlStorage, conn: Any, device: str, *, store: str, last_seq: int):
        self._storage = storage
        self._conn = conn
        self.device = device
        self.store = store
        self.last_seq = last_seq  # as held before this batch
        self._received_at = now()

    def held(self, seqs: Iterable[int]) -> dict[int, tuple[str, str]]:
        """(prev_hash, hash) of each of `seqs` already stored for this device."""
        wanted = sorted(set(seqs))
        return self._storage._held(self._conn, self.device, wanted) if wanted else {}

    def insert_new(self, events: Sequence[Event]) -> list[int]:
        """Store the events whose (device, seq) is not held; the seqs newly stored."""
        return self._storage._insert_events(self._conn, self.device, events, self._received_at)

    def flag(self, problems: Sequence[Problem]) -> None:
        """Record chain problems (once each: recording one again changes nothing)."""
        self._storage._insert_many(
            self._conn,
            "INSERT INTO chain_problems (device, seq, problem, found_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (device, seq, problem) DO NOTHING",
            [(self.device, p.seq, p.problem, self._received_at) for p in problems],
        )

    def project(self, rows: Projection) -> None:
        """Add the derived report rows of the newly stored events, tagged with the device's store."""
        append, device, store = self._storage._append, self.device, self.store
        append(self._conn, "sales", ("device", "seq", "store", "sale_id", "receipt_no", "kind", "business_day",
                                     "completed_at", "total", "tax", "line_count"),
               [(device, seq, store, *rest) for seq, *rest in rows.sales])  # fmt: skip
        append(self._conn, "sale_lines", ("device", "seq", "line_no", "sku", "name", "quantity", "amount", "cost"),
               [(device, *row) for row in rows.lines])  # fmt: skip
        append(self._conn, "stock_moves", ("device", "seq", "store", "sku", "quantity"),
               [(device, seq, store, sku, quantity) for seq, sku, quantity in rows.stock])  # fmt: skip
        self._feed_state(rows)

    def _feed_state(self, rows: Projection) -> None:
        """Members, balances, coupons and paid orders changed by the batch; their feed items are marked to rebuild."""
        conn, run, insert = self._conn, self._storage._run, self._storage._insert_many
        dirty: list[tuple[str, str]] = []
        for member, fields in rows.profiles:
            held = self._storage._one(conn, "SELECT profile FROM members WHERE id = ?", (member,))
            profile = {**(json.loads(held[0]) if held else {"id": member}), **fields}
            run(conn, "INSERT INTO members (id, profile, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
                      " SET profile = excluded.profile, updated_at = excluded.updated_at",
                (member, json.dumps(profile, ensure_ascii=False, sort_keys=True), self._received_at))  # fmt: skip
            dirty.append(("members", member))
        insert(conn, "INSERT INTO member_ledger (member_id, device, points, stored_value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (member_id, device) DO UPDATE SET points = member_ledger.points + excluded.points,"
                     " stored_value = member_ledger.stored_value + excluded.stored_value",
               [(member, self.device, points, value) for member, (points, value) in rows.ledger.items()])  # fmt: skip
        dirty += [("members", member) for member in rows.ledger]
        insert(conn, "INSERT INTO coupons (code, body) VALUES (?, ?) ON CONFLICT (code) DO NOTHING",
               [(code, json.dumps(body, ensure_ascii=False, sort_keys=True)) for code, body in rows.coupons])
        for code, sale, at in rows.redeemed:
            run(conn, "UPDATE coupons SET redeemed_ref = ?, redeemed_at = ? WHERE code = ?",
                (sale or None, at if sale else None, code))  # fmt: skip
        dirty += [("coupons", code) for code, _ in rows.coupons] + [("coupons", code) for code, _, _ in rows.redeemed]
        insert(conn, "INSERT INTO delivery_paid (store, order_no, receipt_no) VALUES (?, ?, ?)"
                     " ON CONFLICT (store, order_no) DO NOTHING",
               [(self.store, order, receipt) for order, receipt in rows.orders_paid])  # fmt: skip
        dirty += [("delivery_orders", f"{self.store}/{order}") for order, _ in rows.orders_paid]
        insert(conn, "INSERT INTO feed_dirty (feed, key) VALUES (?, ?) ON CONFLICT (feed, key) DO NOTHING",
               sorted(set(dirty)))

    def advance(self) -> int:
        """Move the device's last contiguous seq forward over what is now held, and return it.

        The scan starts at the old mark, so it costs the events just stored, not the
        device's whole history.
        """
        one = self._storage._one
        start = self.last_seq
        if start == 0:
            if one(self._conn, "SELECT 1 FROM events WHERE device = ? AND seq = 1", (self.device,)) is None:
                return 0
            start = 1
        row = one(self._conn, "SELECT MIN(e.seq) FROM events e WHERE e.device = ? AND e.seq >= ? AND NOT EXISTS"
                              " (SELECT 1 FROM events n WHERE n.device = e.device AND n.seq = e.seq + 1)",
                  (self.device, start))  # fmt: skip
        last = int(row[0])
        if last != self.last_seq:
            self._storage._run(self._conn, "UPDATE devices SET last_seq = ? WHERE id = ?", (last, self.device))
            self.last_seq = last
        return last
