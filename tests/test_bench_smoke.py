"""bench/sale.py --quick runs to the end and prints every figure (its timings are never asserted)."""

from __future__ import annotations

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
