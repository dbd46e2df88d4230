"""The root filesystem: Debian 12 by mmdebstrap, the appliance in /opt/appliance, what makes it a read-only till.

mmdebstrap installs the packages and, in the same chroot (with /proc and /dev mounted
for us), a virtualenv in /opt/appliance from the wheels built beforehand. The rest is
plain file work on the tree: the recipe files (image/recipe/rootfs), the units and udev
rules of systemd/, the service user (systemd-sysusers: /etc cannot be written at run
time), the trusted key and the release file. Last, every mtime newer than the build
time is clamped to it, so the filesystem bytes depend on the content, not the day.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from image.host import BuildError, run

RECIPE = Path(__file__).resolve().parent / "recipe"
SUITE = "bookworm"
PYTHON = (3, 11)  # Debian 12's python3: the wheels must be built for it
VENV = "/opt/appliance"
TRUSTED_KEYS = "/etc/appliance/trusted-keys"
RELEASE = "/etc/appliance/release"
# Everything the till runs on, on every board: init, the Python the appliance runs on,
# udev and pcscd for its devices, DHCP/DNS/NTP from systemd (receipts need the right time),
# e2fsprogs to check the data partition after a power cut.
PACKAGES = ("systemd", "systemd-sysv", "udev", "dbus", "systemd-resolved", "systemd-timesyncd", "python3",
            "python3-venv", "pcscd", "libpcsclite1", "libusb-1.0-0", "ca-certificates", "tzdata",
            "e2fsprogs")  # fmt: skip
# Documentation, manuals and translations stay out of a device nobody reads them on
# (copyright files are kept: the licences travel with the binaries).
DPKG_EXCLUDES = ("path-exclude=/usr/share/man/*", "path-exclude=/usr/share/info/*", "path-exclude=/usr/share/doc/*",
                 "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/locale/*",
                 "path-include=/usr/share/locale/locale.alias", "path-exclude=/usr/share/lintian/*")  # fmt: skip


@dataclass(frozen=True)
class Board:
    """What differs between the boards: CPU architecture, Debian components and packages, the appliance's extras."""

    name: str
    arch: str
    components: tuple[str, ...]
    packages: tuple[str, ...]
    extras: tuple[str, ...]  # pip extras of the appliance package (pyproject [project.optional-dependencies])
    firmware_dir: str | None  # where the kernel packages leave what the boot partition holds
    boot_files: tuple[str, ...]  # which of those the board boots from (glob patterns); the rest is left out
    cmdline: str | None = None  # the boot partition's kernel command line file, naming the slot's root


BOARDS = {
    # Built and checked on any machine (chroot); no kernel or bootloader: it is not meant to boot.
    "amd64": Board("amd64", "amd64", ("main",), (), (), None, ()),
    # Raspberry Pi 4 / 400 / CM4: Debian's kernel and the Pi firmware (non-free-firmware), which
    # raspi-firmware's kernel hook copies to /boot/firmware. The boot partition keeps what the
    # BCM2711 boards boot from: the firmware and its memory table, their device trees, kernel,
    # initrd; not the camera/debug firmware flavours nor the files of older Pis. mtools lets an
    # update point the cmdline.txt of the slot it wrote at that slot's root (image/cmdline.py).
    "rpi-arm64": Board("rpi-arm64", "arm64", ("main", "non-free-firmware"),
                       ("linux-image-arm64", "raspi-firmware", "initramfs-tools", "mtools"), ("board",), "boot/firmware",
                       ("start4.elf", "fixup4.dat", "bcm2711-*.dtb", "vmlinuz-*-arm64", "initrd.img-*-arm64"),
                       cmdline="cmdline.txt"),
}  # fmt: skip


def sources(board: Board, mirror: str, security_mirror: str) -> list[str]:
    """apt source lines: the release, its point updates and the security archive (a till on the network gets fixes)."""
    components = " ".join(board.components)
    return [f"deb {mirror} {SUITE} {components}", f"deb {mirror} {SUITE}-updates {components}",
            f"deb {security_mirror} {SUITE}-security {components}"]  # fmt: skip


def cache_hooks(cache: Path) -> list[str]:
    """mmdebstrap options that keep downloaded packages in `cache` between builds (fetched once, not per build)."""
    cache.mkdir(parents=True, exist_ok=True)
    q = shlex.quote(str(cache))
    return ["--skip=download/empty", "--skip=essential/unlink",
            '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/', f"--setup-hook=sync-in {q} /var/cache/apt/archives/",
            f"--customize-hook=sync-out /var/cache/apt/archives {q}"]  # fmt: skip


def chroot_hook(script: str, epoch: int) -> str:
    """A customize hook running `script` in the chroot with a clean environment (nothing of this machine leaks in)."""
    env = f"env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 SOURCE_DATE_EPOCH={epoch}"
    return f'--customize-hook=chroot "$1" {env} sh -euc {shlex.quote(script)}'


