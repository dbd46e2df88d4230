"""The device disk (GPT, six partitions, the same on both boards) and its filesystems, made from folders, unmounted.

Layout (docs/image.md): config, bootA, bootB, rootA, rootB, data; 512-byte sectors,
every partition 1 MiB aligned. Filesystems are written straight into files
(`mkfs.ext4 -d`, `mkfs.vfat` + mtools), so the build needs no loop device, and every
identifier that a tool would otherwise draw at random (disk and partition GUIDs,
filesystem UUIDs, ext4 hash seed, FAT volume id) or stamp with the time is fixed, so
two builds of the same tree give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from image.host import BuildError, run

MiB = 1024 * 1024
SECTOR = 512
CHUNK = MiB
RECIPE = Path(__file__).resolve().parent / "recipe"

# GPT partition types: FAT partitions as "Microsoft basic data" (the Raspberry Pi firmware
# boots from those), ext4 ones as "Linux filesystem". Not the Discoverable Partitions
# root types: systemd's gpt-auto-generator would otherwise try to mount the other slot.
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
LINUX_FS = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
# Every GUID and UUID of the image is derived from this namespace and a name (uuid5), so it
# is the same on every build; a filesystem that differs between releases also names the version.
NAMESPACE = uuid.UUID("b6f5a7a4-3d1e-5c55-9a53-0a7b1c3e9f21")


@dataclass(frozen=True)
class Part:
    """One partition of the layout: GPT number and name (PARTLABEL), filesystem, byte offset and size."""

    number: int
    label: str
    fs: str  # "vfat" | "ext4"
    start: int
    size: int

    @property
    def type_guid(self) -> str:
        return BASIC_DATA if self.fs == "vfat" else LINUX_FS

    @property
    def guid(self) -> str:
        return stable_uuid(f"partition:{self.label}")


def _layout(sizes: list[tuple[str, str, int]]) -> tuple[Part, ...]:
    parts, start = [], MiB  # the first MiB holds the protective MBR and the GPT
    for number, (label, fs, size) in enumerate(sizes, start=1):
        parts.append(Part(number, label, fs, start, size))
        start += size
    return tuple(parts)


LAYOUT = _layout([
    ("config", "vfat", 64 * MiB),  # autoboot.txt (Pi), provision.toml, bootenv.json
    ("bootA", "vfat", 256 * MiB),  # slot A: kernel, firmware, cmdline (Pi)
    ("bootB", "vfat", 256 * MiB),  # slot B: empty in the factory image
    ("rootA", "ext4", 1024 * MiB),  # slot A root, read-only at run time
    ("rootB", "ext4", 1024 * MiB),  # slot B root: empty in the factory image
    ("data", "ext4", 512 * MiB),  # /var/lib/appliance
])  # fmt: skip
# One spare MiB at the end: the backup GPT (33 sectors) and room to stay aligned.
DISK_SIZE = LAYOUT[-1].start + LAYOUT[-1].size + MiB


def part(label: str) -> Part:
    """The partition named `label` (config, bootA, ... data)."""
    for p in LAYOUT:
        if p.label == label:
            return p
    raise KeyError(label)


def stable_uuid(name: str) -> str:
    """A UUID that is the same on every build for the same name (uuid5 in the image's namespace)."""
    return str(uuid.uuid5(NAMESPACE, name))


# -- the partition table ---------------------------------------------------------------


def sfdisk_script() -> str:
    """The GPT as an sfdisk script: fixed disk and partition GUIDs, sizes in sectors."""
    lines = ["label: gpt", f"label-id: {stable_uuid('disk').upper()}", "unit: sectors", "sector-size: 512",
             f"first-lba: {MiB // SECTOR}", ""]  # fmt: skip
    for p in LAYOUT:
        lines.append(f"start={p.start // SECTOR}, size={p.size // SECTOR}, type={p.type_guid}, "
                     f"uuid={p.guid.upper()}, name={p.label}")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_table(disk: Path) -> None:
    """A sparse file of the disk's size with the GPT written into it (nothing else yet)."""
    with disk.open("wb") as out:
        out.truncate(DISK_SIZE)
    run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", disk], stdin=sfdisk_script(),
        step="writing the partition table")  # fmt: skip


# -- filesystems -----------------------------------------------------------------------


def _fs_env(epoch: int) -> dict[str, str]:
    # E2FSPROGS_FAKE_TIME: mke2fs and debugfs stamp the superblock and inodes with this time
    # instead of the clock; SOURCE_DATE_EPOCH does the same for mtools' directory entries.
    # MKE2FS_CONFIG: our own feature list, not the build machine's /etc/mke2fs.conf.
    return {**os.environ, "E2FSPROGS_FAKE_TIME": str(epoch), "SOURCE_DATE_EPOCH": str(epoch),
            "MKE2FS_CONFIG": str(RECIPE / "mke2fs.conf"), "MTOOLS_SKIP_CHECK": "1"}  # fmt: skip


def _blank(path: Path, size: int) -> None:
    path.unlink(missing_ok=True)
    with path.open("wb") as out:
        out.truncate(size)


