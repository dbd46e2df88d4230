"""Head office for the tests: a real hq server on a free port over SQLite or a real PostgreSQL.

A pytest plugin (tests/conftest.py loads it): `hq_db` is a fresh database of each kind
(tests using it run twice), `pg_cluster` one PostgreSQL cluster for the whole session,
started from Debian's binaries by hq/pg_cluster.py.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.store import journal
from hq import ingest
from hq.databases import open_storage
from hq.pg_cluster import Cluster
from hq.server import start

GENESIS = "00" * 32
REPORT_TOKEN = "test-report-token-0123456789"
_databases = itertools.count(1)


class Server:
    """hq on 127.0.0.1:<free port> in a thread of its own, over the database `db` names."""

    def __init__(self, db: str | Path, *, report_token: str = REPORT_TOKEN):
        self.db = str(db)
        self.storage = open_storage(self.db)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.runner, self.port = self.loop.run_until_complete(
                start(self.storage, "127.0.0.1", 0, report_token=report_token))
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        close = getattr(self.storage, "close", None)
        if close:
            close()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def enroll(self, device: str = "till-1", code: str | None = None) -> tuple[int, Any]:
        code = code or self.storage.new_enrollment_code()
        return self.request("POST", "/v1/enroll", json.dumps({"code": code, "device": device}).encode())

    def send(self, device: str, secret: bytes, body: bytes, *, signature: str | None = None,
             encoding: str = "gzip") -> tuple[int, Any]:  # fmt: skip
        headers = {"X-Device": device, "X-Signature": ingest.sign(secret, body) if signature is None else signature,
                   "Content-Encoding": encoding, "Content-Type": "application/json"}  # fmt: skip
        return self.request("POST", "/v1/ingest", body, headers)

    def status(self, device: str) -> tuple[int, Any]:
        return self.request("GET", f"/v1/devices/{device}/status")

    def held(self, device: str) -> list[int]:
        """The seqs head office holds for `device`, read from its database."""
        return [seq for (seq,) in self.storage.query("SELECT seq FROM events WHERE device = ? ORDER BY seq", (device,))]


def chain(first: int, last: int, prev: str = GENESIS, kind: str = "sale") -> list[dict[str, Any]]:
    """Events first..last, each linked to the one before, hashed as the terminal's journal hashes them."""
    events = []
    for seq in range(first, last + 1):
        at, payload = "2026-01-02T10:00:00+00:00", {"total": 100 * seq}
        digest = journal.entry_hash(bytes.fromhex(prev), seq, at, kind, f"R{seq}", journal.canonical(payload)).hex()
        events.append({"seq": seq, "at": at, "kind": kind, "ref": f"R{seq}", "payload": payload,
                       "prev_hash": prev, "hash": digest})  # fmt: skip
        prev = digest
    return events


def body(device: str, events: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"device": device, "events": events}).encode())


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture(params=["sqlite", "postgres"])
def hq_db(request, tmp_path) -> str:
    """A fresh, empty head office database of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "hq.sqlite")
    return request.getfixturevalue("pg_cluster").new_database(f"hq_test_{next(_databases)}")


@pytest.fixture
def hq(hq_db) -> Iterator[Server]:
    server = Server(hq_db)
    yield server
    server.stop()
