"""`python -m image.build`: one board's device image (raw GPT disk, xz), its signed manifest, its update bundle.

    python -m image.build --board amd64 --key SIGNING_KEY.pem --out build/image [--version V]

Output (docs/image.md): OUT/<board>/ holds disk.img.xz, the slot-A payloads root.ext4 and
boot.vfat, contents.txt (Debian packages and Python distributions inside) and
manifest.json + manifest.sig (kind "image"); BUNDLE/<board>/ (default: OUT/../bundle)
holds the update bundle: boot.vfat, root.ext4 and their manifest (kind "bundle").
The old manifest is removed first and the new one written last, so a folder left by a
failed build is never a signed image. SOURCE_DATE_EPOCH, when set, is the build time
stamped everywhere; the same tree and time give the same filesystem bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Mapping, Sequence, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance import __version__
from appliance.errors import ApplianceError, ConfigError
from image import kernel, layout, manifest, rootfs, wheels
from image.host import BuildError, Timer, check_can_build, enable_emulation, host_arch, run
from image.layout import MiB

PROJECT = Path(__file__).resolve().parent.parent
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
ROOT_AIM = 600 * 1000 * 1000  # the aim for the uncompressed root (bytes): above it the build warns


@dataclass(frozen=True)
class Options:
    board: rootfs.Board
    key: Path
    out: Path
    bundle: Path
    version: str
    cache: Path
    mirror: str
    security_mirror: str
    xz_level: int
    epoch: int


@dataclass(frozen=True)
class Built:
    """Where the build put things, and its figures (sizes in bytes, times in seconds)."""

    folder: Path
    bundle: Path
    manifest: manifest.Manifest
    steps: dict[str, float]
    root_bytes: int
    compressed_bytes: int


def source_date_epoch(environ: Mapping[str, str] = os.environ) -> int:
    """The build time: SOURCE_DATE_EPOCH (reproducible builds) or now."""
    value = environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return int(time.time())
    if not value.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {value!r}",
                          where="SOURCE_DATE_EPOCH")  # fmt: skip
    return int(value)


def check_key_location(key: Path) -> None:
    """Refuse a signing key that git would commit: the private key never enters the repository."""
    path = key.resolve()
    if not path.is_relative_to(PROJECT):
        return
    if subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=PROJECT).returncode != 0:
        raise ConfigError("the signing key lies in the repository where git would commit it: keep it outside "
                          "(make image IMAGE_KEY=/path/outside/key.pem)", where=str(key))  # fmt: skip


def public_key_file(key_path: Path) -> tuple[str, str]:
    """(file name, 64 hex digits) of the signing key's public half, as the device's trusted-keys folder holds it."""
    raw = manifest.load_private(key_path).public_key().public_bytes(serialization.Encoding.Raw,
                                                                    serialization.PublicFormat.Raw)  # fmt: skip
    return f"{hashlib.sha256(raw).hexdigest()[:16]}.pub", raw.hex()


def build(opts: Options) -> Built:
    """Build the image and the bundle of `opts.board`; BuildError names the failing step."""
    board = opts.board
    check_key_location(opts.key)
    key = manifest.load_private(opts.key)  # a bad key fails now, not after ten minutes of work
    trusted = public_key_file(opts.key)
    foreign = board.arch if host_arch() != board.arch else None
    check_can_build(foreign)
    if foreign:
        enable_emulation(board.arch)
    built_at = datetime.fromtimestamp(opts.epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder, bundle = opts.out / board.name, opts.bundle / board.name
    work = folder / "work"
    for stale in (folder / "manifest.json", folder / "manifest.sig", bundle / "manifest.json", bundle / "manifest.sig"):
        stale.unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = opts.cache / board.arch
    timer = Timer()

    made = wheels.build(board, PROJECT, work, cache=cache, mirror=opts.mirror, security_mirror=opts.security_mirror,
                        epoch=opts.epoch)  # fmt: skip
    timer.step("wheels")
    root = work / "root"
    rootfs.bootstrap(board, root, made, cache=cache / "apt", mirror=opts.mirror, security_mirror=opts.security_mirror,
                     epoch=opts.epoch)  # fmt: skip
    timer.step("debian")
    owner = rootfs.configure(root, PROJECT, rootfs.Release(opts.version, board.name, built_at), trusted)
    if board.firmware_dir:
        kernel.compress_modules(root)
    trees = _stage_partitions(root, board, work)
    for tree in (root, *trees.values()):
        rootfs.clamp_times(tree, opts.epoch)
    (folder / "contents.txt").write_text(_contents(root), encoding="utf-8")
    root_bytes = _check_root_size(root)
    timer.step("configure")

    payloads = _filesystems(root, trees, folder, work, opts, owner)
    timer.step("filesystems")
    disk = work / "disk.img"
    layout.write_table(disk)
    partitions = [{"label": p.label, "start": p.start, "size": p.size,
                   "sha256": layout.place(disk, p, payloads[p.label])} for p in layout.LAYOUT]  # fmt: skip
    raw_sha256 = _compress(disk, folder / "disk.img.xz", opts.xz_level)
    timer.step("disk")

    extra = {"raw": {"size": layout.DISK_SIZE, "sha256": raw_sha256}, "partitions": partitions,
             "root_uncompressed_bytes": root_bytes, "contents_sha256": manifest.sha256_file(folder / "contents.txt"),
             "debian": {"suite": rootfs.SUITE, "mirror": opts.mirror}, "source_date_epoch": opts.epoch}  # fmt: skip
    image = manifest.Manifest("image", opts.version, board.name, built_at,
                              (manifest.payload_of(folder / "disk.img.xz"),), extra)  # fmt: skip
    manifest.write(image, folder, key)
    _bundle(folder, bundle, opts, built_at, root_bytes, key)
    timer.step("bundle")
    shutil.rmtree(work)
    return Built(folder, bundle, image, timer.steps, root_bytes, (folder / "disk.img.xz").stat().st_size)


def _check_root_size(root: Path) -> int:
    """The root's size in bytes; refused when it would not fit its slot, announced when above the issue's aim."""
    size, room = rootfs.tree_bytes(root), layout.part("rootA").size * 9 // 10  # ext4's own metadata takes the rest
    if size > room:
        raise BuildError(f"the root holds {size / 1e6:.0f} MB and a root slot {room / 1e6:.0f} MB: see contents.txt "
                         "for what is inside", where="root filesystem")  # fmt: skip
    if size > ROOT_AIM:
        print(f"image: WARNING: the root holds {size / 1e6:.0f} MB, above the {ROOT_AIM / 1e6:.0f} MB aim "
              "(see contents.txt)", flush=True)  # fmt: skip
    return size


def _stage_partitions(root: Path, board: rootfs.Board, work: Path) -> dict[str, Path]:
    """Folders holding what goes into the boot, config and data partitions."""
    boot, config, data = work / "boot", work / "config", work / "data"
    kernel.take_boot_files(root, board, boot)
    config.mkdir()
    shutil.copyfile(rootfs.RECIPE / "config" / "README.txt", config / "README.txt")
    if board.firmware_dir:
        shutil.copyfile(rootfs.RECIPE / board.name / "autoboot.txt", config / "autoboot.txt")
    data.mkdir(mode=0o700)  # mkfs copies the mode to the data partition's root: the appliance's, private
    return {"boot": boot, "config": config, "data": data}


def _filesystems(root: Path, trees: dict[str, Path], folder: Path, work: Path, opts: Options,
                 owner: tuple[int, int]) -> dict[str, Path | None]:  # fmt: skip
    """Each partition's filesystem as a file of the partition's size; None for the empty slot B."""
    version_tag = f"{opts.board.name}:{opts.version}"
    # The root needs no journal: it is never written on the device (updates replace it whole).
    layout.make_ext4(folder / "root.ext4", root, size=layout.part("rootA").size, label="root",
                     fs_uuid=layout.stable_uuid(f"root:{version_tag}"), epoch=opts.epoch, journal=False)  # fmt: skip
    layout.make_vfat(folder / "boot.vfat", trees["boot"], size=layout.part("bootA").size, label="boot",
                     epoch=opts.epoch)  # fmt: skip
    layout.make_vfat(work / "config.vfat", trees["config"], size=layout.part("config").size, label="config",
                     epoch=opts.epoch)  # fmt: skip
    layout.make_ext4(work / "data.ext4", trees["data"], size=layout.part("data").size, label="data",
                     fs_uuid=layout.stable_uuid("data"), epoch=opts.epoch, owner=owner)  # fmt: skip
    return {"config": work / "config.vfat", "bootA": folder / "boot.vfat", "bootB": None,
            "rootA": folder / "root.ext4", "rootB": None, "data": work / "data.ext4"}  # fmt: skip


def _compress(disk: Path, target: Path, level: int) -> str:
    """xz the raw disk into `target` while hashing it (one read of 3 GB, not two); the raw disk's SHA-256."""
    digest = hashlib.sha256()
    with target.open("wb") as out, disk.open("rb") as raw:
        xz = subprocess.Popen(["xz", "-T0", f"-{level}", "-c"], stdin=subprocess.PIPE, stdout=out)
        pipe = cast(IO[bytes], xz.stdin)
        try:
            for chunk in iter(lambda: raw.read(layout.CHUNK), b""):
                digest.update(chunk)
                pipe.write(chunk)
        except BrokenPipeError:
            pass  # xz stopped early: its exit code says why
        finally:
            pipe.close()
            code = xz.wait()
    if code != 0:
        raise BuildError(f"xz failed with exit code {code} (is the disk full?)", where="compressing the disk")
    return digest.hexdigest()


