"""Schema migrations: from an empty database and from every earlier version, data kept."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.errors import StoreError
from appliance.store import migrations
from appliance.store.db import Store
from appliance.store.migrations import MIGRATIONS, current_version, latest_version, migrate

# A row to write at the first version whose schema has its table; it must survive every later migration.
PROBES = {
    1: ("INSERT INTO counters (name, value) VALUES ('receipt:T01', 41)", "SELECT value FROM counters", 41),
    2: (
        "INSERT INTO products (sku, name, unit, price, tax_class, updated_at) "
        "VALUES ('SKU1', '可乐', 'piece', 350, 'standard', '2026-01-01T00:00:00.000Z')",
        "SELECT name FROM products WHERE sku = 'SKU1'",
        "可乐",
    ),
    3: (
        "INSERT INTO members (id, phone, name, created_at) VALUES ('m1', '13800138000', 'Wang', 'x')",
        "SELECT phone FROM members",
        "13800138000",
    ),
}


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return {(name, sql) for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")}


def test_versions_are_contiguous_from_one():
    assert sorted(MIGRATIONS) == list(range(1, latest_version() + 1))


def test_an_empty_database_migrates_to_the_latest(tmp_path):
    with Store(tmp_path / "a.db") as store:
        assert current_version(store.conn) == latest_version()
        assert {"journal", "outbox", "products", "sales", "shifts", "operators"} <= set(store.db.table_names())


@pytest.mark.parametrize("start", range(0, latest_version()))
def test_every_earlier_version_upgrades_with_its_data(tmp_path, start):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=start) == start
    kept = []
    for version, (insert, query, expected) in PROBES.items():
        if version <= start:
            conn.execute(insert)
            kept.append((query, expected))
    conn.close()
    with Store(path) as store:
        assert current_version(store.conn) == latest_version()
        for query, expected in kept:
            assert store.scalar(query) == expected
        fresh = sqlite3.connect(":memory:", isolation_level=None)
        migrate(fresh)
        assert _schema(store.conn) == _schema(fresh)


def test_a_database_from_newer_software_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this software"):
        Store(path)


def test_a_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "half.db"
    Store(path).close()
    broken = latest_version() + 1

    def half_done(conn):
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setitem(migrations.MIGRATIONS, broken, half_done)
    with pytest.raises(StoreError, match="disk full"):
        Store(path)
    monkeypatch.delitem(migrations.MIGRATIONS, broken)
    with Store(path) as store:
        assert current_version(store.conn) == broken - 1
        assert "half_done" not in store.db.table_names()


def test_money_columns_refuse_floats(store):
    """STRICT tables: a float in an integer money column is an error, not a silent REAL."""
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(
            "INSERT INTO products (sku, name, unit, price, tax_class, updated_at) VALUES ('X', 'x', 'piece', 3.5, 's', 'x')"
        )


def test_the_store_runs_in_wal_with_foreign_keys(store):
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA foreign_keys") == 1
    assert store.scalar("PRAGMA synchronous") == 2  # FULL


def test_normal_synchronous_is_configurable(tmp_path):
    with Store(tmp_path / "n.db", synchronous="NORMAL") as store:
        assert store.scalar("PRAGMA synchronous") == 1


def test_an_unreadable_file_is_a_store_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="garbage.db"):
        Store(path)


def test_idle_checkpoint_mode_keeps_checkpoints_out_of_commits(tmp_path):
    with Store(tmp_path / "i.db", checkpoint="idle") as store:
        assert store.scalar("PRAGMA wal_autocheckpoint") == 10000
        with store.event("probe", ref="p", at="2026-01-01T00:00:00.000Z") as event:
            event.payload = {"n": 1}
        store.checkpoint()
        assert (tmp_path / "i.db-wal").exists()
    with Store(tmp_path / "a.db") as store:
        assert store.scalar("PRAGMA wal_autocheckpoint") == 1000


def test_a_second_process_that_saw_an_old_version_does_not_migrate_twice(tmp_path, monkeypatch):
    path = tmp_path / "race.db"
    late = sqlite3.connect(path, isolation_level=None)
    Store(path).close()  # the first process migrated everything
    calls = []

    def stale_then_real(conn):
        calls.append(1)
        return 0 if len(calls) == 1 else current_version(conn)

    monkeypatch.setattr(migrations, "current_version", stale_then_real)
    assert migrate(late) == latest_version()  # re-read under the write lock: nothing to do
    late.close()
