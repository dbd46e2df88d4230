"""`python -m hq.local` (what `make run` starts): the till and a head office beside it, sales going up."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute(sql).fetchone()
            return (row[0] or 0) if row else 0
    except sqlite3.Error:  # not created yet
        return -1


def test_the_demo_till_sends_its_journal_to_the_local_head_office_and_both_stop_together(tmp_path):
    folder = tmp_path / "var"
    proc = subprocess.Popen([sys.executable, "-m", "hq.local", "--folder", str(folder), "--api-port", str(free_port()),
                             "--", "--console", "off"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            journal = _count(folder / "appliance.db", "SELECT max(seq) FROM journal")
            held = _count(folder / "hq.sqlite", "SELECT last_seq FROM devices WHERE id = 'T01'")
            if journal > 0 and held == journal:
                break
            time.sleep(0.2)
        assert journal > 0 and held == journal, f"head office holds {held} of {journal}"
        assert (folder / "device.secret").stat().st_mode & 0o777 == 0o600
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "enrolled with the local head office" in out
    url = next(line.split()[2] for line in out.splitlines() if line.startswith("head office: "))
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:  # head office stopped with the till
        assert probe.connect_ex((host, int(port))) != 0
