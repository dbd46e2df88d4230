"""A till process killed (SIGKILL) at random moments never loses a reported sale nor leaves half of one.

SIGKILL stops the process between any two instructions, including inside a commit or a
WAL checkpoint; what the OS already received survives, so this checks the one-transaction
rule of `Store.event` (rows + journal + outbox + receipt counter). Surviving a power cut
additionally needs `synchronous=FULL`, which a process kill cannot exercise.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.core.clock import SystemClock
from appliance.core.till import Till
from appliance.store import integrity, journal
from appliance.store.db import Store
from tests.conftest import BREAD, CASHIER, CHIPS, COLA, GUM, MILK, RICE, SPRITE, WATER, make_settings, seed

SEED = int(os.environ.get("CRASH_SEED", "20261124"))
ROUNDS = 25
REPO = Path(__file__).resolve().parent.parent
BARCODES = (COLA, SPRITE, WATER, MILK, BREAD, RICE, CHIPS, GUM)

# The child: sign in, then sell forever; one "receipt_no sale_id" line per committed sale.
# It builds the same settings as conftest.make_settings without importing pytest (faster start).
CHILD = """
import random, sys
from pathlib import Path
from appliance import config
from appliance.core.clock import SystemClock
from appliance.core.till import Till
from appliance.store.db import Store

folder, seed, code, pin, *barcodes = sys.argv[1:]
settings = config.from_mapping({}, source="test.toml", base_dir=Path(folder))
rng = random.Random(int(seed))
till = Till(settings, Store(settings.database_path), SystemClock())
till.sign_in(code, pin)
print("ready", flush=True)
while True:
    for _ in range(rng.randint(1, 6)):
        till.scan(rng.choice(barcodes))
    doc = till.pay("cash")
    print(doc["receipt_no"], doc["id"], flush=True)
"""


def _seed_database(tmp_path: Path) -> Path:
    """The demo catalog, the staff, and a shift open on terminal T01."""
    settings = make_settings(tmp_path)
    with Store(settings.database_path) as store:
        till = Till(settings, store, SystemClock())
        seed(till)
        till.shifts.open(till.sign_in(*CASHIER), 10000, at=till.clock.now())
    return settings.database_path


def _run_and_kill(tmp_path: Path, rng: random.Random, where: str) -> list[tuple[str, str]]:
    """Start a selling child, SIGKILL it at a random moment; returns the sales it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(rng.randrange(2**32)), *CASHIER, *BARCODES],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = child.stdout.readline()
        assert first == "ready\n", f"{where}: the child did not start: {first!r} {child.stderr.read()}"
        lines = []
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0.05, 0.5))  # lands anywhere: scanning, inside a commit, a checkpoint
        else:
            for _ in range(rng.randint(1, 40)):  # right after a commit returned: the next one is under way
                line = child.stdout.readline()
                if not line:
                    break
                lines.append(line)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        lines += child.stdout.readlines()  # everything the child flushed before it died
        errors = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"{where}: the child stopped on its own: {errors}"
    # A line cut short by the kill has no newline: that sale may or may not have committed.
    return [tuple(line.split()) for line in lines if line.endswith("\n")]


def _check_database(path: Path, reported: list[tuple[str, str]], where: str) -> list[str]:
    """Every invariant after a crash; returns the receipt numbers in the database, in journal order."""
    with Store(path) as store:
        conn = store.conn
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"], where
        # check() walks the chain with journal.verify (the slow part); its report says how far it verified.
        report = integrity.check(conn)
        assert report.problems == [], f"{where}: {report.problems}"
        head = journal.head(conn)
        assert f"journal: {head.seq} entries verify, head {head.hash.hex()[:16]}" in report.lines, where
        _check_reported_sales(conn, reported, where)
        _check_nothing_half_written(conn, where)
        receipts = [r[0] for r in conn.execute("SELECT receipt_no FROM sales ORDER BY journal_seq")]
        counter = store.scalar("SELECT value FROM counters WHERE name = 'receipt:T01'") or 0
    numbers = [int(r.split("-")[1]) for r in receipts]
    assert numbers == list(range(1, len(numbers) + 1)), f"{where}: receipt numbers have gaps or repeats"
    assert counter == len(numbers), f"{where}: receipt counter {counter} but {len(numbers)} sales"
    return receipts


