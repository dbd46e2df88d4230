"""The benches run to the end in their quick modes and print every figure (timings never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIGURES = (
    "catalog build",
    "start-up, first open",
    "start-up, warm",
    "scan -> line added p50",
    "scan -> line added p99",
    "scan -> line added max",
    "sale commit FULL p50",
    "sale commit FULL p99",
    "sale commit FULL max",
    "sale commit NORMAL p50/p99/max",
    "sales/s FULL",
    "sales/s NORMAL",
    "X report, 1,000 sales",
    "Z report (close), 1,000 sales",
    "peak RSS, this process",
    "peak RSS, start-up child",
    "machine: 16 KiB write+fsync",
    "machine: fixed Python loop",
    "known peers:",
)


@pytest.mark.slow
def test_quick_benchmark_prints_every_figure(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "sale.py"), "--quick", "--cache", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), f"no line for {figure!r} in:\n{run.stdout}"
    # Start-up is measured on both catalogs; both stay cached for the next run; the work copies are gone.
    counts = {line.split()[0] for line in lines if line.startswith("  ") and line.split()}
    assert {"1,000", "50,000"} <= counts, run.stdout
    assert len(list(tmp_path.glob("catalog-50000-v*.db"))) == 1 and len(list(tmp_path.glob("catalog-1000-v*.db"))) == 1
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


CARD_FIGURES = (
    "APDU SELECT PPSE (contactless slot) p50/p99",
    "APDU READ RECORD (contact slot) p50/p99",
    "contact PSE+SDA, signature, online whole p50/p99",
    "contact DDA, offline PIN, online whole p50/p99",
    "tap Visa qVSDC, online whole p50/p99",
    "tap Mastercard M/Chip, online whole p50/p99",
    "  card in field (PPSE -> read complete) p50/p99",
    "baselines:",
)


@pytest.mark.slow
def test_quick_card_benchmark_prints_every_figure() -> None:
    # bench/card.py starts its own pcscd and points PC/SC clients at it: it must not inherit the suite's.
    env = {name: value for name, value in os.environ.items() if name != "PCSCLITE_CSOCK_NAME"}
    run = subprocess.run([sys.executable, str(REPO / "bench" / "card.py"), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for figure in CARD_FIGURES:
        assert any(line.startswith(figure) for line in lines), f"no line for {figure!r} in:\n{run.stdout}"
    # Both taps report their time in the field; every contact and tap line has its three parts.
    assert sum(line.startswith("  card in field") for line in lines) == 2, run.stdout
    assert sum(line.startswith("  host (inside go_online)") for line in lines) == 4, run.stdout


def test_quick_reports_benchmark_times_every_report_and_agrees_with_pandas() -> None:
    from appliance.core import reports

    run = subprocess.run([sys.executable, str(REPO / "bench" / "reports.py"), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for name in reports.specs():
        assert any(line.split()[:1] == [name] and " ms" in line for line in lines), f"no time for {name}:\n{run.stdout}"
    # Every report with a pandas twin gets a ratio, and the twin computed the same figure.
    compared = [line for line in lines if line.endswith("same")]
    assert len(compared) == 10 and "DIFFERENT" not in run.stdout, run.stdout
    assert lines[-1].startswith("slowest report"), run.stdout


DAEMON_FIGURES = (
    "start to READY, first run", "start to READY, warm", "idle RSS after READY", "scan -> customer display p50 / p99",
    "sales through the keypad and scanner", "RSS of this process after 1,000 / all sales", "peak RSS of this process",
)


@pytest.mark.slow
def test_quick_daemon_benchmark_prints_every_figure() -> None:
    env = {name: value for name, value in os.environ.items() if name not in ("PCSCLITE_CSOCK_NAME", "NOTIFY_SOCKET")}
    run = subprocess.run([sys.executable, str(REPO / "bench" / "daemon.py"), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for figure in DAEMON_FIGURES:
        assert any(line.startswith(figure) for line in lines), f"no line for {figure!r} in:\n{run.stdout}"


SYNC_FIGURES = ("machine:", "terminals", "ingest:", "batch latency:", "held:", "exactly once, zero loss: YES")


@pytest.mark.slow
@pytest.mark.parametrize("storage", [[], ["--sqlite"]])
def test_small_sync_benchmark_holds_every_sale_exactly_once(storage: list[str]) -> None:
    run = subprocess.run([sys.executable, str(REPO / "bench" / "sync.py"), "--terminals", "8", "--sales", "120",
                          "--batch", "50", *storage], cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for figure in SYNC_FIGURES:
        assert any(line.startswith(figure) for line in lines), f"no line for {figure!r} in:\n{run.stdout}"


@pytest.mark.slow
def test_small_drain_benchmark_delivers_the_queue_while_selling() -> None:
    run = subprocess.run([sys.executable, str(REPO / "bench" / "sync_drain.py"), "--queued", "3000", "--sales", "20"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in ("queued 3,000 sales", "drain:", "sale commit before the drain:", "sale commit during the drain:",
                   "ratio during/before:"):  # fmt: skip
        assert figure in run.stdout, f"no {figure!r} in:\n{run.stdout}"


@pytest.mark.slow
def test_quick_back_office_benchmark_times_every_page_over_http_and_in_chromium(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(REPO / "bench" / "backoffice_pages.py"), "--quick",
                          "--screenshots", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in ("API calls of each page", "  dashboard ", "  report: sales-month, a year ", "  shifts ",
                   "In chromium, from navigation to the page drawn", "  reports: sales-month ",
                   "every page under 200 ms at p95:"):  # fmt: skip
        assert figure in run.stdout, f"no {figure!r} in:\n{run.stdout}"
    assert "local API not started" not in run.stdout + run.stderr  # one server: the bench's, on a free port
    for shot in ("backoffice-dashboard.png", "backoffice-report.png", "backoffice-phone-zh.png"):
        assert (tmp_path / shot).stat().st_size > 10_000, shot
