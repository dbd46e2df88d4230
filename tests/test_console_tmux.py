"""`appliance run` with its console in a real terminal (tmux): open a shift, sell by keys alone, quit.

The console tests drive the app with textual's pilot; this one runs what `make run` runs,
the daemon and the console on one loop in a terminal, and reads the screen back.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

SESSION = "appliance-console-test"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen_shows(text: str, seconds: float = 15.0) -> str:
    deadline = time.monotonic() + seconds
    shown = ""
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", SESSION)
        if text in shown:
            return shown
        time.sleep(0.1)
    pytest.fail(f"the console never showed {text!r}; the screen:\n{shown}")


def keys(*pressed: str) -> None:
    for key in pressed:
        tmux("send-keys", "-t", SESSION, key)
        time.sleep(0.05)


def test_a_shift_and_a_sale_by_keys_in_a_real_terminal(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: `make test-system` installs it")
    config = tmp_path / "shop.toml"
    config.write_text('[paths]\ndata_dir = "data"\n[api]\nenabled = false\n', encoding="utf-8")
    program = Path(sys.executable).with_name("appliance")
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30",
         f"{program} --config {config} run --demo --console on --lang en")
    try:
        screen_shows("sign in: operator code")  # the signed-out screen says what to do
        keys(*"1001", "Enter", *"1234", "Enter")
        screen_shows("Operator:")
        keys("/", "4", "Enter")
        screen_shows("Opening float")
        keys(*"500", "Enter")
        keys(*"6900000000113", "Enter")  # the rice's barcode typed on the keys
        screen_shows("39.90")
        keys("+", *"50", "c")  # SUBTOTAL, 50 CASH
        screen_shows("change 10.10")
        keys("C-q")
        deadline = time.monotonic() + 15
        while SESSION in tmux("ls") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        tmux("kill-session", "-t", SESSION)
    with sqlite3.connect(tmp_path / "data" / "appliance.db") as conn:
        assert conn.execute("SELECT count(*), sum(total) FROM sales WHERE kind = 'sale'").fetchone() == (1, 3990)
    assert "signed in" in (tmp_path / "data" / "appliance.log").read_text()  # the log went to a file, not the screen
