"""`appliance-flash`: write a signed device image to a card, a USB stick or a file, verified before and after.

Nothing is written until the manifest's signature verifies under a trusted key and the
compressed image matches its signed SHA-256; the target is refused when it is too small,
mounted, a partition, or the disk this machine runs from (the last three unless
--force). The image is decompressed as it is written, flushed to the medium, then read
back from the medium and checked against the raw disk's signed SHA-256. A script can act
on the exit code:

  0 flashed and verified        3 verification failed (unsigned, tampered, wrong board)
  2 usage or configuration      4 target refused (too small, mounted, system disk, not confirmed)
  5 write failed (the target is unusable)       6 read-back mismatch (the medium is failing)
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import lzma
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.errors import ApplianceError, ConfigError
from image import disks, provision
from image.manifest import BOARDS, CHUNK, Manifest, ManifestError, check_payload, trusted_keys, verify
from image.progress import MB, Progress

EXIT_OK, EXIT_USAGE, EXIT_VERIFY, EXIT_TARGET, EXIT_WRITE, EXIT_READBACK = 0, 2, 3, 4, 5, 6
PAYLOAD = "disk.img.xz"
TRUSTED_KEYS = Path("/etc/appliance/trusted-keys")


class FlashError(ApplianceError):
    """Flashing stopped; `exit_code` tells a script at which stage."""

    exit_code = EXIT_WRITE


class UsageError(FlashError, ValueError):
    code, exit_code = "usage", EXIT_USAGE


class VerificationFailed(FlashError, ValueError):
    code, exit_code = "verify", EXIT_VERIFY


class TargetRefused(FlashError, PermissionError):
    code, exit_code = "target", EXIT_TARGET


class WriteFailed(FlashError, OSError):
    code, exit_code = "write", EXIT_WRITE


class ReadBackMismatch(FlashError):
    code, exit_code = "read_back", EXIT_READBACK


@dataclass(frozen=True)
class Image:
    folder: Path
    manifest: Manifest
    raw_size: int  # bytes of the uncompressed disk
    raw_sha256: str

    @property
    def compressed(self) -> Path:
        return self.folder / PAYLOAD

    def describe(self) -> str:
        m = self.manifest
        return f"image {m.version} for {m.board}, built {m.built_at}, {self.raw_size / MB:.0f} MB"


def verified_image(folder: Path, keys: list[Ed25519PublicKey], board: str | None) -> Image:
    """The image in `folder` once its signature and its compressed payload's hash are good."""
    try:
        manifest = verify(folder, keys, kind="image", board=board)
        check_payload(folder, manifest.payload(PAYLOAD))
    except ManifestError as exc:
        raise VerificationFailed(exc.message, where=exc.where) from None
    raw = manifest.extra.get("raw")
    if not (isinstance(raw, dict) and isinstance(raw.get("size"), int) and raw["size"] > 0
            and isinstance(raw.get("sha256"), str) and len(raw["sha256"]) == 64):  # fmt: skip
        raise VerificationFailed("the manifest gives no size and SHA-256 of the raw disk (extra.raw): the image "
                                 "cannot be checked after writing", where=str(folder / "manifest.json"))  # fmt: skip
    return Image(folder, manifest, raw["size"], raw["sha256"])


# -- the target ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    path: Path
    block: bool  # a disk; else a regular file (technicians preparing images, the tests)
    size: int  # the device's size, or the room for the file


