"""The disks of the machine a technician flashes from: which are removable, which are in use, what is on one.

appliance-flash must never write over the disk the running system lives on, nor over a
card whose file systems are mounted (the kernel would write its cached metadata back over
the new image). Both questions are answered from the kernel's own tables: mount points
from /proc/self/mountinfo (proc(5)), swap from /proc/swaps, partitions, device-mapper
slaves and holders from sysfs (/sys/dev/block/MAJ:MIN). `Host` takes those roots as
arguments so the tests can hand it a crafted machine as well as the real one.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

from appliance.errors import ApplianceError

Dev = tuple[int, int]  # (major, minor) of a block device


class DiskError(ApplianceError, OSError):
    """A disk or its partition table could not be read (lsblk or sfdisk failed, no such device)."""

    code = "disk"


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo: the file system's device number, where it is mounted, and its source."""

    device: Dev
    point: str
    fstype: str
    source: str


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as \ooo octal (proc(5)).
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts from mountinfo text: `ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE OPTIONS`."""
    mounts = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            separator = fields.index("-", 6)
            major, minor = fields[2].split(":")
            mounts.append(Mount((int(major), int(minor)), _unescape(fields[4]), fields[separator + 1],
                                _unescape(fields[separator + 2])))  # fmt: skip
        except (ValueError, IndexError):
            raise DiskError("not a mountinfo line", where=f"mountinfo line {number}") from None
    return mounts


def device_number(path: Path) -> Dev | None:
    """(major, minor) of a block device node, None for anything else (a regular file, a missing path)."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISBLK(info.st_mode):
        return None
    return os.major(info.st_rdev), os.minor(info.st_rdev)


@dataclass(frozen=True)
class Host:
    """The running machine as /proc and /sys describe it; other roots stand for a crafted one in tests."""

    proc: Path = Path("/proc")
    sys: Path = Path("/sys")

    def mounts(self) -> list[Mount]:
        return parse_mountinfo((self.proc / "self" / "mountinfo").read_text(encoding="utf-8", errors="replace"))

    def _node(self, dev: Dev) -> Path | None:
        link = self.sys / "dev" / "block" / f"{dev[0]}:{dev[1]}"
        return link.resolve() if link.exists() else None

    @staticmethod
    def _dev_file(folder: Path) -> Dev:
        major, minor = (folder / "dev").read_text().strip().split(":")
        return int(major), int(minor)

    def name(self, dev: Dev) -> str:
        node = self._node(dev)
        return node.name if node else f"{dev[0]}:{dev[1]}"

    def disk_of(self, dev: Dev) -> Dev:
        """The whole disk a partition belongs to; a disk is its own."""
        node = self._node(dev)
        if node is not None and (node / "partition").exists():
            return self._dev_file(node.parent)
        return dev

    def partitions(self, disk: Dev) -> list[Dev]:
        node = self._node(disk)
        if node is None:
            return []
        return [self._dev_file(child) for child in sorted(node.iterdir()) if (child / "partition").exists()]

    def _linked(self, dev: Dev, kind: str) -> list[Path]:
        node = self._node(dev)
        folder = node / kind if node else None
        return sorted(folder.iterdir()) if folder and folder.is_dir() else []

    def underlying_disks(self, dev: Dev) -> set[Dev]:
        """The physical disks under a device: through device-mapper and md slaves down to their disks."""
        slaves = self._linked(dev, "slaves")
        if not slaves:
            return {self.disk_of(dev)}
        found: set[Dev] = set()
        for slave in slaves:
            found |= self.underlying_disks(self._dev_file(slave.resolve()))
        return found

    def system_disks(self) -> set[Dev]:
        """The disks holding the running system's root file system (empty when / is on no block device)."""
        for mount in self.mounts():
            if mount.point != "/":
                continue
            dev = mount.device if mount.device[0] != 0 else device_number(Path(mount.source))
            return self.underlying_disks(dev) if dev else set()
        return set()

    def in_use(self, disk: Dev) -> list[str]:
        """Why the disk must not be written now: its partitions mounted, used as swap, or held by a mapping."""
        devs = [disk, *self.partitions(disk)]
        reasons = []
        for mount in self.mounts():
            by_source = device_number(Path(mount.source)) if mount.source.startswith("/dev/") else None
            for dev in devs:
                if dev in (mount.device, by_source):
                    reasons.append(f"{self.name(dev)} is mounted at {mount.point}")
        swaps = (self.proc / "swaps").read_text().splitlines()[1:] if (self.proc / "swaps").exists() else []
        for line in swaps:
            if line.split() and device_number(Path(line.split()[0])) in devs:
                reasons.append(f"{line.split()[0]} is in use as swap")
        for dev in devs:
            holders = [holder.name for holder in self._linked(dev, "holders")]
            if holders:
                reasons.append(f"{self.name(dev)} is held by {', '.join(holders)} (an encrypted, LVM or RAID volume)")
        return reasons

    def is_partition(self, dev: Dev) -> bool:
        node = self._node(dev)
        return node is not None and (node / "partition").exists()