def make_ext4(path: Path, source: Path, *, size: int, label: str, fs_uuid: str, epoch: int,
              owner: tuple[int, int] = (0, 0), journal: bool = True) -> None:  # fmt: skip
    """An ext4 filesystem image of `size` bytes holding the tree under `source` (owners and modes kept).

    mke2fs copies each inode's ctime from the build machine, where it is the moment the
    file was unpacked; those are reset to `epoch` afterwards with debugfs, so the bytes do
    not depend on when the tree was made. (mtimes are the tree's own, clamped beforehand.)
    The filesystem's root folder takes the mode of `source` (the data partition's is 0700).
    """
    _blank(path, size)
    extended = f"root_owner={owner[0]}:{owner[1]},hash_seed={fs_uuid},lazy_itable_init=0,lazy_journal_init=0,nodiscard"
    run(["mkfs.ext4", "-q", "-F", "-t", "ext4", "-T", "default", "-L", label, "-U", fs_uuid, "-m", "0", "-E", extended,
         *([] if journal else ["-O", "^has_journal"]), "-d", source, path], env=_fs_env(epoch),
        step=f"making the {label} filesystem")  # fmt: skip
    script = "".join(f"sif <{inode}> ctime @{epoch}\nsif <{inode}> atime @{epoch}\n" for inode in _used_inodes(path))
    # mke2fs -d gives the filesystem's root folder mode 0755 whatever the source's: copy it.
    script += f"sif <2> mode 0{stat.S_IFDIR | stat.S_IMODE(source.stat().st_mode):o}\n"
    script_path = path.with_name(path.name + ".debugfs")
    script_path.write_text(script, encoding="ascii")
    try:
        run(["debugfs", "-w", "-f", script_path, path], env=_fs_env(epoch), step=f"fixing times in {label}")
    finally:
        script_path.unlink()


def _used_inodes(path: Path) -> list[int]:
    """Inodes in use (from the free ranges dumpe2fs prints per block group), reserved ones but the root left out."""
    text = run(["dumpe2fs", path], step="reading the filesystem's inode bitmap").stdout
    count, first = _superblock_field(text, "Inode count"), _superblock_field(text, "First inode")
    free = bytearray(count + 1)
    for ranges in re.findall(r"^\s+Free inodes: (.*)$", text, re.M):
        for item in filter(None, (r.strip() for r in ranges.split(","))):
            low, _, high = item.partition("-")
            free[int(low):int(high or low) + 1] = b"\1" * (int(high or low) + 1 - int(low))
    return [i for i in range(1, count + 1) if not free[i] and (i == 2 or i >= first)]


def _superblock_field(dump: str, name: str) -> int:
    found = re.search(rf"^{name}:\s+(\d+)", dump, re.M)
    if found is None:
        raise BuildError(f"dumpe2fs printed no {name!r}: is e2fsprogs older than 1.43?", where="dumpe2fs")
    return int(found.group(1))


def make_vfat(path: Path, source: Path, *, size: int, label: str, epoch: int) -> None:
    """A FAT32 filesystem image of `size` bytes holding the files under `source`.

    Files go in one directory at a time, in sorted order, because FAT's directory order
    and its generated 8.3 names (BCM271~1.DTB) depend on the order of copying.
    """
    _blank(path, size)
    volume_id = stable_uuid(f"vfat:{label}").replace("-", "")[:8]
    # 512-byte clusters on the small config partition: FAT32 needs at least 65525 clusters.
    clusters = ["-s", "1"] if size < 128 * MiB else []
    run(["mkfs.vfat", "--invariant", "-F", "32", "-S", "512", *clusters, "-n", label.upper()[:11], "-i", volume_id,
         path], env=_fs_env(epoch), step=f"making the {label} filesystem")  # fmt: skip
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        rel = Path(folder).relative_to(source)
        target = "::/" if rel == Path(".") else f"::/{rel.as_posix()}/"
        if rel != Path("."):
            run(["mmd", "-i", path, target.rstrip("/")], env=_fs_env(epoch), step=f"filling {label}")
        if files:
            run(["mcopy", "-m", "-i", path, *[Path(folder) / name for name in sorted(files)], target],
                env=_fs_env(epoch), step=f"filling {label}")  # fmt: skip


# -- putting partitions into the disk --------------------------------------------------


def place(disk: Path, p: Part, payload: Path | None) -> str:
    """Copy a partition's payload to its offset in the disk (zero runs are skipped: the disk stays sparse); its SHA-256.

    `payload` None leaves the partition empty (zeros), as the factory image's slot B.
    The payload must be exactly the partition's size, so its hash is the partition's.
    """
    digest = hashlib.sha256()
    if payload is None:
        zero = bytes(CHUNK)
        for _ in range(p.size // CHUNK):
            digest.update(zero)
        return digest.hexdigest()
    if payload.stat().st_size != p.size:
        raise BuildError(f"{payload.name} is {payload.stat().st_size} bytes, partition {p.label} is {p.size}",
                         where="assembling the disk")  # fmt: skip
    copy_sparse(payload, disk, p.start, digest)
    return digest.hexdigest()


def copy_sparse(source: Path, target: Path, offset: int, digest: "hashlib._Hash | None" = None) -> None:
    """Write `source` into `target` at `offset`, leaving holes where the source is zeros; hash it on the way."""
    zero = bytes(CHUNK)
    with source.open("rb") as src, target.open("r+b" if target.exists() else "wb") as out:
        position = offset
        for chunk in iter(lambda: src.read(CHUNK), b""):
            if digest is not None:
                digest.update(chunk)
            if chunk != zero[:len(chunk)]:
                os.pwrite(out.fileno(), chunk, position)
            position += len(chunk)
        if out.seek(0, os.SEEK_END) < position:
            out.truncate(position)
