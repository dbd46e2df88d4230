"""Till benchmark on a large catalog: start-up, scan, sale commit, X/Z report and memory against the issue's targets.

Run: .venv/bin/python bench/sale.py [--products N] [--sales N] [--quick] [--cache DIR]

The catalog database is built once per (product count, schema version) under the cache
folder and copied for each run, so a second run skips the build. Every sale is a real
document committed through Till.pay, on the same filesystem as the cache (never tmpfs),
so synchronous=FULL pays for its fsyncs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, without installing

from appliance import config  # noqa: E402
from appliance.core.clock import SystemClock, iso  # noqa: E402
from appliance.core.operators import Operators  # noqa: E402
from appliance.core.till import Till  # noqa: E402
from appliance.store.db import Store  # noqa: E402
from appliance.store.migrations import latest_version  # noqa: E402

SMALL = 1_000  # the catalog start-up is compared with
MANAGER, CASHIER = ("9001", "9999"), ("1001", "1234")
BASELINE = [
    "known peers: minutes to open a till with 300,000 products;",
    "             up to an hour to close a day of 1,000 orders.",
]

# Runs in a fresh interpreter: open the store and build the till (then say so), then look up barcodes.
STARTUP_CHILD = """
import json, resource, sys, time
start = time.perf_counter_ns()
from pathlib import Path
from appliance import config
from appliance.core.clock import SystemClock
from appliance.core.till import Till
from appliance.store.db import Store
imported = time.perf_counter_ns()
path = Path(sys.argv[1])
store = Store(path)
till = Till(config.from_mapping({}, source="bench", base_dir=path.parent), store, SystemClock())
ready = time.perf_counter_ns()
print(json.dumps({"imports_ns": imported - start, "open_ns": ready - imported}), flush=True)
for code in sys.stdin.read().split():
    till.catalog.resolve(code)