# -- removable disks (appliance-flash --list) ---------------------------------------------

LSBLK = ["lsblk", "--json", "--bytes", "--output", "NAME,PATH,SIZE,RM,TRAN,MODEL,MOUNTPOINTS,TYPE"]


@dataclass(frozen=True)
class Disk:
    path: str
    size: int
    model: str
    transport: str
    mountpoints: tuple[str, ...]  # of the disk and its partitions


def _flag(value: Any) -> bool:
    # lsblk writes RM as true/false since util-linux 2.33, as "0"/"1" before.
    return value is True or str(value) in ("1", "true")


def _mountpoints(device: dict[str, Any]) -> list[str]:
    points = [p for p in device.get("mountpoints") or [device.get("mountpoint")] if p]
    for child in device.get("children") or []:
        points += _mountpoints(child)
    return points


def removable_disks(lsblk: dict[str, Any], exclude: Collection[str] = ()) -> list[Disk]:
    """The disks a card or stick could be, from `lsblk --json`: removable, on USB or an MMC/SD slot.

    `exclude` holds paths never to offer (the system's own disks).
    """
    disks = []
    for device in lsblk.get("blockdevices", []):
        transport = device.get("tran") or ""
        removable = _flag(device.get("rm")) or transport in ("usb", "mmc") or device["name"].startswith("mmcblk")
        if device.get("type") != "disk" or not removable or device["path"] in exclude or not int(device["size"] or 0):
            continue
        disks.append(Disk(device["path"], int(device["size"]), (device.get("model") or "").strip(), transport,
                          tuple(_mountpoints(device))))  # fmt: skip
    return disks


def list_removable(host: Host = Host()) -> list[Disk]:
    """The removable disks of this machine, without the one it runs from."""
    try:
        result = subprocess.run(LSBLK, capture_output=True, text=True, timeout=30, check=True)
        document = json.loads(result.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise DiskError(f"lsblk could not list the disks ({exc}): is util-linux installed?", where="lsblk") from None
    system = {f"/dev/{host.name(dev)}" for dev in host.system_disks()}
    return removable_disks(document, exclude=system)


# -- partition tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    number: int
    label: str  # the GPT partition name (PARTLABEL)
    start: int  # bytes from the start of the disk
    size: int  # bytes


def partition_table(path: Path) -> list[Partition]:
    """The partitions of a disk or a raw disk image, read by `sfdisk --json` (util-linux)."""
    try:
        result = subprocess.run(["sfdisk", "--json", str(path)], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise DiskError(f"sfdisk cannot run ({exc}): install util-linux's fdisk package", where=str(path)) from None
    if result.returncode != 0:
        raise DiskError(f"no partition table could be read: {result.stderr.strip()}", where=str(path))
    try:
        table = json.loads(result.stdout)["partitiontable"]
        sector = int(table.get("sectorsize", 512))
        return [Partition(int(re.search(r"(\d+)$", p["node"]).group(1)), p.get("name", ""), int(p["start"]) * sector,
                          int(p["size"]) * sector) for p in table["partitions"]]  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DiskError(f"sfdisk's answer cannot be read ({exc})", where=str(path)) from None
