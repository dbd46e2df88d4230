"""Head office storage on PostgreSQL: a chain of shops, thousands of terminals, many ingest workers.

Ingest is idempotent in the database itself (primary key (device, seq) and `ON CONFLICT DO
NOTHING`), so two servers receiving the same batch store it once. A batch locks only its
own device's row (`SELECT ... FOR UPDATE`): terminals do not wait for each other, and one
device's batches are checked against each other's committed rows. A batch's events go in
one statement (`unnest` of arrays), which is what lets one server keep up with a chain.

Reports and status are plain reads: point `--read-db` at a streaming replica to take them
off the primary.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Sequence

from appliance.errors import ConfigError

from hq.schema import postgres_statements
from hq.storage import Event, SqlStorage

_PARAM = re.compile(r"\?")


class PgStorage(SqlStorage):
    """A pool of connections to one database (`postgresql://...` URL or libpq key=value string)."""

    def __init__(self, dsn: str, *, pool_size: int = 8, read_dsn: str | None = None):
        try:  # the optional extra: a clear message when it is missing
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise ConfigError("PostgreSQL storage needs the postgres extra: pip install '.[postgres]'",
                              where="--db") from None  # fmt: skip
        self.dsn = dsn
        self._pool = self._open(ConnectionPool, dsn, pool_size)
        self._read_pool = self._open(ConnectionPool, read_dsn, pool_size) if read_dsn else self._pool
        with self._pool.connection() as conn:
            conn.autocommit = True
            # One creator at a time: two servers starting together on an empty database
            # would otherwise race on CREATE TABLE IF NOT EXISTS (it is not atomic).
            conn.execute("SELECT pg_advisory_lock(84700001)")
            try:
                for statement in postgres_statements():
                    conn.execute(statement)
            finally:
                conn.execute("SELECT pg_advisory_unlock(84700001)")

    @staticmethod
    def _open(pool_class: Any, dsn: str, size: int) -> Any:
        from psycopg_pool import PoolTimeout

        pool = pool_class(dsn, min_size=1, max_size=size, kwargs={"autocommit": True}, open=False)
        try:
            pool.open(wait=True, timeout=10)
        except PoolTimeout as exc:  # its message carries libpq's last connection error
            pool.close()
            raise ConfigError(f"cannot connect to PostgreSQL: {exc}", where="--db") from None
        return pool

    def __str__(self) -> str:
        return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", self.dsn)  # never print a password

    def close(self) -> None:
        self._pool.close()
        if self._read_pool is not self._pool:
            self._read_pool.close()

    def _sql(self, text: str) -> str:
        return _PARAM.sub("%s", text)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._read_pool.connection() as conn:
            yield conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def _lock_device(self, conn: Any, device: str) -> tuple[str, int] | None:
        return conn.execute("SELECT store, last_seq FROM devices WHERE id = %s FOR UPDATE", (device,)).fetchone()

    def _insert_events(self, conn: Any, device: str, events: Sequence[Event], received_at: str) -> list[int]:
        rows = conn.execute(
            "INSERT INTO events (device, seq, at, kind, ref, payload, prev_hash, hash, received_at)"
            # %b: arrays travel in binary (text arrays in text format are escaped with a
            # regex per element, which cost more than the whole insert).
            " SELECT %s, u.*, %s FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[]) AS u ON CONFLICT (device, seq) DO NOTHING RETURNING seq",
            (device, received_at, [e.seq for e in events], [e.at for e in events], [e.kind for e in events],
             [e.ref for e in events], [e.payload for e in events], [e.prev_hash for e in events],
             [e.hash for e in events]),
        ).fetchall()
        return [row[0] for row in rows]

    def _held(self, conn: Any, device: str, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
        rows = conn.execute("SELECT seq, prev_hash, hash FROM events WHERE device = %s AND seq = ANY(%s)",
                            (device, list(seqs)))  # fmt: skip
        return {seq: (prev, digest) for seq, prev, digest in rows}

    def _append(self, conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        # COPY: one stream per table and batch, far cheaper per row than INSERTs.
        if rows:
            with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _insert_many(self, conn: Any, sql: str, rows: Sequence[tuple]) -> None:
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)  # psycopg pipelines these: one round trip