def _contents(root: Path) -> str:
    """The Debian packages and Python distributions in the root, `name version` a line: what to diff between builds."""
    packages = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f",
                    "${Package}:${Architecture} ${Version}\n"], step="listing the packages").stdout  # fmt: skip
    site = next((root / rootfs.VENV.lstrip("/") / "lib").glob("python3*/site-packages"))
    dists = sorted(d.name[: -len(".dist-info")].replace("-", " ", 1) for d in site.glob("*.dist-info"))
    return ("# Debian packages\n" + "".join(sorted(packages.splitlines(keepends=True))) + "# Python distributions in "
            f"{rootfs.VENV}\n" + "".join(f"{d}\n" for d in dists))  # fmt: skip


def _bundle(folder: Path, bundle: Path, opts: Options, built_at: str, root_bytes: int, key: Ed25519PrivateKey) -> None:
    """The update bundle: the slot payloads (sparse copies) and a manifest of kind "bundle"."""
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)
    for name in ("boot.vfat", "root.ext4"):
        layout.copy_sparse(folder / name, bundle / name, 0)
    payloads = tuple(manifest.payload_of(bundle / name) for name in ("boot.vfat", "root.ext4"))
    extra = {"root_uncompressed_bytes": root_bytes, "source_date_epoch": opts.epoch}
    manifest.write(manifest.Manifest("bundle", opts.version, opts.board.name, built_at, payloads, extra), bundle, key)


