"""The daemon's figures: start to READY, idle memory, memory over many sales, scan to customer display.

Targets (issue 7): READY under 2 s, idle RSS under 60 MB, no growth over 10,000 sales,
scan-to-display p99 under 20 ms. Start-up and idle RSS are measured on `appliance run`
as systemd starts it (a child process, READY read from a notify socket); the sales and
the latency in this process, through the simulated scanner and keypad, with the time a
frame reaches the simulated customer display taken where the display driver receives it.

    python bench/daemon.py [--sales 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance import config  # noqa: E402
from appliance.cli.demo import seed_demo  # noqa: E402
from appliance.core.clock import SystemClock  # noqa: E402
from appliance.core.session import State  # noqa: E402
from appliance.core.till import Till  # noqa: E402
from appliance.daemon import Daemon  # noqa: E402
from appliance.sdnotify import Notifier  # noqa: E402
from appliance.store.db import Store  # noqa: E402

SCAN_CODES = ("6900000000014", "6900000000038", "6900000000113", "6900000000090")


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_to_ready(folder: Path, *, demo: bool) -> tuple[float, float]:
    """Seconds from exec to READY=1, and the child's RSS once idle after READY."""
    config_path = folder / "shop.toml"
    config_path.write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    notify = folder / f"notify-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(60)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify)}
    args = [str(Path(sys.executable).with_name("appliance")), "--config", str(config_path), "run"]
    started = time.perf_counter()
    child = subprocess.Popen(args + (["--demo"] if demo else []), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        while b"READY=1" not in sock.recv(4096):
            pass
        ready = time.perf_counter() - started
        time.sleep(1.0)  # idle: devices polled, nothing to do
        idle = rss_mib(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
        sock.close()
    return ready, idle


async def wait_for(condition, what: str, daemon: Daemon, seconds: float = 10.0) -> None:
    """Poll until `condition`; a stuck run says where it stuck instead of hanging."""
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no {what} within {seconds:g} s (till state {daemon.session.state.value})")
        await asyncio.sleep(0.0002)


async def sell(daemon: Daemon, sales: int, latencies: list[float], rss: dict[int, float]) -> None:
    keypad, scanner = daemon.manager.device("keypad"), daemon.manager.device("scanner")
    display = daemon.manager.device("display")
    shown: list[float] = []
    original = display.show
    display.show = lambda lines: (shown.append(time.perf_counter()), original(lines))  # where the driver gets it
    keypad.press(*"1001", "ENTER", *"1234", "ENTER")
    await wait_for(lambda: daemon.session.state is State.IDLE, "sign-in", daemon)
    done = [0]  # a count, not the results: keeping 10,000 sale documents here would be the bench's own growth
    refused: list[str] = []
    daemon.results.append(lambda result: result.ok or refused.append(result.message))
    daemon.results.append(lambda result: done.__setitem__(0, done[0] + 1) if result.document else None)
    for number in range(1, sales + 1):
        for code in SCAN_CODES[: 1 + number % 3]:
            before = len(shown)
            started = time.perf_counter()
            scanner.scan(code)
            await wait_for(lambda: len(shown) > before or refused, f"display frame for sale {number}", daemon)
            if refused:
                raise RuntimeError(f"sale {number} refused: {refused}")
            latencies.append(shown[before] - started)
        keypad.press("SUBTOTAL", "CASH")
        await wait_for(lambda: done[0] >= number or refused, f"completion of sale {number}", daemon)
        if refused:
            raise RuntimeError(f"sale {number} refused: {refused}")
        keypad.press("DONE")
        # The simulators keep everything they printed and showed (for tests); a real printer does
        # not, so their records are dropped here and the RSS figures are the daemon's own.
        for kind, record in (("printer", "output"), ("printer", "jobs"), ("display", "frames"), ("indicator", "history")):
            getattr(daemon.manager.device(kind), record).clear()
        await wait_for(lambda: daemon.session.state is State.IDLE, f"the till back to idle after sale {number}", daemon)
        if number in (1_000, sales):
            rss[number] = rss_mib()


def in_process(folder: Path, sales: int) -> tuple[list[float], dict[int, float], float]:
    (folder / "shop.toml").write_text('[paths]\ndata_dir = "data"\n[store]\nsynchronous = "FULL"\n', encoding="utf-8")
    settings = config.load(folder / "shop.toml")
    with Store(settings.database_path) as store:
        till = Till(settings, store, SystemClock())
        seed_demo(till, SystemClock().now())
        till.shifts.open(till.sign_in("1001", "1234"), 10000, at=SystemClock().now())
    daemon = Daemon(settings, notifier=Notifier({}))
    latencies: list[float] = []
    rss: dict[int, float] = {}

    async def main() -> float:
        running = asyncio.create_task(daemon.run())
        while daemon.loop is None or not daemon.manager.states["keypad"].online:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        await sell(daemon, sales, latencies, rss)
        elapsed = time.perf_counter() - started
        daemon.stop()
        await running
        return elapsed

    elapsed = asyncio.run(main())
    return latencies, rss, elapsed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="200 sales: a smoke run")
    args = parser.parse_args()
    sales = 200 if args.quick else args.sales
    print(f"daemon benchmark: simulated devices, python {platform.python_version()}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first_ready, first_rss = start_to_ready(folder, demo=True)
        warm_ready, idle_rss = start_to_ready(folder, demo=False)
        (folder / "run").mkdir()
        latencies, rss, elapsed = in_process(folder / "run", sales)
    ms = [value * 1000 for value in latencies]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    growth = rss[sales] - rss.get(1_000, rss[sales])
    rows = [
        ("start to READY, first run (demo seeding)", f"{first_ready:.2f} s", "< 2 s", f"{first_ready / 2:.2f}x target"),
        ("start to READY, warm", f"{warm_ready:.2f} s", "< 2 s", f"{warm_ready / 2:.2f}x target"),
        ("idle RSS after READY", f"{idle_rss:.1f} MiB", "< 60 MiB", f"{idle_rss / 60:.2f}x target"),
        (f"scan -> customer display p50 / p99 (n={len(ms):,})", f"{p50:.2f} / {p99:.2f} ms", "p99 < 20 ms",
         f"{p99 / 20:.2f}x target"),
        (f"sales through the keypad and scanner ({sales:,})", f"{sales / elapsed:.0f} sales/s", "", ""),
        ("RSS of this process after 1,000 / all sales",
         f"{rss.get(1_000, float('nan')):.1f} / {rss[sales]:.1f} MiB", "no growth", f"{growth:+.1f} MiB"),
        ("peak RSS of this process", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB", "", ""),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, target, ratio in rows:
        print(f"{name:<{width}}  {value:>18}  {target:>12}  {ratio}")


if __name__ == "__main__":
    main()