def _device_size(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def check_target(path: Path, need: int, *, force: bool = False, host: disks.Host = disks.Host()) -> Target:
    """Refuse a target that cannot or must not take the image; reading only, nothing is written here."""
    dev = disks.device_number(path)
    if dev is None:
        if path.exists() and not path.is_file():
            raise TargetRefused("is neither a disk nor a regular file", where=str(path))
        if path.is_relative_to("/dev") or not path.parent.is_dir():
            raise TargetRefused("there is no such disk or folder: see appliance-flash --list", where=str(path))
        room = shutil.disk_usage(path.parent).free + (path.stat().st_size if path.exists() else 0)
        if room < need:
            raise TargetRefused(f"only {room / MB:.0f} MB free there, the image needs {need / MB:.0f} MB",
                                where=str(path))  # fmt: skip
        return Target(path, False, room)
    if not force:
        if host.is_partition(dev):
            raise TargetRefused("is a partition: name the whole disk (/dev/sdb, not /dev/sdb1), or --force",
                                where=str(path))  # fmt: skip
        if host.disk_of(dev) in host.system_disks():
            raise TargetRefused("holds the running system (/): this is not the card; --force to write it anyway",
                                where=str(path))  # fmt: skip
        busy = host.in_use(dev)
        if busy:
            raise TargetRefused(f"is in use: {'; '.join(busy)}. Unmount it first (umount), or --force", where=str(path))
    try:
        size = _device_size(path)
    except OSError as exc:
        raise TargetRefused(f"cannot open the disk: {exc.strerror}", where=str(path)) from None
    if size < need:  # never forced: the end of the image would be cut off
        raise TargetRefused(f"the disk holds {size / MB:.0f} MB, the image needs {need / MB:.0f} MB: use a bigger "
                            "card", where=str(path))  # fmt: skip
    return Target(path, True, size)


def confirm(target: Target, yes: bool) -> None:
    """A disk is erased only when the technician said so: --yes, or its name typed at the prompt."""
    if yes or not target.block:
        return
    if not sys.stdin.isatty():
        raise UsageError("writing a disk erases it: pass --yes when no one can answer a prompt", where=str(target.path))
    answer = input(f"Everything on {target.path} ({target.size / MB:.0f} MB) will be erased. "
                   f"Type {target.path.name} to go on: ")  # fmt: skip
    if answer.strip() != target.path.name:
        raise TargetRefused("not confirmed; nothing was written", where=str(target.path))


# -- writing and reading back -----------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_image(image: Image, target: Target, progress: Progress, *, force: bool = False) -> None:
    """Decompress the image onto the target as it streams, then flush it to the medium."""
    flags = os.O_WRONLY | os.O_CLOEXEC
    # O_EXCL on a disk: the kernel itself refuses (EBUSY) when something has it mounted or held.
    flags |= (0 if force else os.O_EXCL) if target.block else os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(target.path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise TargetRefused("the kernel reports it busy (mounted or held): unmount it first",
                                where=str(target.path)) from None  # fmt: skip
        raise WriteFailed(f"cannot open it for writing: {exc.strerror}", where=str(target.path)) from None
    digest, written = hashlib.sha256(), 0
    try:
        with lzma.open(image.compressed) as source:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                if written + len(chunk) > image.raw_size:
                    raise VerificationFailed(f"{PAYLOAD} decompresses to more than the manifest's {image.raw_size} "
                                             "bytes; the target is unusable", where=str(image.compressed))  # fmt: skip
                digest.update(chunk)
                _write_all(fd, chunk)
                written += len(chunk)
                progress.update(written)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the read-back must come from the medium
    except lzma.LZMAError as exc:
        raise VerificationFailed(f"{PAYLOAD} cannot be decompressed ({exc}); the target is unusable",
                                 where=str(image.compressed)) from None  # fmt: skip
    except OSError as exc:
        raise WriteFailed(f"writing stopped after {written} bytes ({exc.strerror or exc}); the target is unusable: "
                          "check the card and flash again", where=str(target.path)) from None  # fmt: skip
    finally:
        os.close(fd)
        progress.finish()
    if written != image.raw_size or digest.hexdigest() != image.raw_sha256:
        raise VerificationFailed(f"{PAYLOAD} decompressed to {written} bytes that do not match the manifest's raw "
                                 "disk; the target is unusable", where=str(image.compressed))  # fmt: skip


def read_back(image: Image, target: Target, progress: Progress) -> None:
    """Read the written range back from the medium and compare it with the signed SHA-256 of the raw disk."""
    digest, read = hashlib.sha256(), 0
    try:
        fd = os.open(target.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while read < image.raw_size:
                chunk = os.read(fd, min(CHUNK, image.raw_size - read))
                if not chunk:
                    break
                digest.update(chunk)
                read += len(chunk)
                progress.update(read)
        finally:
            os.close(fd)
            progress.finish()
    except OSError as exc:
        raise ReadBackMismatch(f"reading back failed after {read} bytes ({exc.strerror or exc}): the medium is "
                               "failing", where=str(target.path)) from None  # fmt: skip
    if read != image.raw_size or digest.hexdigest() != image.raw_sha256:
        raise ReadBackMismatch(f"what reads back ({read} bytes) differs from what was written: the card is failing "
                               "or fake (smaller than it claims); use another", where=str(target.path))  # fmt: skip


# -- the command ------------------------------------------------------------------------------


def list_disks() -> int:
    found = disks.list_removable()
    if not found:
        print("no removable disk found (the disk this machine runs from is never listed)", file=sys.stderr)
        return EXIT_OK
    print(f"{'PATH':<16} {'SIZE':>9}  {'BUS':<5} {'MODEL':<24} MOUNTED")
    for disk in found:
        print(f"{disk.path:<16} {disk.size / 1e9:>6.1f} GB  {disk.transport or '-':<5} {disk.model or '-':<24} "
              f"{', '.join(disk.mountpoints) or '-'}")  # fmt: skip
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance-flash", description=__doc__.splitlines()[0].split(": ", 1)[1],
                                     epilog="exit codes: 0 ok, 2 usage, 3 verification failed, 4 target refused, "
                                     "5 write failed, 6 read-back mismatch")  # fmt: skip
    parser.add_argument("image", nargs="?", type=Path, metavar="IMAGE_DIR",
                        help="folder with manifest.json, manifest.sig and disk.img.xz")  # fmt: skip
    parser.add_argument("target", nargs="?", type=Path, metavar="TARGET",
                        help="the disk (/dev/sdb, /dev/mmcblk0) or a file to write")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="list the removable disks a card could be, then stop")
    parser.add_argument("--trusted-key", type=Path, action="append", metavar="FILE",
                        help=f"public key the image must be signed with (repeatable; default {TRUSTED_KEYS}/*.pub)")
    parser.add_argument("--board", choices=BOARDS, help="refuse an image made for another board")
    parser.add_argument("--provision", type=Path, metavar="FILE",
                        help="after the verified write, put this provision.toml on the card's config partition")
    parser.add_argument("--force", action="store_true",
                        help="write even a mounted disk, a partition or the disk this machine runs from")
    parser.add_argument("--yes", action="store_true", help="do not ask before erasing a disk")
    return parser


def flash(args: argparse.Namespace) -> None:
    if args.image is None or args.target is None:
        raise UsageError("name IMAGE_DIR and TARGET, or use --list")
    key_files = args.trusted_key or sorted(TRUSTED_KEYS.glob("*.pub"))
    if not key_files:
        raise ConfigError(f"no trusted key: pass --trusted-key FILE or put the .pub file in {TRUSTED_KEYS}",
                          where="--trusted-key")  # fmt: skip
    keys = trusted_keys(key_files)
    provisioning = provision.load(args.provision)[1] if args.provision else None  # checked before writing anything
    image = verified_image(args.image, keys, args.board)
    print(f"verified: {image.describe()}", file=sys.stderr)
    target = check_target(args.target, image.raw_size, force=args.force)
    confirm(target, args.yes)
    write_image(image, target, Progress("writing", image.raw_size), force=args.force)
    read_back(image, target, Progress("verifying", image.raw_size))
    print(f"flashed {image.describe()} to {target.path}; read back and verified")
    if provisioning is not None:
        try:
            part = provision.write_into(target.path, provisioning)
        except (provision.ProvisionWriteError, disks.DiskError) as exc:
            raise WriteFailed(f"the image is good but provisioning failed: {exc}") from None
        print(f"provisioned: {args.provision} is {provision.FILE} on partition {part.number} ({part.label})")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.list:
            return list_disks()
        flash(args)
    except FlashError as exc:
        print(f"appliance-flash: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ConfigError, disks.DiskError) as exc:
        print(f"appliance-flash: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("appliance-flash: interrupted; a partly written target is unusable", file=sys.stderr)
        return 130
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