# Linux carries ru_maxrss over exec from the parent; VmHWM is this program's own peak.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
rss_kib = int(status["VmHWM"].split()[0]) if "VmHWM" in status else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rss_kib": rss_kib}))
"""


def gtin13(n: int) -> str:
    """A valid EAN-13 for product n, in the 69 prefix (never an in-store 20-29 label)."""
    body = f"69{n:010d}"
    total = sum(map(int, body[::2])) + 3 * sum(map(int, body[1::2]))  # GS1 weights 1,3,1,3... from the left
    return body + str(-total % 10)


def product_row(i: int, classes: list[str], at: str) -> tuple:
    """Product i: prices 1.00-99.99, cost 60% of price, one in ten outside the first tax class."""
    price = 100 + i * 7919 % 9900
    tax_class = classes[0] if i % 10 else classes[i // 10 % len(classes)]
    return f"P{i:07d}", f"商品 {i}", f"Product {i}", price, price * 6 // 10, tax_class, f"cat{i % 500:03d}", at


def build_catalog(path: Path, count: int) -> float:
    """Write `count` products with one barcode each in one journaled transaction; returns seconds."""
    settings = config.from_mapping({}, source="bench", base_dir=path.parent)
    classes = list(settings.tax.classes)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
    start = time.perf_counter_ns()
    with Store(tmp, synchronous="NORMAL") as store:
        store.conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes being built stay in memory
        at = iso(SystemClock().now())
        with store.event("catalog.imported", ref=f"bench-{count}", at=at) as event:
            event.conn.executemany(
                "INSERT INTO products (sku, name, name_en, unit, price, cost, tax_class, category, updated_at) "
                "VALUES (?, ?, ?, 'piece', ?, ?, ?, ?, ?)",
                (product_row(i, classes, at) for i in range(count)),
            )
            event.conn.executemany(
                "INSERT INTO barcodes (code, sku) VALUES (?, ?)", ((gtin13(i), f"P{i:07d}") for i in range(count))
            )
            event.payload = {"source": "bench/sale.py", "products": count}
        operators = Operators(store, attempts=5, lockout_minutes=15)
        now = SystemClock().now()
        manager = operators.add(MANAGER[0], "Manager", "manager", MANAGER[1], at=now, by=None)
        operators.add(CASHIER[0], "Cashier", "cashier", CASHIER[1], at=now, by=manager)
    seconds = (time.perf_counter_ns() - start) / 1e9
    os.replace(tmp, path)  # build-then-rename: a half-built catalog is never reused
    return seconds


def catalog(cache: Path, count: int) -> tuple[Path, float, bool]:
    """The cached catalog database for `count` products: (path, build seconds, built now)."""
    path = cache / f"catalog-{count}-v{latest_version()}.db"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())["build_s"], False
    cache.mkdir(parents=True, exist_ok=True)
    # In a child process, so the build's memory does not count in this process's peak RSS.
    subprocess.run([sys.executable, __file__, "--build", str(count), "--cache", str(cache)], check=True)
    return path, json.loads(meta.read_text())["build_s"], True


def noise_floor(folder: Path) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """What the machine itself allows: p50/p99/max (us) of a 16 KiB write+fsync, and of sum(range(1000))."""
    fsyncs, loops = [], []
    probe = folder / "fsync.probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = os.urandom(16384)
        for i in range(1000):
            os.pwrite(fd, block, i % 64 * 16384)
            t0 = time.perf_counter_ns()
            os.fsync(fd)
            fsyncs.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
        probe.unlink()
    for _ in range(20_000):
        t0 = time.perf_counter_ns()
        sum(range(1000))
        loops.append(time.perf_counter_ns() - t0)
    return percentiles(fsyncs), percentiles(loops)


def evict(path: Path) -> None:
    """Drop the file's pages from the OS page cache, so the next open reads from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def startup(path: Path, count: int, cold: bool, lookups: int = 2000) -> dict[str, float]:
    """Open store + Till in a fresh process; `ready_ns` runs from spawn to the till being ready.

    After that the child resolves `lookups` random barcodes, so its peak RSS shows whether
    using the catalog pulls it into memory.
    """
    if cold:
        evict(path)
    rng = random.Random(count)
    codes = "\n".join(gtin13(rng.randrange(count)) for _ in range(lookups))
    began = time.perf_counter_ns()
    child = subprocess.Popen(
        [sys.executable, "-c", STARTUP_CHILD, str(path)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    result = json.loads(child.stdout.readline())
    result["ready_ns"] = time.perf_counter_ns() - began
    out, _ = child.communicate(codes)
    if child.returncode != 0:
        raise RuntimeError(f"the start-up child failed with exit status {child.returncode}")
    result.update(json.loads(out))
    return result


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    """p50, p99, max in microseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) / 1e3, p99 / 1e3, ordered[-1] / 1e3


def sell(db: Path, count: int, sales: int, synchronous: str, seed: int, close: bool, idle: bool = False) -> dict:
    """Ring up `sales` baskets of 1-20 random items through Till and pay cash; optionally run X and Z.

    `idle`: the store runs with checkpoint="idle" and checkpoints between sales, as the
    daemon does between customers (the checkpoint is timed apart from the commit).
    """
    settings = config.from_mapping({}, source="bench", base_dir=db.parent)
    rng = random.Random(seed)
    with Store(db, synchronous=synchronous, checkpoint="idle" if idle else "auto") as store:
        clock = SystemClock()
        till = Till(settings, store, clock)
        cashier = till.sign_in(*CASHIER)
        till.shifts.open(cashier, 10000, at=clock.now())
        scans: list[int] = []
        commits: list[int] = []
        checkpoints: list[int] = []
        began = time.perf_counter_ns()
        for _ in range(sales):
            for _ in range(rng.randint(1, 20)):
                code = gtin13(rng.randrange(count))
                t0 = time.perf_counter_ns()
                till.scan(code)
                scans.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            doc = till.pay("cash")
            commits.append(time.perf_counter_ns() - t0)
            assert doc is not None and doc["receipt_no"]
            if idle:
                t0 = time.perf_counter_ns()
                store.checkpoint()
                checkpoints.append(time.perf_counter_ns() - t0)
        wall = time.perf_counter_ns() - began
        result = {"scans": scans, "commits": commits, "checkpoints": checkpoints, "wall_ns": wall}
        if close:
            manager = till.approve(*MANAGER)
            t0 = time.perf_counter_ns()
            x = till.shifts.x_report(cashier, at=clock.now())
            result["x_ns"] = time.perf_counter_ns() - t0
            t0 = time.perf_counter_ns()
            z = till.shifts.close(manager, x.expected_cash, at=clock.now())
            result["z_ns"] = time.perf_counter_ns() - t0
            assert z.counts["sale"] == sales, z.counts
    return result


def copy(source: Path, work: Path, name: str) -> Path:
    target = work / name
    shutil.copyfile(source, target)
    return target


def row(label: str, value: str, target: str = "", ok: bool | None = None) -> str:
    """One line of the summary table; `ok` None means the figure has no target."""
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"{label:<40} {value:>24}   {target:<9} {verdict}".rstrip()


def print_startup(starts: dict[int, tuple[dict, dict]]) -> None:
    print("start-up in a fresh process (first open: the database file evicted from the OS page cache)")
    print(f"  {'products':>10} {'open+Till first':>16} {'open+Till warm':>15} {'spawn->ready first':>19} "
          f"{'spawn->ready warm':>18} {'peak RSS':>10}")
    for count, (cold, warm) in starts.items():
        print(f"  {count:>10,} {cold['open_ns'] / 1e6:>13.1f} ms {warm['open_ns'] / 1e6:>12.1f} ms "
              f"{cold['ready_ns'] / 1e6:>16.0f} ms {warm['ready_ns'] / 1e6:>15.0f} ms "
              f"{warm['rss_kib'] / 1024:>6.1f} MiB")
    print("  (spawn->ready = interpreter start + imports + open + Till, warm = median of 5; "
          "peak RSS (VmHWM) after 2,000 random barcode lookups)\n")


def print_figures(
    build: str, starts: dict[int, tuple[dict, dict]], full: dict, normal: dict, idle: dict, floor: tuple
) -> None:
    """The summary table: each figure against the issue's target."""
    sales = len(full["commits"])
    cold, warm = starts[max(starts)]
    scan50, scan99, scanmax = percentiles(full["scans"])
    c50, c99, cmax = percentiles(full["commits"])
    n50, n99, nmax = percentiles(normal["commits"])
    (f50, f99, fmax), (l50, l99, lmax) = floor
    print(row("figure", "measured", "target"))
    print(row("catalog build (executemany, 1 txn)", build))
    print(row("start-up, first open", f"{cold['ready_ns'] / 1e6:.0f} ms", "< 1 s", cold["ready_ns"] < 1e9))
    print(row("start-up, warm", f"{warm['ready_ns'] / 1e6:.0f} ms", "< 1 s", warm["ready_ns"] < 1e9))
    print(row(f"scan -> line added p50 (n={len(full['scans']):,})", f"{scan50:.0f} us"))
    print(row("scan -> line added p99", f"{scan99:.0f} us", "< 1 ms", scan99 < 1000))
    print(row("scan -> line added max", f"{scanmax:.0f} us"))
    print(row("sale commit FULL p50", f"{c50 / 1e3:.2f} ms"))
    print(row("sale commit FULL p99", f"{c99 / 1e3:.2f} ms", "< 10 ms", c99 < 10_000))
    print(row("sale commit FULL max", f"{cmax / 1e3:.2f} ms"))
    print(row("sale commit NORMAL p50/p99/max", f"{n50 / 1e3:.2f}/{n99 / 1e3:.2f}/{nmax / 1e3:.2f} ms"))
    i50, i99, imax = percentiles(idle["commits"])
    k50, k99, kmax = percentiles(idle["checkpoints"])
    print(row("sale commit FULL, idle checkpoints p50", f"{i50 / 1e3:.2f} ms"))
    print(row("sale commit FULL, idle checkpoints p99", f"{i99 / 1e3:.2f} ms", "< 10 ms", i99 < 10_000))
    print(row("sale commit FULL, idle checkpoints max", f"{imax / 1e3:.2f} ms"))
    print(row("  checkpoint between sales p50/p99/max", f"{k50 / 1e3:.2f}/{k99 / 1e3:.2f}/{kmax / 1e3:.2f} ms"))
    for mode, run in (("FULL", full), ("NORMAL", normal)):
        per_s, commit_s = sales / (run["wall_ns"] / 1e9), sales / (sum(run["commits"]) / 1e9)
        print(row(f"sales/s {mode}", f"{per_s:,.0f} (commits {commit_s:,.0f}/s)"))
    print(row(f"X report, {sales:,} sales", f"{full['x_ns'] / 1e6:.1f} ms", "< 500 ms", full["x_ns"] < 5e8))
    print(row(f"Z report (close), {sales:,} sales", f"{full['z_ns'] / 1e6:.1f} ms", "< 500 ms", full["z_ns"] < 5e8))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(row("peak RSS, this process", f"{rss:.0f} MiB"))
    small = starts[min(starts)][1]["rss_kib"] / 1024
    print(row("peak RSS, start-up child", f"{warm['rss_kib'] / 1024:.0f} MiB ({small:.0f} at {min(starts):,})"))
    print(row("machine: 16 KiB write+fsync p50/p99/max", f"{f50 / 1e3:.2f}/{f99 / 1e3:.2f}/{fmax / 1e3:.2f} ms"))
    print(row("machine: fixed Python loop p50/p99/max", f"{l50:.0f}/{l99:.0f}/{lmax:.0f} us"))
    print()
    print("\n".join(BASELINE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="50,000 products, 1,000 sales (a smoke run)")
    parser.add_argument("--cache", type=Path, default=REPO / "bench" / ".cache")
    parser.add_argument("--build", type=int, metavar="N", help="only build the cached catalog of N products")
    args = parser.parse_args(argv)
    if args.build:
        path = args.cache / f"catalog-{args.build}-v{latest_version()}.db"
        path.with_suffix(".json").write_text(json.dumps({"build_s": build_catalog(path, args.build)}))
        return 0
    products, sales = (50_000, 1_000) if args.quick else (args.products, args.sales)

    big, build_s, built = catalog(args.cache, products)
    small, _, _ = catalog(args.cache, SMALL)
    work = args.cache / f"run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"till benchmark: {products:,} products, {sales:,} sales")
        print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}, "
              f"{os.cpu_count()} cpus, work folder {work}")
        print(f"database {big.stat().st_size / 2**20:,.0f} MiB for {products:,} products\n")
        starts = {}
        for path, count in ((small, SMALL), (big, products)):
            cold = startup(path, count, cold=True)
            warm = sorted((startup(path, count, cold=False) for _ in range(5)), key=lambda r: r["ready_ns"])[2]
            starts[count] = (cold, warm)
        print_startup(starts)
        full = sell(copy(big, work, "full.db"), products, sales, "FULL", seed=1, close=True)
        normal = sell(copy(big, work, "normal.db"), products, sales, "NORMAL", seed=1, close=False)
        idle = sell(copy(big, work, "idle.db"), products, sales, "FULL", seed=1, close=False, idle=True)
        build = f"{build_s:.1f} s ({'built now' if built else 'cached'})"
        print_figures(build, starts, full, normal, idle, noise_floor(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
