"""The C TLV decoder under libFuzzer (ASan + UBSan) for a few seconds, and its saved regressions.

`make fuzz` runs the same harness for minutes; any crashing input it finds is saved in
tests/fixtures/tlv_regressions/ and replayed here through both decoders forever after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import native
from appliance.native.errors import NativeError

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = sorted((ROOT / "tests" / "fixtures" / "tlv_regressions").iterdir())
REQUIRED = os.environ.get("APPLIANCE_REQUIRE_NATIVE") == "1"


@pytest.mark.skipif(shutil.which("clang") is None and not REQUIRED, reason="clang not installed (make test installs it)")
def test_a_short_fuzz_run_finds_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "native" / "fuzz" / "run.py"), "--seconds", "5", "--work", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stat::number_of_executed_units" in result.stdout


def _outcome(decode, data):
    try:
        return decode(data, 16)
    except NativeError as exc:
        return (exc.native_code, exc.offset)


@pytest.mark.skipif(native.C is None, reason=f"the C module is not built here: {native.REASON}")
@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_saved_inputs_decode_the_same_and_safely(path):
    data = path.read_bytes()
    assert _outcome(native.C.tlv_decode, data) == _outcome(native.TWIN.tlv_decode, data)
