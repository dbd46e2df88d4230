"""`python -m hq.local`: the till with a head office of its own beside it, what `make run` starts.

Head office runs on SQLite in `var/hq.sqlite` (127.0.0.1, port 8470 or a free one), the
demo terminal is enrolled with it on first use, and `appliance run --demo` runs in this
terminal with `[sync]` pointed at it (a config written to `var/local-hq.toml`, whose data
folder is `var/` as with the embedded default). Sales go up as the terminal makes them,
feeds come down; quitting the till stops head office. Arguments after `--` go to
`appliance run` (e.g. `-- --console off`).

For a real head office, see README.md ("Pointing a terminal at head office").
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from appliance import config
from appliance.sync.client import SyncRejected, enroll
from hq.storage_sqlite import SqliteStorage

PORT = 8470
STORE = "demo-shop"


def _config(folder: Path, url: str, api_port: int) -> Path:
    path = folder / "local-hq.toml"
    path.write_text(f'# Written by python -m hq.local on each start.\n[paths]\ndata_dir = "."\n\n'
                    f'[sync]\nurl = "{url}"\ndevice_secret_file = "device.secret"\nbatch_max_age_s = 5\n'
                    f"pull_every_s = 10\n\n[api]\nport = {api_port}\n", encoding="utf-8")  # fmt: skip
    return path


def _serve(folder: Path) -> tuple[subprocess.Popen, str]:
    """hq serve on port 8470, or on a free port when 8470 is taken; its URL once it answers."""
    log = open(folder / "hq.log", "a", encoding="utf-8")
    for port in (PORT, 0):
        proc = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--db", str(folder / "hq.sqlite"),
                                 "--port", str(port)], stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
        line = proc.stdout.readline() if proc.stdout else ""
        if line.startswith("hq listening on "):
            return proc, line.split()[-1]
        proc.wait()
    raise SystemExit(f"head office did not start: see {folder / 'hq.log'}")


def _enrolled(folder: Path, settings: config.Settings, url: str) -> None:
    """Enrol the terminal unless head office already knows it and the terminal has its secret."""
    storage = SqliteStorage(folder / "hq.sqlite")
    secret_file = settings.resolve(settings.sync.device_secret_file)
    device = settings.device.id
    if storage.secret_of(device) is not None and secret_file.exists():
        return
    try:
        enroll(url, storage.new_enrollment_code(STORE), device, secret_file)
    except SyncRejected:  # known to head office but the terminal lost its secret: start it afresh
        storage.revoke(device)
        enroll(url, storage.new_enrollment_code(STORE), device, secret_file)
    print(f"terminal {device} enrolled with the local head office ({url}, store {STORE})")


class _Stop(Exception):
    """SIGTERM (a supervisor, a test) at any moment: stop the till cleanly, then head office."""


def _raise_stop(*_: object) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hq.local", description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("var"), help="data folder of both (default ./var)")
    parser.add_argument("--api-port", type=int, default=8080, help="the till's local API port (default 8080)")
    parser.add_argument("run_args", nargs=argparse.REMAINDER, help="after --: arguments for `appliance run`")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_stop)  # before anything starts: no child is ever left behind
    hq = till = None
    try:
        hq, url = _serve(folder)
        print(f"head office: {url} ({folder / 'hq.sqlite'}, log {folder / 'hq.log'})", flush=True)
        config_path = _config(folder, url, args.api_port)
        _enrolled(folder, config.load(config_path), url)
        run_args = [a for a in args.run_args if a != "--"]
        till = subprocess.Popen([sys.executable, "-m", "appliance", "--config", str(config_path), "run", "--demo",
                                 *run_args])  # fmt: skip
        return till.wait()
    except (_Stop, KeyboardInterrupt):  # Ctrl-C reaches the till too; SIGTERM is passed on
        if till is None:
            return 0
        till.terminate()
        return till.wait()
    finally:
        if hq is not None:
            hq.terminate()
            hq.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
