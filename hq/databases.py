"""Which storage a `--db` value names: a PostgreSQL URL or DSN, else a SQLite file path."""

from __future__ import annotations

from hq.storage import SqlStorage
from hq.storage_sqlite import SqliteStorage


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://")) or "dbname=" in db


def open_storage(db: str, *, read_db: str | None = None) -> SqlStorage:
    """The storage for `db`; `read_db` (PostgreSQL only) is a replica for status and reports."""
    if is_postgres(db):
        from hq.storage_pg import PgStorage  # only with the postgres extra installed

        return PgStorage(db, read_dsn=read_db)
    return SqliteStorage(db)
