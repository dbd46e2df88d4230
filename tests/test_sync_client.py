"""The terminal side of upstream sync against a real HTTP head office running in a thread."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import socket
import stat
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.cli import main
from appliance.native.secret import Secret
from appliance.store import journal
from appliance.store.db import Store
from appliance.sync.client import (
    SyncProtocolError, SyncRejected, SyncUnreachable, backoff, enroll, read_secret, write_secret,
)
from appliance.sync.drain import Target, drain
from appliance.sync.outbox import SyncState, batch_due, status, unsent

SECRET = bytes(range(32))
DEVICE = "T01"


class HeadOffice(ThreadingHTTPServer):
    """The contract of docs/sync.md with an in-memory store; `lose_answers` drops that many answers after storing."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.secrets = {DEVICE: SECRET}
        self.codes = {"ENROL-1"}
        self.held: dict[str, dict[int, dict]] = {}
        self.lose_answers = 0
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: HeadOffice

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _answer(self, code: int, document: dict) -> None:
        raw = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests += 1
            if self.path == "/v1/enroll":
                return self._enroll(json.loads(raw))
            if self.path == "/v1/ingest":
                return self._ingest(raw)
            return self._answer(404, {"error": "not_found", "message": self.path})

    def _enroll(self, body: dict) -> None:
        if body.get("code") not in self.server.codes:
            return self._answer(403, {"error": "bad_code", "message": "enrolment code unknown or already used"})
        self.server.codes.discard(body["code"])
        secret = hashlib.sha256(body["code"].encode()).digest()
        self.server.secrets[body["device"]] = secret
        self._answer(200, {"device": body["device"], "secret": secret.hex()})

    def _ingest(self, raw: bytes) -> None:
        device = self.headers.get("X-Device", "")
        secret = self.server.secrets.get(device)
        expected = hmac.new(secret or b"", raw, hashlib.sha256).hexdigest()
        if secret is None or not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
            return self._answer(401, {"error": "bad_signature", "message": "signature does not match the device secret"})
        try:
            assert self.headers["Content-Encoding"] == "gzip"
            body = json.loads(gzip.decompress(raw))
            assert body["device"] == device
        except (AssertionError, ValueError, KeyError, OSError):
            return self._answer(400, {"error": "malformed", "message": "body is not gzip JSON for this device"})
        held = self.server.held.setdefault(device, {})
        stored, duplicates, problems = [], [], []
        for event in body["events"]:
            seq = event["seq"]
            if seq in held:
                duplicates.append(seq)
                continue
            digest = journal.entry_hash(bytes.fromhex(event["prev_hash"]), seq, event["at"], event["kind"],
                                        event["ref"], journal.canonical(event["payload"]))
            if digest.hex() != event["hash"] or (seq - 1 in held and held[seq - 1]["hash"] != event["prev_hash"]):
                problems.append({"seq": seq, "problem": "chain broken"})
            elif seq > 1 and seq - 1 not in held:
                problems.append({"seq": seq, "problem": "gap before"})
            held[seq] = event
            stored.append(seq)
        if self.server.lose_answers:
            self.server.lose_answers -= 1
            self.close_connection = True  # stored, but the terminal never hears it
            return
        last = 0
        while last + 1 in held:
            last += 1
        self._answer(200, {"stored": stored, "duplicates": duplicates, "last_seq": last, "problems": problems})


@pytest.fixture
def head_office():
    server = HeadOffice()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "till.db", synchronous="NORMAL") as store:
        yield store


def add_events(store: Store, count: int) -> None:
    with store.atomic():
        for i in range(count):
            with store.event("sale", f"R{i}", f"2026-01-02T10:{i // 60 % 60:02d}:{i % 60:02d}") as event:
                event.payload = {"total": i * 100, "lines": [{"sku": "A", "qty": 1}], "name": "豆浆"}


def target(url: str, *, secret: bytes = SECRET, batch: int = 100) -> Target:
    return Target(url=url, device=DEVICE, secret=Secret(secret), batch_max_events=batch, timeout_s=5)


def clock() -> str:
    return "2026-01-02T12:00:00+00:00"


def test_a_batch_is_stored_byte_exact_and_marked(store, head_office, tmp_path):
    add_events(store, 5)
    state = SyncState(tmp_path / "state.json")
    result = drain(store, state, target(head_office.url), now=clock)
    assert (result.sent, result.batches, result.error) == (5, 1, None)
    assert sorted(head_office.held[DEVICE]) == [1, 2, 3, 4, 5]
    assert head_office.held[DEVICE][3]["payload"]["name"] == "豆浆"
    info = status(store.conn, state)
    assert (info.pending, info.sent_total, info.head_office_last_seq) == (0, 5, 5)
    assert info.last_success == {"at": clock(), "sent": 5} and info.last_error is None
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at = ?", (clock(),)) == 5
    assert store.scalar("SELECT count(*) FROM journal") == 5  # the journal is never pruned