def _check_reported_sales(conn: sqlite3.Connection, reported: list[tuple[str, str]], where: str) -> None:
    """Each reported sale is whole: header, every line, taxes, payments, stock moves and its journal entry."""
    def per_sale(sql: str) -> dict[str, tuple]:
        return {row[0]: row[1:] for row in conn.execute(sql)}

    headers = per_sale("SELECT id, receipt_no, line_count, total, rounding, tax, journal_seq FROM sales")
    lines = per_sale("SELECT sale_id, count(*) FROM sale_lines GROUP BY sale_id")
    taxes = per_sale("SELECT sale_id, count(*), sum(tax) FROM sale_taxes GROUP BY sale_id")
    paid = per_sale("SELECT sale_id, sum(amount) FROM payments GROUP BY sale_id")
    moves = per_sale("SELECT ref, count(*) FROM stock_moves GROUP BY ref")
    for receipt_no, sale_id in reported:
        assert sale_id in headers, f"{where}: sale {receipt_no} {sale_id} was reported complete but is lost"
        stored_receipt, line_count, total, rounding, tax, seq = headers[sale_id]
        assert stored_receipt == receipt_no, f"{where}: {sale_id} has receipt {stored_receipt}, not {receipt_no}"
        assert line_count >= 1 and lines.get(sale_id) == (line_count,), f"{where}: {receipt_no} lost lines"
        assert taxes.get(sale_id, (0, 0))[0] >= 1 and taxes[sale_id][1] == tax, f"{where}: {receipt_no} taxes"
        assert paid.get(sale_id) == (total + rounding,), f"{where}: {receipt_no} payments {paid.get(sale_id)}"
        assert moves.get(sale_id) == (line_count,), f"{where}: {receipt_no} stock moves {moves.get(sale_id)}"
        payload = conn.execute("SELECT payload FROM journal WHERE seq = ?", (seq,)).fetchone()[0]
        assert json.loads(payload)["receipt_no"] == receipt_no, f"{where}: {receipt_no} journal entry differs"


def _check_nothing_half_written(conn: sqlite3.Connection, where: str) -> None:
    """No sale without its journal and outbox entries, no journaled sale without rows, no orphan rows."""
    without_event = conn.execute(
        "SELECT count(*) FROM sales s LEFT JOIN journal j ON j.seq = s.journal_seq "
        "LEFT JOIN outbox o ON o.seq = s.journal_seq "
        "WHERE j.seq IS NULL OR j.ref != s.id OR j.kind != 'sale.completed' OR o.seq IS NULL"
    ).fetchone()[0]
    assert without_event == 0, f"{where}: {without_event} sales lack their journal or outbox entry"
    events_without_sale = conn.execute(
        "SELECT count(*) FROM journal j LEFT JOIN sales s ON s.id = j.ref "
        "WHERE j.kind = 'sale.completed' AND s.id IS NULL"
    ).fetchone()[0]
    assert events_without_sale == 0, f"{where}: {events_without_sale} journaled sales have no rows"
    unjournaled = conn.execute("SELECT count(*) FROM journal j LEFT JOIN outbox o ON o.seq = j.seq WHERE o.seq IS NULL")
    assert unjournaled.fetchone()[0] == 0, f"{where}: journal entries without their outbox entry"
    children = (("sale_lines", "sale_id"), ("sale_taxes", "sale_id"), ("payments", "sale_id"), ("stock_moves", "ref"))
    for table, key in children:
        orphans = conn.execute(
            f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM sales s WHERE s.id = t.{key})"
        ).fetchone()[0]
        assert orphans == 0, f"{where}: {orphans} {table} rows without their sale"


@pytest.mark.slow
def test_killed_till_keeps_every_reported_sale_whole(tmp_path: Path) -> None:
    path = _seed_database(tmp_path)
    rng = random.Random(SEED)
    earlier: list[str] = []  # receipt numbers in the database after the previous round
    total_reported = 0
    for round_no in range(1, ROUNDS + 1):
        where = f"seed={SEED} round={round_no}"
        reported = _run_and_kill(tmp_path, rng, where)
        receipts = _check_database(path, reported, where)
        # Earlier rounds' sales are all still there, in order, and this round's continue the numbering.
        assert receipts[: len(earlier)] == earlier, f"{where}: earlier sales changed"
        this_round = receipts[len(earlier):]
        told = [receipt for receipt, _ in reported]
        assert this_round[: len(told)] == told, f"{where}: reported {told} but the database has {this_round}"
        # At most the sale whose receipt line the kill interrupted is committed but unreported.
        assert len(this_round) - len(told) in (0, 1), f"{where}: {this_round} committed, {told} reported"
        earlier = receipts
        total_reported += len(reported)
    assert total_reported > ROUNDS, f"seed={SEED}: the children committed too few sales to test anything"
    with Store(path) as store:
        assert journal.verify(store.conn) == journal.head(store.conn), f"seed={SEED}"
