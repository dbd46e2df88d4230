"""The terminal side of upstream sync against the real head office (hq/) on SQLite and PostgreSQL.

Faults between the two (lost answers, cut connections, 5xx, a killed terminal or head
office) are in tests/test_sync_faults.py; here is the path when the network behaves.
"""

from __future__ import annotations

import socket
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.cli import main
from appliance.native.secret import Secret
from appliance.store.db import Store
from appliance.sync.client import SyncRejected, SyncUnreachable, backoff, enroll, read_secret, write_secret
from appliance.sync.drain import Target, drain
from appliance.sync.outbox import SyncState, batch_due, status, unsent
from tests.hq_server import Server

DEVICE = "T01"  # the config's default device id


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "till.db", synchronous="NORMAL") as store:
        yield store


def add_events(store: Store, count: int) -> None:
    """`count` sales in the journal and outbox, written the way the till writes them."""
    with store.atomic():
        for i in range(count):
            with store.event("sale", f"R{i}", f"2026-01-02T10:{i // 60 % 60:02d}:{i % 60:02d}") as event:
                event.payload = {"total": i * 100, "lines": [{"sku": "A", "qty": 1}], "name": "豆浆"}


def enrolled(hq: Server, folder: Path, device: str = DEVICE) -> Path:
    """Enrol `device` with head office through the client, as `appliance sync enroll` does; the secret file."""
    path = folder / "device.secret"
    enroll(hq.url, hq.storage.new_enrollment_code(), device, path)
    return path


def target(url: str, secret: Secret, *, batch: int = 100, timeout: float = 5) -> Target:
    return Target(url=url, device=DEVICE, secret=secret, batch_max_events=batch, timeout_s=timeout)


def noon() -> str:
    return "2026-01-02T12:00:00+00:00"


def test_a_batch_is_stored_byte_exact_and_marked(store, hq, tmp_path):
    add_events(store, 5)
    state = SyncState(tmp_path / "state.json")
    result = drain(store, state, target(hq.url, read_secret(enrolled(hq, tmp_path))), now=noon)
    assert (result.sent, result.batches, result.error) == (5, 1, None)
    assert hq.held(DEVICE) == [1, 2, 3, 4, 5]
    journal = [(seq, at, kind, ref, payload, bytes(prev).hex(), bytes(digest).hex()) for seq, at, kind, ref, payload,
               prev, digest in store.conn.execute("SELECT seq, at, kind, ref, payload, prev_hash, hash FROM journal")]
    assert hq.storage.query("SELECT seq, at, kind, ref, payload, prev_hash, hash FROM events WHERE device = ?"
                            " ORDER BY seq", (DEVICE,)) == journal  # fmt: skip
    assert "豆浆" in journal[2][4]
    info = status(store.conn, state)
    assert (info.pending, info.sent_total, info.head_office_last_seq) == (0, 5, 5)
    assert info.last_success == {"at": noon(), "sent": 5} and info.last_error is None
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at = ?", (noon(),)) == 5
    assert store.scalar("SELECT count(*) FROM journal") == 5  # the journal is never pruned


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_head_office_down_marks_nothing_records_the_error_and_backs_off(store, tmp_path):
    add_events(store, 4)
    state = SyncState(tmp_path / "state.json")
    pauses: list[float] = []
    result = drain(store, state, target(f"http://127.0.0.1:{free_port()}", Secret(bytes(32))), now=noon, attempts=3,
                   sleep=pauses.append)
    assert isinstance(result.error, SyncUnreachable) and result.sent == 0
    assert len(pauses) == 2 and 0 <= pauses[0] <= 1 and 0 <= pauses[1] <= 2
    info = status(store.conn, state)
    assert info.pending == 4 and info.sent_total == 0 and info.last_success is None
    assert "did not answer" in info.last_error["message"]


def test_twenty_thousand_queued_events_drain_in_batches(store, hq, tmp_path):
    add_events(store, 20_000)
    secret = read_secret(enrolled(hq, tmp_path))
    result = drain(store, SyncState(tmp_path / "state.json"), target(hq.url, secret, batch=2000), now=noon)
    assert (result.sent, result.batches, result.error) == (20_000, 10, None)
    assert hq.storage.query("SELECT count(*), count(DISTINCT seq), max(seq) FROM events") == [(20_000, 20_000, 20_000)]
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


