"""Head office ingest: N simulated terminals each syncing S sales at once into PostgreSQL on loopback.

Target (issue 8): at least 5,000 sales/s on this machine, every sale held exactly once,
zero loss, with 200 terminals x 1,000 sales. Each terminal's journal is built as the till
builds it (canonical JSON, SHA-256 chain) and its batches zipped and signed with the sync
client's own code before the clock starts: on a real chain that work happens on 200
separate terminals. During the run each terminal posts its batches one after the other
(the next only when the previous is answered, as the uploader does) over HTTP to
`python -m hq serve` processes sharing a durable PostgreSQL (fsync on) started from
Debian's binaries. Afterwards the database itself is asked: every (device, seq) once,
every chain whole, every sale derived once.

    python bench/sync.py [--terminals 200] [--sales 1000] [--batch 500] [--workers 2] [--sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.native.secret import Secret  # noqa: E402
from appliance.store import journal  # noqa: E402
from appliance.sync.client import Prepared, post_batch, prepare_batch  # noqa: E402
from hq.databases import open_storage  # noqa: E402
from hq.pg_cluster import Cluster  # noqa: E402

TARGET_SALES_PER_S = 5000
GENESIS = bytes(32)
CATALOG = [(f"SKU{n:04d}", name, price) for n, (name, price) in enumerate(
    [("可口可乐 330ml", 350), ("雪碧 330ml", 350), ("农夫山泉 550ml", 200), ("全麦吐司 400g", 990),
     ("绿箭口香糖", 250), ("东北大米 5kg", 4990), ("鲜牛奶 1L", 1280), ("鸡蛋 10枚", 1590),
     ("方便面 五连包", 1450), ("苹果 (kg)", 1290), ("香蕉 (kg)", 690), ("洗洁精 1.5kg", 1990)] * 4)]  # fmt: skip


def sale(device: str, n: int, rng: random.Random) -> dict:
    """A sale document shaped like the till's `sale.completed` payload."""
    lines, total = [], 0
    for line_no in range(1, rng.randint(1, 6) + 1):
        sku, name, price = rng.choice(CATALOG)
        quantity = rng.randint(1, 3) * 1000
        amount = price * quantity // 1000
        total += amount
        lines.append({"line_no": line_no, "sku": sku, "name": name, "quantity": quantity, "unit_price": price,
                      "amount": amount, "cost": amount * 7 // 10, "discount": 0, "tax_rate": 1300,
                      "tax": amount * 13 // 113})  # fmt: skip
    day = f"2026-11-{1 + n % 28:02d}"
    return {"id": f"{device}-{n:07d}", "kind": "sale", "device": device, "receipt_no": f"{device}-{n:06d}",
            "business_day": day, "completed_at": f"{day}T10:00:00.000Z", "operator": "1001", "lines": lines,
            "subtotal": total, "discount": 0, "total": total, "tax": total * 13 // 113, "rounding": 0,
            "payments": [{"kind": "cash", "amount": total, "seq": 1}], "member_id": None}  # fmt: skip


def terminal_batches(device: str, secret_hex: str, sales: int, batch: int) -> list[Prepared]:
    """The terminal's journal of `sales` sales, hash-chained, cut into signed gzip batches."""
    rng, prev, events = random.Random(device), GENESIS, []
    for seq in range(1, sales + 1):
        payload = sale(device, seq, rng)
        at = "2026-11-23T10:00:00.000Z"
        digest = journal.entry_hash(prev, seq, at, "sale.completed", payload["id"], journal.canonical(payload))
        events.append({"seq": seq, "at": at, "kind": "sale.completed", "ref": payload["id"], "payload": payload,
                       "prev_hash": prev.hex(), "hash": digest.hex()})  # fmt: skip
        prev = digest
    secret = Secret(bytes.fromhex(secret_hex))
    return [prepare_batch(device, secret, events[i:i + batch]) for i in range(0, len(events), batch)]


def start_servers(db: str, workers: int) -> tuple[list[subprocess.Popen], list[str]]:
    procs, urls = [], []
    for _ in range(workers):
        proc = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--db", db, "--port", "0"], cwd=REPO,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        urls.append(proc.stdout.readline().split()[-1])
        procs.append(proc)
    return procs, urls


def enroll(url: str, storage, devices: list[str]) -> dict[str, str]:
    secrets = {}
    for device in devices:
        body = json.dumps({"code": storage.new_enrollment_code(f"store-{int(device[1:]) % 20:02d}"),
                           "device": device}).encode()  # fmt: skip
        with urllib.request.urlopen(urllib.request.Request(url + "/v1/enroll", data=body, method="POST")) as answer:
            secrets[device] = json.loads(answer.read())["secret"]
    return secrets


def run(args: argparse.Namespace) -> int:
    cluster = None
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    if args.sqlite:
        db = str(tmp / "hq.sqlite")
    else:
        cluster = Cluster(durable=True)
        cluster.start()
        db = cluster.new_database("hq_bench")
    storage = open_storage(db)
    procs, urls = start_servers(db, args.workers)
    try:
        devices = [f"T{n:05d}" for n in range(args.terminals)]
        secrets = enroll(urls[0], storage, devices)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
            prepared = dict(zip(devices, pool.map(terminal_batches, devices, [secrets[d] for d in devices],
                                                  [args.sales] * len(devices), [args.batch] * len(devices))))
        build_s = time.perf_counter() - t0
        total = args.terminals * args.sales
        body_bytes = sum(len(p.body) for batches in prepared.values() for p in batches)
        print(f"built {total:,} sales in {sum(map(len, prepared.values())):,} signed gzip batches "
              f"({body_bytes / 1e6:.1f} MB) in {build_s:.1f} s (not timed: the terminals' own work)")

        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        start_gate = threading.Barrier(args.terminals)

        def terminal(index: int) -> None:
            device, url = devices[index], urls[index % len(urls)]
            start_gate.wait()
            for batch in prepared[device]:
                began = time.perf_counter()
                try:
                    post_batch(url, batch, timeout=120)
                except Exception as exc:  # a failure is a finding to print, not a crash of the bench
                    with lock:
                        failures.append(f"{device}: {exc}")
                    return
                with lock:
                    latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        with ThreadPoolExecutor(args.terminals) as pool:
            list(pool.map(terminal, range(args.terminals)))
        wall = time.perf_counter() - began

        held = storage.query("SELECT count(*), count(DISTINCT device), max(seq) FROM events")[0]
        distinct = storage.query("SELECT count(*) FROM (SELECT DISTINCT device, seq FROM events) d")[0][0]
        complete = storage.query("SELECT count(*) FROM devices WHERE last_seq = ?", (args.sales,))[0][0]
        problems = storage.query("SELECT count(*) FROM chain_problems")[0][0]
        derived = storage.query("SELECT count(*), count(DISTINCT sale_id) FROM sales")[0]
        rate = total / wall
        lat = sorted(latencies)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"storage {'SQLite' if args.sqlite else 'PostgreSQL (fsync on)'}, {args.workers} hq worker(s)")
        print(f"terminals {args.terminals}, sales each {args.sales}, batch {args.batch} events")
        print(f"ingest: {total:,} sales in {wall:.2f} s = {rate:,.0f} sales/s "
              f"({rate / TARGET_SALES_PER_S:.2f}x the {TARGET_SALES_PER_S:,}/s target)")
        print(f"batch latency: p50 {statistics.median(lat) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {lat[-1] * 1000:.0f} ms over {len(lat)} batches" if lat else "no batch answered")
        exactly_once = (held[0] == distinct == total and held[1] == args.terminals and complete == args.terminals
                        and problems == 0 and derived == (total, total) and not failures)  # fmt: skip
        print(f"held: {held[0]:,} events ({distinct:,} distinct), {complete} of {args.terminals} devices complete, "
              f"{problems} chain problems, {derived[0]:,} sales derived; failures: {len(failures)}")
        for failure in failures[:5]:
            print("  ", failure)
        print("exactly once, zero loss:", "YES" if exactly_once else "NO")
        return 0 if exactly_once else 1
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        getattr(storage, "close", lambda: None)()
        if cluster is not None:
            cluster.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--sales", type=int, default=1000, help="sales per terminal")
    parser.add_argument("--batch", type=int, default=500, help="events per request (the terminal's default)")
    parser.add_argument("--workers", type=int, default=2, help="hq serve processes sharing the database")
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite storage instead")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
