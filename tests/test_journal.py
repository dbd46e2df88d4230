"""The hash-chained journal: every kind of tampering is caught and the first bad entry named."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.errors import JournalBroken
from appliance.store import integrity, journal
from tests.conftest import COLA, WATER


def _tamper(path, *statements):
    """Edit the database like someone with the sqlite3 shell: triggers dropped, no foreign keys."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS journal_no_update")
    conn.execute("DROP TRIGGER IF EXISTS journal_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.fixture
def busy(till):
    """A till with a few completed sales, so the journal has many entries."""
    for _ in range(3):
        till.scan(COLA)
        till.scan(WATER)
        till.pay("cash")
    head = journal.verify(till.store.conn)
    assert head.seq >= 8
    return till


def _verify(till):
    return journal.verify(till.store.conn)


def test_a_clean_journal_verifies_and_numbers_have_no_gaps(busy):
    seqs = [r[0] for r in busy.store.conn.execute("SELECT seq FROM journal ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert _verify(busy).seq == len(seqs)


def test_the_journal_refuses_updates_and_deletes(busy):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        busy.store.conn.execute("UPDATE journal SET kind = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        busy.store.conn.execute("DELETE FROM journal WHERE seq = 2")


def _first_sale_seq(till) -> int:
    return till.store.scalar("SELECT min(seq) FROM journal WHERE kind = 'sale.completed'")


def test_an_edited_payload_is_caught(busy):
    seq = _first_sale_seq(busy)
    _tamper(busy.store.path, f"UPDATE journal SET payload = replace(payload, '\"total\":', '\"total\":1') WHERE seq = {seq}")
    with pytest.raises(JournalBroken) as err:
        _verify(busy)
    assert err.value.seq == seq


def test_an_edited_header_field_is_caught(busy):
    _tamper(busy.store.path, "UPDATE journal SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 4")
    with pytest.raises(JournalBroken, match="hash does not match") as err:
        _verify(busy)
    assert err.value.seq == 4


def test_whitespace_added_to_a_payload_is_caught(busy):
    _tamper(busy.store.path, "UPDATE journal SET payload = payload || ' ' WHERE seq = 3")
    with pytest.raises(JournalBroken) as err:
        _verify(busy)
    assert err.value.seq == 3


def test_a_deleted_entry_is_caught(busy):
    _tamper(busy.store.path, "DELETE FROM journal WHERE seq = 6")
    with pytest.raises(JournalBroken, match="missing") as err:
        _verify(busy)
    assert err.value.seq == 6


def test_a_deleted_first_entry_is_caught(busy):
    _tamper(busy.store.path, "DELETE FROM journal WHERE seq = 1")
    with pytest.raises(JournalBroken) as err:
        _verify(busy)
    assert err.value.seq == 1


def test_an_inserted_entry_is_caught(busy):
    """Shift the tail up by one and slip a forged entry into the gap."""
    last = _verify(busy).seq
    _tamper(
        busy.store.path,
        "UPDATE journal SET seq = seq + 1000 WHERE seq >= 4",
        "UPDATE journal SET seq = seq - 999 WHERE seq >= 1004",
        "INSERT INTO journal (seq, at, kind, ref, payload, prev_hash, hash) "
        "SELECT 4, at, 'cash.paid_out', 'forged', '{}', hash, hash FROM journal WHERE seq = 3",
    )
    assert busy.store.scalar("SELECT max(seq) FROM journal") == last + 1
    with pytest.raises(JournalBroken) as err:
        _verify(busy)
    assert err.value.seq == 4


def test_reordered_entries_are_caught(busy):
    _tamper(
        busy.store.path,
        "UPDATE journal SET seq = -1 WHERE seq = 3",
        "UPDATE journal SET seq = 3 WHERE seq = 4",
        "UPDATE journal SET seq = 4 WHERE seq = -1",
    )
    with pytest.raises(JournalBroken, match="does not follow") as err:
        _verify(busy)
    assert err.value.seq == 3


def test_a_recomputed_tail_still_breaks_at_the_edit(busy):
    """Rewriting one entry's hash correctly does not help: the next entry's prev_hash no longer matches."""
    conn = busy.store.conn
    target = _first_sale_seq(busy)
    seq, at, kind, ref, payload, prev = conn.execute(
        "SELECT seq, at, kind, ref, payload, prev_hash FROM journal WHERE seq = ?", (target,)
    ).fetchone()
    forged = payload.replace('"operator":"1001"', '"operator":"9999"')
    assert forged != payload
    digest = journal.entry_hash(prev, seq, at, kind, ref, forged)
    conn.execute("DROP TRIGGER journal_no_update")
    conn.execute("UPDATE journal SET payload = ?, hash = ? WHERE seq = ?", (forged, digest, target))
    with pytest.raises(JournalBroken, match="does not follow") as err:
        _verify(busy)
    assert err.value.seq == target + 1


def test_truncating_the_newest_entries_is_caught_by_db_check(busy):
    """A shorter chain still verifies; the sales that point past its end give it away."""
    last = _verify(busy).seq
    _tamper(busy.store.path, f"DELETE FROM journal WHERE seq > {last - 2}")
    assert _verify(busy).seq == last - 2  # the chain alone cannot tell
    report = integrity.check(busy.store.conn)
    assert any("truncated" in p for p in report.problems), report.problems


def test_db_check_is_clean_on_an_honest_store(busy):
    report = integrity.check(busy.store.conn)
    assert report.problems == []
    assert "sqlite integrity_check: ok" in report.lines


def test_floats_never_reach_the_journal(store):
    with pytest.raises(TypeError, match="floats"):
        with store.event("test.float", ref="x", at="2026-01-01T00:00:00.000Z") as event:
            event.payload = {"amount": 1.5}
    assert journal.head(store.conn).seq == 0  # the event rolled back whole


def test_an_event_writes_rows_journal_and_outbox_together_or_not_at_all(store):
    with pytest.raises(RuntimeError):
        with store.event("member.added", ref="m1", at="2026-01-01T00:00:00.000Z") as event:
            event.conn.execute("INSERT INTO counters (name, value) VALUES ('probe', 1)")
            raise RuntimeError("power cut in the middle")
    assert store.scalar("SELECT count(*) FROM counters WHERE name = 'probe'") == 0
    assert store.scalar("SELECT count(*) FROM outbox") == 0
    with store.event("member.added", ref="m1", at="2026-01-01T00:00:00.000Z") as event:
        event.conn.execute("INSERT INTO counters (name, value) VALUES ('probe', 1)")
        event.payload = {"ok": True}
    assert store.scalar("SELECT topic FROM outbox WHERE seq = ?", (event.seq,)) == "member.added"
    assert store.scalar("SELECT ref FROM journal WHERE seq = ?", (event.seq,)) == "m1"


@pytest.mark.parametrize("edit", [
    "UPDATE sales SET total = total + 100 WHERE rowid = (SELECT min(rowid) FROM sales)",
    "UPDATE sale_lines SET amount = amount - 1 WHERE sale_id = (SELECT min(sale_id) FROM sale_lines) AND line_no = 1",
    "UPDATE sale_lines SET quantity = quantity + 1000 WHERE sale_id = (SELECT min(sale_id) FROM sale_lines)",
    "UPDATE payments SET amount = amount + 1 WHERE sale_id = (SELECT min(sale_id) FROM payments)",
    "DELETE FROM payments WHERE sale_id = (SELECT min(sale_id) FROM payments)",
    "UPDATE sales SET change = change + 100 WHERE rowid = (SELECT min(rowid) FROM sales)",
])
def test_db_check_catches_sale_rows_edited_after_the_fact(busy, edit):
    """The chain is intact, but the rows no longer say what was journaled."""
    _tamper(busy.store.path, edit)
    assert _verify(busy).seq > 0
    problems = integrity.check(busy.store.conn).problems
    assert any("differ from the document journaled" in p for p in problems), problems


def test_db_check_catches_a_cleared_void_mark(busy):
    sale = busy.store.conn.execute("SELECT receipt_no FROM sales WHERE kind = 'sale' LIMIT 1").fetchone()[0]
    from appliance.core.returns import post_void

    post_void(busy, sale, approver=busy.approve("2001", "2468"), reason="test")
    assert integrity.check(busy.store.conn).problems == []
    _tamper(busy.store.path, f"UPDATE sales SET voided_by = NULL WHERE receipt_no = '{sale}'")
    problems = integrity.check(busy.store.conn).problems
    assert any("post-void mark" in p for p in problems), problems