def test_a_lost_answer_is_resent_as_duplicates_and_nothing_is_stored_twice(store, head_office, tmp_path):
    add_events(store, 7)
    state = SyncState(tmp_path / "state.json")
    head_office.lose_answers = 1
    first = drain(store, state, target(head_office.url), now=clock)
    assert isinstance(first.error, SyncUnreachable) and first.sent == 0
    assert status(store.conn, state).pending == 7  # head office has them, but the terminal cannot know
    assert len(head_office.held[DEVICE]) == 7
    add_events(store, 2)
    second = drain(store, state, target(head_office.url), now=clock)
    assert (second.sent, second.error) == (9, None)
    assert sorted(head_office.held[DEVICE]) == list(range(1, 10))
    assert status(store.conn, state).pending == 0


def test_a_bad_signature_is_rejected_with_the_server_message_and_nothing_is_marked(store, head_office, tmp_path):
    add_events(store, 3)
    state = SyncState(tmp_path / "state.json")
    result = drain(store, state, target(head_office.url, secret=b"\x01" * 32), now=clock, attempts=3)
    assert isinstance(result.error, SyncRejected) and result.error.status == 401
    assert "signature does not match" in str(result.error)
    assert head_office.requests == 1  # a rejection is not retried
    info = status(store.conn, state)
    assert info.pending == 3 and "401" in info.last_error["message"]
    assert DEVICE not in head_office.held


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_head_office_down_marks_nothing_records_the_error_and_backs_off(store, tmp_path):
    add_events(store, 4)
    state = SyncState(tmp_path / "state.json")
    pauses: list[float] = []
    result = drain(store, state, target(f"http://127.0.0.1:{free_port()}"), now=clock, attempts=3, sleep=pauses.append)
    assert isinstance(result.error, SyncUnreachable) and result.sent == 0
    assert len(pauses) == 2 and 0 <= pauses[0] <= 1 and 0 <= pauses[1] <= 2
    info = status(store.conn, state)
    assert info.pending == 4 and info.sent_total == 0 and info.last_success is None
    assert "did not answer" in info.last_error["message"]


def test_fifty_thousand_queued_events_drain_in_batches(store, head_office, tmp_path):
    add_events(store, 50_000)
    result = drain(store, SyncState(tmp_path / "state.json"), target(head_office.url, batch=5000), now=clock)
    assert (result.sent, result.batches, result.error) == (50_000, 10, None)
    assert len(head_office.held[DEVICE]) == 50_000
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


def test_a_gap_reported_by_head_office_keeps_confirmed_events_marked_and_is_recorded(store, head_office, tmp_path):
    add_events(store, 3)
    store.conn.execute("UPDATE outbox SET sent_at = 'earlier' WHERE seq = 1")  # as if sent to another head office
    state = SyncState(tmp_path / "state.json")
    result = drain(store, state, target(head_office.url), now=clock)
    assert result.sent == 2 and result.error is None
    assert "seq 2: gap before" in status(store.conn, state).last_error["message"]


def test_unsent_events_carry_the_journal_hash_chain(store):
    add_events(store, 2)
    first, second = unsent(store.conn, 10)
    assert first["prev_hash"] == "00" * 32 and second["prev_hash"] == first["hash"]
    assert unsent(store.conn, 1) == [first]


def test_enrolment_writes_a_private_secret_and_a_used_code_is_refused(head_office, tmp_path):
    path = tmp_path / "var" / "device.secret"
    enroll(head_office.url, "ENROL-1", "T02", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_secret(path) == Secret(head_office.secrets["T02"])
    with pytest.raises(SyncRejected, match="already used") as caught:
        enroll(head_office.url, "ENROL-1", "T02", tmp_path / "other.secret")
    assert caught.value.status == 403 and not (tmp_path / "other.secret").exists()


def test_a_secret_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "device.secret"
    write_secret(path, Secret(SECRET))
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_secret(path)


def test_a_non_json_answer_is_a_protocol_error(store, tmp_path):
    class Garbage(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        add_events(store, 1)
        result = drain(store, SyncState(tmp_path / "s.json"), target(f"http://127.0.0.1:{server.server_address[1]}"),
                       now=clock)
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(result.error, SyncProtocolError) and status(store.conn, SyncState(tmp_path / "s.json")).pending == 1


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


def test_the_cli_sends_now_and_reports_status(head_office, tmp_path, capsys):
    secret = tmp_path / "device.secret"
    write_secret(secret, Secret(SECRET))
    config = tmp_path / "appliance.toml"
    config.write_text(f'[sync]\nurl = "{head_office.url}"\ndevice_secret_file = "device.secret"\noutbox_alert = 2\n')
    with Store(tmp_path / "var" / "appliance.db") as store:
        add_events(store, 3)
    assert main(["--config", str(config), "sync", "status"]) == 1  # 3 unsent >= alert at 2
    assert "WARNING: 3 events wait" in capsys.readouterr().out
    assert main(["--config", str(config), "sync", "now"]) == 0
    assert "sent 3 events in 1 batches" in capsys.readouterr().out
    assert main(["--config", str(config), "sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "unsent events:  0" in out and "head office holds up to seq 3" in out
    assert sorted(head_office.held[DEVICE]) == [1, 2, 3]
