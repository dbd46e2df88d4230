"""`appliance run` as systemd runs it: a real process, READY=1 on the notify socket, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.test_cli import write_config


def test_run_says_ready_and_stops_cleanly_on_sigterm(tmp_path):
    config = write_config(tmp_path / "etc")
    notify = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "2000000"}
    env.pop("PCSCLITE_CSOCK_NAME", None)
    program = Path(sys.executable).with_name("appliance")
    child = subprocess.Popen([str(program), "--config", str(config), "run", "--demo"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while "READY=1" not in said and time.monotonic() < deadline:
            said += sock.recv(4096).decode().splitlines()
        assert "READY=1" in said
        assert any(line.startswith("STATUS=selling") for line in said)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        sock.settimeout(1)
    while True:
        try:
            said += sock.recv(4096).decode().splitlines()
        except (TimeoutError, socket.timeout):
            break
    assert child.returncode == 0, err[-2000:]
    assert "STOPPING=1" in said
    assert "Seeded the demo catalog" in out
    assert (tmp_path / "etc" / "data" / "appliance.db").exists()
