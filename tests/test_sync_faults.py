"""Upstream sync when the path to head office fails, against the real hq on SQLite and on PostgreSQL.

Each test breaks one thing a shop's network or a head office does break (an answer lost
after the batch was stored, a connection cut mid-upload, a 5xx, a late or a garbage
answer, wrong or revoked credentials, a terminal or head office killed mid-upload, a
clock that jumps, a week offline), through tests/fault_proxy.py or by killing a process,
and checks the promises of docs/sync.md: nothing lost, nothing stored twice, the outbox
keeps what head office did not confirm, the recorded error tells a technician what to
look at, and once the fault clears one more pass delivers every event exactly once.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from appliance import config
from appliance.core.clock import iso
from appliance.native.secret import Secret
from appliance.store.db import Store
from appliance.sync.client import SyncProtocolError, SyncRejected, SyncUnreachable, read_secret
from appliance.sync.drain import drain
from appliance.sync.outbox import SyncState, status
from tests.conftest import RICE, START, WATER
from tests.fault_proxy import FaultProxy
from tests.hq_server import Server
from tests.test_cli import write_config
from tests.test_sync_client import DEVICE, add_events, enrolled, free_port, noon, target
from tests.test_sync_to_hq import sell

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proxy(hq: Server) -> Iterator[FaultProxy]:
    faulty = FaultProxy(hq.port)
    yield faulty
    faulty.close()


@pytest.fixture
def secret(hq: Server, tmp_path: Path) -> Secret:
    return read_secret(enrolled(hq, tmp_path))


def queued(store: Store) -> list[int]:
    """The seqs the outbox still has to send."""
    return [seq for (seq,) in store.conn.execute("SELECT seq FROM outbox WHERE sent_at IS NULL ORDER BY seq")]


def assert_exactly_once(hq: Server, store: Store, count: int) -> None:
    """Head office holds seqs 1..count once each with the chain whole, and the terminal knows it."""
    assert hq.held(DEVICE) == list(range(1, count + 1))
    assert hq.storage.query("SELECT count(*) FROM events") == [(count,)]
    assert hq.status(DEVICE) == (200, {"device": DEVICE, "last_seq": count, "problems": []})
    assert queued(store) == []
    assert store.scalar("SELECT value FROM counters WHERE name = 'sync.last_seq'") == count


def last_error(store: Store, state: SyncState) -> str:
    return status(store.conn, state).last_error["message"]


# What the proxy does to the second batch; the error drain reports; what the recorded error
# tells a technician; whether head office holds that batch all the same.
TRANSIENT = [
    pytest.param("lose_answer", SyncUnreachable, ["did not answer"], True, id="answer_lost_after_storing"),
    pytest.param("drop_mid_request", SyncUnreachable, ["did not answer"], False, id="connection_dropped_mid_request"),
    pytest.param("status_500", SyncUnreachable, ["answered 500", "try again later"], False, id="server_500"),
    pytest.param("status_503", SyncUnreachable, ["answered 503", "try again later"], False, id="server_503"),
    pytest.param("slow", SyncUnreachable, ["did not answer within 1 s", "raise [sync] timeout_s"], True,
                 id="slow_past_the_timeout"),
    pytest.param("garbage", SyncProtocolError, ["not JSON", "sign in to the shop Wi-Fi", "check that [sync] url"],
                 False, id="garbage_answer"),
]


@pytest.mark.parametrize("fault, error, words, stored", TRANSIENT)
def test_a_failed_send_keeps_the_batch_queued_and_the_next_pass_delivers_every_event_once(
    hq, proxy, store, secret, tmp_path, fault, error, words, stored
):
    add_events(store, 10)
    state = SyncState(tmp_path / "state.json")
    proxy.expect("pass", fault)
    # `slow` waits for the terminal to give up before it forwards: a short timeout makes that quick.
    first = drain(store, state, target(proxy.url, secret, batch=4, timeout=1 if fault == "slow" else 5), now=noon)
    assert isinstance(first.error, error) and (first.sent, first.batches) == (4, 1)
    assert proxy.requests == 2  # a failed batch ends the pass: the third is not tried
    proxy.settle()  # a slow request reaches head office after the terminal stopped waiting
    assert hq.held(DEVICE) == list(range(1, 9 if stored else 5))
    assert queued(store) == list(range(5, 11))  # unconfirmed, even where head office has them
    message = last_error(store, state)
    assert all(said in message for said in [f"{proxy.url}/v1/ingest", *words]), message
    add_events(store, 2)
    again = drain(store, state, target(proxy.url, secret, batch=4), now=noon)
    # What head office already held comes back as duplicates and is marked; nothing is stored twice.
    assert (again.sent, again.batches, again.error) == (8, 2, None)
    assert_exactly_once(hq, store, 12)


def test_a_wrong_secret_is_refused_once_and_the_queue_waits_for_the_right_one(hq, proxy, store, secret, tmp_path):
    add_events(store, 6)
    state = SyncState(tmp_path / "state.json")
    refused = drain(store, state, target(proxy.url, Secret(b"\x01" * 32)), now=noon, attempts=3)
    assert isinstance(refused.error, SyncRejected) and refused.error.status == 401
    assert proxy.requests == 1  # resending the same bytes cannot fix a refusal: not retried
    assert hq.held(DEVICE) == [] and queued(store) == [1, 2, 3, 4, 5, 6]
    message = last_error(store, state)
    assert all(said in message for said in ("refused (401)", "signature does not match", "check the device secret"))
    assert drain(store, state, target(proxy.url, secret), now=noon).sent == 6
    assert_exactly_once(hq, store, 6)


def test_a_revoked_device_is_refused_and_once_enrolled_again_its_chain_goes_on(hq, proxy, store, secret, tmp_path):
    state = SyncState(tmp_path / "state.json")
    add_events(store, 5)
    assert drain(store, state, target(proxy.url, secret), now=noon).sent == 5
    add_events(store, 5)
    hq.storage.revoke(DEVICE)
    refused = drain(store, state, target(proxy.url, secret), now=noon, attempts=3)
    assert isinstance(refused.error, SyncRejected) and refused.error.status == 401 and proxy.requests == 2
    assert hq.held(DEVICE) == [1, 2, 3, 4, 5] and queued(store) == [6, 7, 8, 9, 10]
    message = last_error(store, state)
    assert "revoked" in message and "enrol it again" in message, message
    renewed = read_secret(enrolled(hq, tmp_path))  # a technician enrols it with a new code: a new secret
    assert renewed != secret
    assert drain(store, state, target(proxy.url, renewed), now=noon).sent == 5
    assert_exactly_once(hq, store, 10)


def sync_now(config_path: Path) -> subprocess.Popen:
    """`appliance sync now` in a child process, which the test may SIGKILL."""
    return subprocess.Popen([sys.executable, "-m", "appliance", "--config", str(config_path), "sync", "now"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_a_terminal_killed_mid_upload_sends_again_and_head_office_holds_each_event_once(hq, proxy, tmp_path):
    folder = tmp_path / "etc"
    config_path = write_config(folder, f'[sync]\nurl = "{proxy.url}"\ndevice_secret_file = "device.secret"\n'
                                       "batch_max_events = 5\n")  # fmt: skip
    enrolled(hq, folder)
    database = config.load(config_path).database_path
    with Store(database) as store:
        add_events(store, 12)
    proxy.expect("pass", "hold")
    child = sync_now(config_path)
    try:
        assert proxy.holding.wait(60), child.stderr.read() if child.poll() is not None else "no second batch"
    finally:
        child.kill()  # head office stored seqs 6-10; its answer never reaches the terminal
        child.communicate()
    proxy.release.set()
    assert child.returncode == -signal.SIGKILL
    assert hq.held(DEVICE) == list(range(1, 11))
    with Store(database) as store:
        assert queued(store) == [6, 7, 8, 9, 10, 11, 12]
    again = sync_now(config_path)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "sent 7 events in 2 batches" in out
    with Store(database) as store:
        assert_exactly_once(hq, store, 12)


class HqProcess:
    """`python -m hq serve` in a child process over `db`, so a test can SIGKILL head office mid-ingest."""

    def __init__(self, db: str, log: Path):
        with log.open("ab") as errors:
            self.process = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--db", db, "--port", "0"],
                                            cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)  # fmt: skip
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # printed once it answers requests
        if not first.startswith("hq listening on http://"):
            self.stop()
            raise RuntimeError(f"hq did not start: {first!r}; see {log}")
        self.port = int(first.rsplit(":", 1)[1])

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate()

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


def test_head_office_killed_mid_ingest_and_restarted_holds_every_event_once(hq, store, secret, tmp_path):
    count = 3000  # one batch big enough that ingesting it takes a while
    add_events(store, count)
    state = SyncState(tmp_path / "state.json")
    first = HqProcess(hq.db, tmp_path / "hq.log")
    proxy = FaultProxy(first.port)
    try:
        # Killed the moment the whole batch has gone to head office: mid-ingest, or just after.
        killer = threading.Thread(target=lambda: proxy.forwarded.wait(60) and first.kill())
        killer.start()
        failed = drain(store, state, target(proxy.url, secret, batch=count, timeout=60), now=noon)
        killer.join()
        assert first.process.returncode == -signal.SIGKILL
        assert isinstance(failed.error, SyncUnreachable) and failed.sent == 0
        assert "did not answer" in last_error(store, state) and queued(store) == list(range(1, count + 1))
        assert hq.held(DEVICE) in ([], list(range(1, count + 1)))  # a batch is stored whole or not at all
        second = HqProcess(hq.db, tmp_path / "hq.log")
        try:
            proxy.upstream_port = second.port
            again = drain(store, state, target(proxy.url, secret, batch=count, timeout=60), now=noon)
        finally:
            second.stop()
    finally:
        proxy.close()
        if first.process.returncode is None:
            first.kill()
    assert (again.sent, again.error) == (count, None)
    assert_exactly_once(hq, store, count)


def test_a_terminal_clock_jumping_back_and_forth_is_ordered_by_seq_at_head_office(hq, till, store, clock, secret):
    state = SyncState.beside(till.settings.database_path)
    sync = target(hq.url, secret)
    for jump in ({"days": 0}, {"days": -1}, {"weeks": 1}, {"hours": -30}):
        clock.advance(**jump)
        sell(till, RICE, WATER)
        sell(till, WATER)
        assert drain(store, state, sync, now=lambda: iso(clock.now())).error is None
    count = store.scalar("SELECT max(seq) FROM journal")
    times = [at for (at,) in hq.storage.query("SELECT at FROM events WHERE device = ? ORDER BY seq", (DEVICE,))]
    assert times != sorted(times)  # the terminal's clock did go back between sales
    assert_exactly_once(hq, store, count)
    assert status(store.conn, state).last_error is None


def test_a_week_offline_queues_every_sale_and_one_pass_delivers_them_once_in_batches(
    hq, proxy, till, store, clock, secret
):
    state = SyncState.beside(till.settings.database_path)
    sync = target(proxy.url, secret, batch=500)
    proxy.upstream_port = free_port()  # the shop's line is down: nothing answers behind the proxy
    for _day in range(7):
        for sale in range(300):
            sell(till, RICE if sale % 2 else WATER)
            clock.advance(minutes=2)
        offline = drain(store, state, sync, now=lambda: iso(clock.now()))
        assert isinstance(offline.error, SyncUnreachable) and offline.sent == 0
        clock.advance(hours=14)
    count = store.scalar("SELECT max(seq) FROM journal")
    info = status(store.conn, state)
    assert count > 2100 and (info.pending, info.sent_total, info.last_success) == (count, 0, None)
    assert info.oldest_pending == iso(START)  # queued since the shop opened, a week ago
    assert "did not answer" in info.last_error["message"] and hq.held(DEVICE) == []
    proxy.upstream_port = hq.port  # the line is back
    back = drain(store, state, sync, now=lambda: iso(clock.now()))
    assert (back.sent, back.batches, back.error) == (count, math.ceil(count / 500), None)
    assert_exactly_once(hq, store, count)
    assert status(store.conn, state).head_office_last_seq == count


def test_a_batch_head_office_finds_too_large_goes_again_in_halves(hq, store, secret):
    # 40 events of ~0.6 MB each unzip to ~24 MB in one batch: over head office's 16 MiB limit (413).
    with store.atomic():
        for i in range(40):
            with store.event("note", f"N{i}", "2026-01-02T10:00:00") as event:
                event.payload = {"text": f"{i:04d}" + "豆浆油条" * 50_000}
    state = SyncState(store.path.with_name("sync.json"))
    result = drain(store, state, target(hq.url, secret, batch=40), now=noon)
    assert result.error is None and result.sent == 40 and result.batches >= 2
    assert_exactly_once(hq, store, 40)