def test_a_gap_reported_by_head_office_keeps_confirmed_events_marked_and_is_recorded(store, hq, tmp_path):
    add_events(store, 3)
    store.conn.execute("UPDATE outbox SET sent_at = 'earlier' WHERE seq = 1")  # as if sent to another head office
    state = SyncState(tmp_path / "state.json")
    result = drain(store, state, target(hq.url, read_secret(enrolled(hq, tmp_path))), now=noon)
    assert result.sent == 2 and result.error is None
    info = status(store.conn, state)
    assert "seq 2: gap before" in info.last_error["message"]
    assert info.pending == 0 and info.head_office_last_seq == 0 and hq.held(DEVICE) == [2, 3]


def test_unsent_events_carry_the_journal_hash_chain(store):
    add_events(store, 2)
    first, second = unsent(store.conn, 10)
    assert first["prev_hash"] == "00" * 32 and second["prev_hash"] == first["hash"]
    assert unsent(store.conn, 1) == [first]


def test_enrolment_writes_a_private_secret_and_a_used_code_is_refused(hq, tmp_path):
    path = tmp_path / "var" / "device.secret"
    code = hq.storage.new_enrollment_code()
    enroll(hq.url, code, "T02", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [(held,)] = hq.storage.query("SELECT secret FROM device_secrets WHERE device = ?", ("T02",))
    assert read_secret(path) == Secret(bytes.fromhex(held))
    with pytest.raises(SyncRejected, match="already used") as caught:
        enroll(hq.url, code, "T03", tmp_path / "other.secret")
    assert caught.value.status == 403 and not (tmp_path / "other.secret").exists()


def test_a_secret_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "device.secret"
    write_secret(path, Secret(bytes(range(32))))
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_secret(path)


@given(st.integers(0, 200), st.floats(0, 1, exclude_max=True))
def test_backoff_is_full_jitter_under_a_growing_capped_ceiling(attempt, draw):
    wait = backoff(attempt, base=0.5, cap=60.0, rand=lambda: draw)
    assert 0 <= wait <= min(60.0, 0.5 * 2**attempt)


def test_backoff_ceiling_doubles_then_caps():
    assert [backoff(n, base=1, cap=10, rand=lambda: 1.0) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff(3, rand=lambda: 0.0) == 0
    with pytest.raises(ValueError):
        backoff(-1)


def test_a_batch_is_due_when_full_or_old_enough():
    now = datetime(2026, 1, 2, 12, 0, 0, tzinfo=timezone.utc)
    assert not batch_due(0, None, now, max_events=10, max_age_s=60)
    assert batch_due(10, "2026-01-02T11:59:59+00:00", now, max_events=10, max_age_s=60)
    assert not batch_due(3, "2026-01-02T11:59:30+00:00", now, max_events=10, max_age_s=60)
    assert batch_due(3, "2026-01-02T11:59:00+00:00", now, max_events=10, max_age_s=60)


def test_the_cli_sends_now_and_reports_status(hq, tmp_path, capsys):
    enrolled(hq, tmp_path)
    config = tmp_path / "appliance.toml"
    config.write_text(f'[sync]\nurl = "{hq.url}"\ndevice_secret_file = "device.secret"\noutbox_alert = 2\n')
    with Store(tmp_path / "var" / "appliance.db") as store:
        add_events(store, 3)
    assert main(["--config", str(config), "sync", "status"]) == 1  # 3 unsent >= alert at 2
    assert "WARNING: 3 events wait" in capsys.readouterr().out
    assert main(["--config", str(config), "sync", "now"]) == 0
    assert "sent 3 events in 1 batches" in capsys.readouterr().out
    assert main(["--config", str(config), "sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "unsent events:  0" in out and "head office holds up to seq 3" in out
    assert hq.held(DEVICE) == [1, 2, 3]