def bootstrap(board: Board, root: Path, wheels: Path, *, cache: Path, mirror: str, security_mirror: str,
              epoch: int) -> None:  # fmt: skip
    """Debian into `root` (a folder that must not exist), the appliance installed from `wheels` in /opt/appliance."""
    requirement = "appliance" + (f"[{','.join(board.extras)}]" if board.extras else "")
    install = (f"python3 -m venv {VENV} && {VENV}/bin/pip install --quiet --no-index --no-cache-dir "
               f"--find-links /tmp/{wheels.name} {shlex.quote(requirement)}")  # fmt: skip
    setup = ['--setup-hook=mkdir -p "$1/boot/firmware"'] if board.firmware_dir else []  # raspi-firmware's hook needs it
    argv = ["mmdebstrap", "--mode=root", "--variant=minbase", f"--architectures={board.arch}",
            f"--include={','.join(PACKAGES + board.packages)}", *[f"--dpkgopt={o}" for o in DPKG_EXCLUDES],
            *cache_hooks(cache), *setup, f"--customize-hook=copy-in {shlex.quote(str(wheels))} /tmp",
            chroot_hook(install, epoch), f'--customize-hook=rm -r "$1/tmp/{wheels.name}"',
            SUITE, root, *sources(board, mirror, security_mirror)]  # fmt: skip
    run(argv, step=f"installing Debian {SUITE} ({board.arch}) with mmdebstrap",
        env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}, quiet=False)  # fmt: skip


# -- configuration of the tree ---------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """What /etc/appliance/release says: the appliance version, the board, when it was built."""

    version: str
    board: str
    built_at: str  # UTC ISO time

    def text(self) -> str:
        return (f"# Written by the image build (image/build.py); one key=value a line.\n"
                f"version={self.version}\nboard={self.board}\nbuilt_at={self.built_at}\n")  # fmt: skip


def configure(root: Path, project: Path, release: Release, trusted_key: tuple[str, str]) -> tuple[int, int]:
    """Make the installed tree the till: recipe files, units, service user, key, release; the service user's (uid, gid).

    `trusted_key` is (file name, 64 hex digits): the public half of the key that signs
    this image, so the device accepts updates signed with the same key.
    """
    shutil.copytree(RECIPE / "rootfs", root, dirs_exist_ok=True, symlinks=True)
    # The root is read-only at run time: every mount point in fstab must exist in it beforehand.
    for line in (root / "etc/fstab").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            (root / fields[1].lstrip("/")).mkdir(parents=True, exist_ok=True)
    # mmdebstrap leaves the build machine's copies; DNS comes from systemd-resolved at run time.
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    (root / "etc/resolv.conf").symlink_to("../run/systemd/resolve/stub-resolv.conf")
    # D-Bus reads the machine id here; the link tmpfiles would make at boot cannot be made on a read-only root.
    # (/etc/machine-id itself stays empty: systemd then mounts a fresh id over it at each boot.)
    (root / "var/lib/dbus").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "var/lib/dbus/machine-id").symlink_to("/etc/machine-id")
    _install_systemd_files(root, project / "systemd")
    run(["systemd-sysusers", f"--root={root}"], step="creating the service user")
    keys = root / TRUSTED_KEYS.lstrip("/")
    keys.mkdir(parents=True, exist_ok=True)
    (keys / trusted_key[0]).write_text(trusted_key[1] + "\n", encoding="ascii")
    (root / RELEASE.lstrip("/")).write_text(release.text(), encoding="utf-8")
    return _ids(root, "appliance")


UNIT_SUFFIXES = (".service", ".timer", ".socket", ".path", ".target")


def _install_systemd_files(root: Path, folder: Path) -> None:
    """Units to /etc/systemd/system (enabled when they say where), udev rules, sysusers and tmpfiles snippets."""
    targets = {".rules": "etc/udev/rules.d", ".sysusers": "usr/lib/sysusers.d", ".tmpfiles": "usr/lib/tmpfiles.d"}
    units = []
    for source in sorted(folder.iterdir()):
        if source.suffix in UNIT_SUFFIXES:
            shutil.copyfile(source, root / "etc/systemd/system" / source.name)
            if "\n[Install]" in source.read_text(encoding="utf-8"):
                units.append(source.name)
        elif source.suffix in targets:
            name = source.name if source.suffix == ".rules" else source.stem + ".conf"
            target = root / targets[source.suffix] / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    run(["systemctl", f"--root={root}", "enable", "systemd-networkd.service", *units], step="enabling the services")


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise BuildError(f"systemd-sysusers made no user {user!r}: check systemd/appliance.sysusers", where="etc/passwd")


def clamp_times(tree: Path, epoch: int) -> None:
    """Set every mtime later than `epoch` to `epoch` (symlinks included), as reproducible-builds.org asks."""
    for folder, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.lstat(path).st_mtime > epoch:
                os.utime(path, (epoch, epoch), follow_symlinks=False)
    if os.lstat(tree).st_mtime > epoch:
        os.utime(tree, (epoch, epoch))


def tree_bytes(tree: Path) -> int:
    """Bytes of the files under `tree` (apparent sizes, hard links once): the root's uncompressed size."""
    seen, total = set(), 0
    for folder, _, files in os.walk(tree):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
