"""The appliance and its Python dependencies as wheels for the image's Python (Debian 12's 3.11, the board's CPU).

When this machine can make them (same CPU architecture, Python 3.11) pip builds them
here, from the pip cache, in seconds. Otherwise (an arm64 image on an amd64 machine, or
a build machine with another Python) they are built in a throwaway Debian 12 chroot of
the board's architecture, under qemu when it is foreign: pip there downloads the
manylinux wheels that exist for it and compiles the rest (the appliance's C module,
pyscard, evdev, RPi.GPIO). Slow under emulation, but the wheels are then exactly what
the image's Python and libraries expect.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from image.host import BuildError, host_arch, host_python_matches, run
from image.rootfs import PYTHON, SUITE, Board, cache_hooks, chroot_hook, sources

# What compiling the sdists needs: the C compiler and Python headers (the appliance's cffi
# module, evdev, RPi.GPIO), PC/SC headers (pyscard), kernel headers (evdev's input codes).
BUILD_PACKAGES = ("python3-venv", "python3-dev", "gcc", "libc6-dev", "libpcsclite-dev", "libffi-dev", "linux-libc-dev",
                  "pkg-config", "swig", "ca-certificates")  # fmt: skip


SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# What pip in the chroot takes from this machine's environment, when set.
PASSED_TO_PIP = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                 "no_proxy", "NO_PROXY")  # fmt: skip


def project_files(project: Path) -> list[Path]:
    """The project's files as git sees them (tracked, and new files not ignored): what a clean checkout would hold.

    Building from this list rather than the working folder keeps build/, .venv and
    stale setuptools output out of the wheel.
    """
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=project,
                                capture_output=True, check=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"cannot list the project's files with git ({exc}): build from a git checkout",
                         where=str(project)) from None  # fmt: skip
    names = sorted({name for name in listed.decode().split("\0") if name})
    return [Path(name) for name in names if (project / name).is_file()]


def copy_project(project: Path, target: Path) -> None:
    """A clean copy of the project at `target` (a fixed path, so compiled paths are the same on each build)."""
    shutil.rmtree(target, ignore_errors=True)
    for name in project_files(project):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / name, target / name)


def build(board: Board, project: Path, work: Path, *, cache: Path, mirror: str, security_mirror: str,
          epoch: int) -> Path:  # fmt: skip
    """Wheels of the appliance (with the board's extras) and of all it needs, in `work`/wheels; the folder."""
    source, wheels = work / "src", work / "wheels"
    copy_project(project, source)
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    requirement = str(source) + (f"[{','.join(board.extras)}]" if board.extras else "")
    if host_arch() == board.arch and host_python_matches(PYTHON):
        # The compiler writes the source folder into the C module's debug info; mapped to ".",
        # the module's bytes do not depend on where the build ran.
        cflags = f"{os.environ.get('CFLAGS', '')} -ffile-prefix-map={source}=.".strip()
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", wheels, requirement],
            env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "CFLAGS": cflags},
            step="building the wheels")  # fmt: skip
    else:
        print(f"image: building the wheels in a Debian {SUITE} {board.arch} chroot "
              f"(this machine runs {host_arch()}, Python {sys.version_info[0]}.{sys.version_info[1]})", flush=True)
        _build_in_chroot(board, source, wheels, cache=cache, mirror=mirror, security_mirror=security_mirror,
                         epoch=epoch)  # fmt: skip
    if not any(wheels.glob("appliance-*.whl")):
        raise BuildError("pip made no wheel of the appliance", where=str(wheels))
    return wheels


def _ca_bundle() -> Path:
    """The certificates this machine's pip trusts: a site whose proxy inspects TLS has its own CA in there."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("REQUESTS_CA_BUNDLE"), SYSTEM_CA_BUNDLE):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise BuildError("no CA certificate bundle for pip: install ca-certificates, or set PIP_CERT", where="wheels")


def _pip_environment() -> str:
    """Variables for pip in the chroot (whose environment is otherwise empty): the CA bundle, and this machine's
    package index and proxies when it has them."""
    passed = [f"{name}={shlex.quote(os.environ[name])}" for name in PASSED_TO_PIP if os.environ.get(name)]
    return " ".join(["PIP_CERT=/tmp/build-machine-ca.crt", *passed])


def _build_in_chroot(board: Board, source: Path, wheels: Path, *, cache: Path, mirror: str, security_mirror: str,
                     epoch: int) -> None:  # fmt: skip
    """pip wheel in a throwaway chroot of the board's architecture, discarded afterwards (mmdebstrap to /dev/null)."""
    pip_cache = cache / "pip"
    pip_cache.mkdir(parents=True, exist_ok=True)
    extras = f"[{','.join(board.extras)}]" if board.extras else ""
    # --use-pep517: sdists without a pyproject.toml (RPi.GPIO) build in an isolated environment that
    # has setuptools and wheel, instead of failing on the venv's missing `wheel`.
    script = (f"python3 -m venv /tmp/pip && {_pip_environment()} /tmp/pip/bin/pip wheel --quiet --use-pep517 "
              f"--cache-dir /root/.cache/pip --wheel-dir /tmp/wheels '/tmp/{source.name}{extras}'")  # fmt: skip
    argv = ["mmdebstrap", "--mode=root", "--variant=minbase", f"--architectures={board.arch}",
            f"--include={','.join(BUILD_PACKAGES)}", *cache_hooks(cache / "apt-build"),
            f"--customize-hook=copy-in {shlex.quote(str(source))} /tmp",
            f"--customize-hook=upload {shlex.quote(str(_ca_bundle()))} /tmp/build-machine-ca.crt",
            '--customize-hook=mkdir -p "$1/root/.cache/pip" "$1/tmp/wheels"',
            f"--customize-hook=sync-in {shlex.quote(str(pip_cache))} /root/.cache/pip",
            chroot_hook(script, epoch),
            f"--customize-hook=sync-out /tmp/wheels {shlex.quote(str(wheels))}",
            f"--customize-hook=sync-out /root/.cache/pip {shlex.quote(str(pip_cache))}",
            SUITE, "/dev/null", *sources(board, mirror, security_mirror)]  # fmt: skip
    run(argv, step=f"building the wheels in a {board.arch} chroot", quiet=False,
        env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})  # fmt: skip
