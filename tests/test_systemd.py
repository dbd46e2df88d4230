"""The service unit and udev rules: systemd-analyze verifies the unit and rates its exposure."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD / "appliance.service"


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: `make test-system` installs the systemd package")
    return tool


@pytest.fixture
def unit_here(tmp_path) -> Path:
    """The unit with ExecStart pointing at this checkout's `appliance`: verify checks the program exists."""
    program = Path(sys.executable).with_name("appliance")
    path = tmp_path / "appliance.service"
    path.write_text(UNIT.read_text().replace("/opt/appliance/bin/appliance", str(program)))
    return path


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_systemd_analyze_verify_passes(unit_here):
    result = subprocess.run([analyze(), "verify", str(unit_here)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_exposure_is_ok(unit_here):
    result = subprocess.run([analyze(), "security", "--offline=yes", str(unit_here)], capture_output=True, text=True,
                            timeout=60)
    score = re.search(r"Overall exposure level for appliance\.service: ([0-9.]+) (\w+)", result.stdout)
    assert score, result.stdout[-500:] + result.stderr
    print(f"systemd-analyze security: {score.group(1)} {score.group(2)}")
    assert float(score.group(1)) <= 2.5 and score.group(2) == "OK"


def test_the_unit_runs_a_notify_service_with_a_watchdog_and_journal_logs():
    found = directives(UNIT.read_text())
    assert found["Type"] == ["notify"] and found["Restart"] == ["on-failure"]
    assert int(found["WatchdogSec"][0]) > 0 and found["ExecStart"][0].endswith(" run")
    assert found["ProtectSystem"] == ["strict"] and found["ReadWritePaths"] == ["/var/lib/appliance", "-/boot/config"]
    assert found["StandardOutput"] == ["journal"] and "LogsDirectory" not in found
    assert {"char-ttyUSB rw", "char-usb_device rw", "char-hidraw rw"} <= set(found["DeviceAllow"])


def test_udev_rules_are_well_formed():
    keys = re.compile(r'^(SUBSYSTEM|KERNEL|ENV\{\w+\}|ATTRS?\{\w+\})=="[^"]*"$')
    assignments = re.compile(r'^(MODE|GROUP|SYMLINK\+|TAG\+)="[^"]*"$')
    for number, line in enumerate((SYSTEMD / "99-appliance.rules").read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(", ")]
        assert all(keys.match(p) or assignments.match(p) for p in parts), f"line {number}: {line}"
        assert any(p.startswith("GROUP=") for p in parts), f"line {number} gives no group"