# -- command line ----------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m image.build", description=__doc__.splitlines()[0])
    parser.add_argument("--board", required=True, choices=sorted(rootfs.BOARDS))
    parser.add_argument("--key", required=True, type=Path,
                        help="Ed25519 signing key (PEM), kept outside the repository")  # fmt: skip
    parser.add_argument("--out", type=Path, default=PROJECT / "build" / "image", help="images go to OUT/<board>/")
    parser.add_argument("--bundle", type=Path, help="update bundles go to BUNDLE/<board>/ (default: OUT/../bundle)")
    parser.add_argument("--version", default=__version__, help=f"version stamped in the image (default {__version__})")
    parser.add_argument("--cache", type=Path, default=PROJECT / "build" / "cache",
                        help="downloaded Debian packages and pip's cache, kept between builds")  # fmt: skip
    parser.add_argument("--mirror", default=DEBIAN_MIRROR,
                        help="Debian mirror (a snapshot.debian.org URL pins versions)")  # fmt: skip
    parser.add_argument("--security-mirror", default=SECURITY_MIRROR, help="Debian security mirror")
    parser.add_argument("--xz-level", type=int, default=3, choices=range(10), metavar="0-9",
                        help="xz preset of disk.img.xz (default 3; 6: 10 %% smaller, twice the time)")  # fmt: skip
    args = parser.parse_args(argv)
    return Options(rootfs.BOARDS[args.board], args.key, args.out.resolve(),
                   (args.bundle or args.out.resolve().parent / "bundle").resolve(), args.version, args.cache.resolve(),
                   args.mirror, args.security_mirror, args.xz_level, source_date_epoch())  # fmt: skip


def report(built: Built) -> str:
    """The figures a technician (and the closing note of the issue) wants: time per step, sizes."""
    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in built.steps.items())
    m = built.manifest
    return (f"image: {m.board} {m.version} built in {sum(built.steps.values()):.0f} s ({steps})\n"
            f"image: root filesystem {built.root_bytes / 1e6:.0f} MB uncompressed "
            f"(slot {layout.part('rootA').size // MiB} MiB); "
            f"raw disk {layout.DISK_SIZE // MiB} MiB; disk.img.xz {built.compressed_bytes / 1e6:.1f} MB\n"
            f"image: {built.folder} (manifest signed), update bundle {built.bundle}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    try:
        built = build(parse(argv))
    except ConfigError as exc:
        print(f"image build: {exc}", file=sys.stderr)
        return 2
    except ApplianceError as exc:
        print(f"image build failed: {exc}", file=sys.stderr)
        return 1
    print(report(built), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
