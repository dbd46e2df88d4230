"""A terminal back from days offline: 50,000 queued sales drain to head office while the till keeps selling.

Target (issue 8): 50,000 queued sales drain without blocking the till. The sales are
written through the store's own business-event path (journal, outbox) with till-shaped
payloads; head office is a real `python -m hq serve` on SQLite on loopback. The daemon's
uploader (appliance/sync/upstream.py) drains on a thread and connection of its own, as
in the daemon, while this thread sells through a real Till (scan, cash, commit with
synchronous=FULL). Printed: drain time and rate, and the sale commit latency before and
during the drain (the ratio is the figure: the till must not wait for sync).

    python bench/sync_drain.py [--queued 50000] [--sales 300]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance import config  # noqa: E402
from appliance.cli.demo import seed_demo  # noqa: E402
from appliance.core.clock import SystemClock  # noqa: E402
from appliance.core.till import Till  # noqa: E402
from appliance.store.db import Store  # noqa: E402
from appliance.sync.client import enroll  # noqa: E402
from appliance.sync.upstream import Uploader  # noqa: E402
from hq.storage_sqlite import SqliteStorage  # noqa: E402

SCAN = ("6900000000014", "6900000000038")  # demo catalog: cola, water


def queue(store: Store, count: int) -> None:
    """`count` sale events as the till journals them, a thousand to a transaction (one each would take minutes)."""
    lines = [{"line_no": 1, "sku": "COLA330", "name": "可口可乐 330ml", "quantity": 2000, "amount": 700, "cost": 420}]
    done = 0
    while done < count:
        with store.atomic():
            for n in range(done, min(count, done + 1000)):
                with store.event("sale.completed", f"Q{n:07d}", "2026-11-20T10:00:00.000Z") as event:
                    event.payload = {"id": f"Q{n:07d}", "kind": "sale", "receipt_no": f"T01-Q{n:06d}",
                                     "business_day": "2026-11-20", "completed_at": "2026-11-20T10:00:00.000Z",
                                     "lines": lines, "total": 700, "tax": 81}  # fmt: skip
        done = min(count, done + 1000)


def sell(till: Till, count: int, pace_s: float = 0.0) -> list[float]:
    """Sell `count` two-item sales, one every `pace_s` at most; the commit (pay) latency of each."""
    times = []
    for _ in range(count):
        began = time.perf_counter()
        for code in SCAN:
            till.scan(code)
        paid = time.perf_counter()
        till.pay("cash")
        times.append(time.perf_counter() - paid)
        time.sleep(max(0.0, pace_s - (time.perf_counter() - began)))
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=50_000)
    parser.add_argument("--sales", type=int, default=300, help="sales timed before the drain")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    hq = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--db", str(folder / "hq.sqlite"), "--port", "0"],
                          cwd=REPO, stdout=subprocess.PIPE, text=True)  # fmt: skip
    url = hq.stdout.readline().split()[-1]
    try:
        settings = config.from_mapping({"sync": {"url": url, "device_secret_file": "device.secret"}},
                                       source="bench", base_dir=folder)  # fmt: skip
        enroll(url, SqliteStorage(folder / "hq.sqlite").new_enrollment_code("bench"), "T01", folder / "device.secret")
        store = Store(settings.database_path)
        till = Till(settings, store, SystemClock())
        seed_demo(till, till.clock.now())
        till.shifts.open(till.sign_in("1001", "1234"), 10000, at=till.clock.now())
        began = time.perf_counter()
        queue(store, args.queued)
        print(f"queued {args.queued:,} sales in {time.perf_counter() - began:.1f} s (not timed: days of selling)")
        idle = sell(till, args.sales)
        pending = store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")

        uploader = Uploader(settings)
        drained = threading.Event()
        timing: dict[str, float] = {}

        def upload() -> None:
            start = time.perf_counter()
            while store_pending(settings) > 0:
                uploader.step()
            timing["drain"] = time.perf_counter() - start
            drained.set()

        thread = threading.Thread(target=upload)
        thread.start()
        during: list[float] = []
        while not drained.is_set():  # a sale every 50 ms: far busier than any real counter
            during += sell(till, 1, pace_s=0.05)
        thread.join()
        uploader.close()
        held = SqliteStorage(folder / "hq.sqlite").status("T01")[0]
        journal = store.scalar("SELECT max(seq) FROM journal")
        rate = pending / timing["drain"]
        print(f"drain: {pending:,} queued events in {timing['drain']:.1f} s = {rate:,.0f} events/s "
              f"(batches of {settings.sync.batch_max_events}); head office holds up to seq {held:,} "
              f"of {journal:,} (the rest: sales made during the drain, sent on the next pass)")  # fmt: skip
        print(f"sale commit before the drain: p50 {p(idle, 0.5):.2f} ms, p99 {p(idle, 0.99):.2f} ms "
              f"({len(idle)} sales)")
        print(f"sale commit during the drain: p50 {p(during, 0.5):.2f} ms, p99 {p(during, 0.99):.2f} ms, "
              f"max {max(during) * 1000:.2f} ms ({len(during)} sales, one every 50 ms)")
        print(f"ratio during/before: p50 {statistics.median(during) / statistics.median(idle):.2f}x, "
              f"p99 {p(during, 0.99) / p(idle, 0.99):.2f}x (baseline: the same till, sync idle)")
        store.close()
        return 0 if held >= pending else 1
    finally:
        hq.terminate()
        hq.wait(timeout=30)


def store_pending(settings: config.Settings) -> int:
    with Store(settings.database_path) as store:
        return store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND queued_at < '2026-11-21'")


if __name__ == "__main__":
    sys.exit(main())
