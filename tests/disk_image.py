"""A small signed device image for the flashing and provisioning tests, made like the real build makes one.

The real image (image/build.py) takes minutes; these tests need its shape, not its size:
an 8 MiB raw disk with a GPT (a FAT `config` partition 1 holding autoboot.txt, then a
`rootA` of random bytes), compressed to disk.img.xz, and a manifest of kind "image"
signed with a throwaway key, with extra.raw and extra.partitions as the build writes them.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from image import manifest

SECTOR = 512
DISK_BYTES = 8 * 1024 * 1024
PARTITIONS = (("config", 2048, 4096), ("rootA", 6144, 8192))  # (label, start sector, sectors)
FAT_TYPE, LINUX_TYPE = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
AUTOBOOT = "[all]\ntryboot_a_b=1\nboot_partition=2\n"


def tools_or_fail() -> None:
    missing = [tool for tool in ("sfdisk", "mkfs.vfat", "mcopy", "mtype") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: apt-get install fdisk dosfstools mtools")


def make_raw_disk(path: Path) -> None:
    """Random bytes (so a misplaced write shows), a GPT, and a FAT file system in partition 1."""
    tools_or_fail()
    path.write_bytes(os.urandom(DISK_BYTES))
    script = "label: gpt\n" + "".join(
        f"start={start}, size={size}, name={label}, type={FAT_TYPE if label == 'config' else LINUX_TYPE}\n"
        for label, start, size in PARTITIONS
    )
    subprocess.run(["sfdisk", "--quiet", "--no-reread", str(path)], input=script, text=True, check=True,
                   capture_output=True)  # fmt: skip
    label, start, size = PARTITIONS[0]
    fat = path.with_name("config.vfat")
    fat.unlink(missing_ok=True)
    subprocess.run(["mkfs.vfat", "-C", "-n", "CONFIG", str(fat), str(size * SECTOR // 1024)], check=True,
                   capture_output=True)  # fmt: skip
    (path.parent / "autoboot.txt").write_text(AUTOBOOT)
    subprocess.run(["mcopy", "-i", str(fat), str(path.parent / "autoboot.txt"), "::/autoboot.txt"], check=True,
                   capture_output=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})  # fmt: skip
    with path.open("r+b") as disk:
        disk.seek(start * SECTOR)
        disk.write(fat.read_bytes())
    fat.unlink()
    (path.parent / "autoboot.txt").unlink()


@dataclass(frozen=True)
class SignedImage:
    folder: Path  # manifest.json, manifest.sig, disk.img.xz
    raw: Path  # the uncompressed disk, kept beside for comparisons
    private_key: Path
    public_key: Path

    @property
    def raw_bytes(self) -> bytes:
        return self.raw.read_bytes()


def sign_image(folder: Path, raw: Path, key: Path, *, board: str = "amd64", raw_size: int | None = None) -> None:
    """disk.img.xz and a signed manifest in `folder`; `raw_size` lets a test sign a lie about the raw size."""
    folder.mkdir(parents=True, exist_ok=True)
    data = raw.read_bytes()
    (folder / "disk.img.xz").write_bytes(lzma.compress(data, preset=0))
    parts = [{"label": label, "start": start * SECTOR, "size": size * SECTOR,
              "sha256": hashlib.sha256(data[start * SECTOR:(start + size) * SECTOR]).hexdigest()}
             for label, start, size in PARTITIONS]  # fmt: skip
    doc = manifest.Manifest("image", "0.1.0", board, "2026-01-02T03:04:05Z",
                            (manifest.payload_of(folder / "disk.img.xz"),),
                            {"raw": {"size": raw_size or len(data), "sha256": hashlib.sha256(data).hexdigest()},
                             "partitions": parts})  # fmt: skip
    manifest.write(doc, folder, manifest.load_private(key))


def make_signed_image(root: Path, *, board: str = "amd64") -> SignedImage:
    root.mkdir(parents=True, exist_ok=True)
    private, public = root / "signing.pem", root / "signing.pub"
    manifest.new_key(private, public)
    raw = root / "disk.img"
    make_raw_disk(raw)
    sign_image(root / "image", raw, private, board=board)
    return SignedImage(root / "image", raw, private, public)


def read_fat_file(disk: Path, name: str, offset: int = PARTITIONS[0][1] * SECTOR) -> str | None:
    """A file from the FAT file system at `offset` of a disk, or None when it is not there."""
    result = subprocess.run(["mtype", "-i", f"{disk}@@{offset}", f"::/{name}"], capture_output=True,
                            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})  # fmt: skip
    return result.stdout.decode("utf-8") if result.returncode == 0 else None


def outside_config(data: bytes) -> bytes:
    """Every byte of a disk but partition 1's: what provisioning must never change."""
    _, start, size = PARTITIONS[0]
    return data[: start * SECTOR] + data[(start + size) * SECTOR :]
