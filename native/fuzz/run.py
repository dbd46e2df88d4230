"""Build the libFuzzer harness of the C TLV decoder (clang, ASan + UBSan) and run it.

`python native/fuzz/run.py --seconds 300` (what `make fuzz` does). Crashing inputs are
copied to tests/fixtures/tlv_regressions/, where the suite replays them through both
decoders on every run: a crash found once stays a test forever. Exit status is non-zero
when the fuzzer found a problem or could not be built.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NATIVE = HERE.parent
REGRESSIONS = NATIVE.parent / "tests" / "fixtures" / "tlv_regressions"


def build(out: Path) -> Path:
    clang = shutil.which("clang")
    if clang is None:
        raise SystemExit("clang is not installed (make test-system installs clang and libclang-rt-14-dev)")
    binary = out / "tlv_fuzz"
    subprocess.run(
        [clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
         "-I", str(NATIVE), str(HERE / "tlv_fuzz.c"), str(NATIVE / "tlv.c"), "-o", str(binary)],
        check=True,
    )
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--work", type=Path, help="folder for the build and the grown corpus (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        binary = build(work)
        corpus = work / "corpus"
        corpus.mkdir(exist_ok=True)
        for seed in (HERE / "corpus").iterdir():
            shutil.copy(seed, corpus / seed.name)
        artifacts = work / "artifacts"
        artifacts.mkdir(exist_ok=True)
        result = subprocess.run(
            [str(binary), f"-max_total_time={args.seconds}", "-max_len=512", "-print_final_stats=1",
             f"-artifact_prefix={artifacts}/", str(corpus)],
            capture_output=True, text=True,
        )
        stats = [line for line in result.stderr.splitlines() if line.startswith(("stat::", "Done", "#"))][-6:]
        print("\n".join(stats))
        crashes = list(artifacts.iterdir())
        for crash in crashes:
            REGRESSIONS.mkdir(parents=True, exist_ok=True)
            shutil.copy(crash, REGRESSIONS / crash.name)
            print(f"crashing input saved as {REGRESSIONS / crash.name}", file=sys.stderr)
        if result.returncode != 0 or crashes:
            print(result.stderr[-4000:], file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
