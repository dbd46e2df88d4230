"""The build machine: the Debian tools an image build runs, checked up front, run with errors a technician can act on.

Every step of the build shells out to a Debian tool (mmdebstrap, mkfs, sfdisk, mtools,
xz). A missing tool is reported before anything is built, with the packages to install;
a failing one names the step, the command and the end of its output, so a technician
sees which step broke without rerunning it by hand.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from appliance.errors import ApplianceError

# The command each build step needs, and the Debian package that provides it.
TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "mkfs.ext4": "e2fsprogs",
    "debugfs": "e2fsprogs",
    "dumpe2fs": "e2fsprogs",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mmd": "mtools",
    "sfdisk": "fdisk",
    "xz": "xz-utils",
    "systemd-sysusers": "systemd",
    "systemctl": "systemd",
    "depmod": "kmod",
}
# Running foreign-architecture binaries in the chroot (arm64 on an amd64 machine).
EMULATION_TOOLS = {"qemu-aarch64-static": "qemu-user-static", "update-binfmts": "binfmt-support"}
QEMU = {"arm64": "aarch64"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")


class BuildError(ApplianceError, RuntimeError):
    """The image cannot be built here, or a build step failed; the message names the step and the fix."""

    code = "build"


def missing_tools(foreign_arch: str | None = None) -> list[str]:
    """Debian packages to install before building (empty when everything is there)."""
    tools = dict(TOOLS)
    if foreign_arch is not None:
        tools.update(EMULATION_TOOLS)
    return sorted({package for tool, package in tools.items() if shutil.which(tool) is None})


def check_can_build(foreign_arch: str | None = None) -> None:
    """Refuse early, before minutes of work: the build needs root (chroot, device nodes, file owners) and the tools."""
    if os.geteuid() != 0:
        raise BuildError("the image build runs as root: mmdebstrap installs packages in a chroot and the root "
                         "filesystem keeps its owners (run it with sudo, or as root in CI)", where="image build")
    packages = missing_tools(foreign_arch)
    if packages:
        raise BuildError(f"missing Debian packages: apt-get install {' '.join(packages)} (or run `make image`, which "
                         "installs them)", where="image build")  # fmt: skip


def host_arch() -> str:
    """The Debian architecture of this machine (amd64, arm64...)."""
    return run(["dpkg", "--print-architecture"], step="checking the host").stdout.strip()


def host_python_matches(version: tuple[int, int]) -> bool:
    """Whether this Python makes wheels the image's Python can load (same minor version, and Linux)."""
    return sys.version_info[:2] == version and platform.system() == "Linux"


def enable_emulation(arch: str) -> None:
    """Let the kernel run `arch` binaries through qemu (binfmt_misc), so the chroot of another board can run.

    binfmt_misc is a kernel setting, not a package: on a fresh machine or in a container it
    is often unmounted, and qemu-user-static's registration is then missing. Mounting it
    and enabling the one interpreter is what a technician would do by hand.
    """
    name = f"qemu-{QEMU[arch]}"
    if not (BINFMT / "register").exists():
        print(f"image: mounting binfmt_misc to run {arch} programs through qemu", flush=True)
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], step="mounting binfmt_misc")
    if not (BINFMT / name).exists():
        print(f"image: enabling the {name} interpreter (binfmt_misc)", flush=True)
        run(["update-binfmts", "--enable", name], step=f"enabling {name}")
    if (BINFMT / name).read_text().splitlines()[0] != "enabled":
        raise BuildError(f"the {name} interpreter is registered but disabled: run `update-binfmts --enable {name}`",
                         where=str(BINFMT / name))  # fmt: skip


def run(argv: Sequence[str], *, step: str, env: Mapping[str, str] | None = None, cwd: Path | None = None,
        stdin: str | None = None, quiet: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run one tool of a build step; BuildError with the command and the end of its output when it fails.

    `quiet` keeps the tool's output (shown only on failure); otherwise it goes to the
    terminal as it comes, for the long steps a technician wants to watch.
    """
    command = shlex.join(str(a) for a in argv)
    try:
        result = subprocess.run([str(a) for a in argv], env=None if env is None else dict(env), cwd=cwd,
                                input=stdin, text=True,
                                capture_output=quiet, check=False)  # fmt: skip
    except FileNotFoundError:
        raise BuildError(f"{argv[0]} is not installed (needed for {step})", where=step) from None
    if result.returncode != 0:
        tail = "\n".join(((result.stdout or "") + (result.stderr or "")).strip().splitlines()[-25:])
        raise BuildError(f"`{command}` failed with exit code {result.returncode}" + (f":\n{tail}" if tail else ""),
                         where=step)  # fmt: skip
    return result


class Timer:
    """Seconds spent per build step, for the figures the build prints at the end."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._start = time.monotonic()

    def step(self, name: str) -> None:
        """Close the running step under `name` and start the next one."""
        now = time.monotonic()
        self.steps[name] = now - self._start
        self._start = now

    @property
    def total(self) -> float:
        return sum(self.steps.values())
