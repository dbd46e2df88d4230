"""The device image: the amd64 image built once per session (python -m image.build), then its partition table,
signed manifest and hashes checked, and its root filesystem run in a chroot. Small filesystems are also made twice
from trees made at different times to show the bytes do not depend on when.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance import __version__
from image import layout, manifest
from image.host import missing_tools
from image.rootfs import clamp_times

PROJECT = Path(__file__).resolve().parent.parent
EPOCH = 1700000000  # SOURCE_DATE_EPOCH of the test build: 2023-11-14T22:13:20Z
MiB = 1024 * 1024


def need_tools() -> None:
    packages = missing_tools()
    if packages:
        pytest.fail(f"missing Debian packages {', '.join(packages)}: `make test-system` installs them")


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the image build needs root (mmdebstrap's chroot, root-owned files); CI runs as root")


@dataclass(frozen=True)
class Image:
    folder: Path  # OUT/amd64: disk.img.xz, root.ext4, boot.vfat, manifest
    bundle: Path  # the update bundle
    public_key: Path
    work: Path  # the session's scratch folder

    @property
    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> Image:
    """The amd64 image, built once for the whole session with a throwaway key."""
    need_root()
    need_tools()
    work = tmp_path_factory.mktemp("image")
    manifest.new_key(work / "key.pem", work / "key.pub")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "image.build", "--board", "amd64", "--key", str(work / "key.pem"),
                             "--out", str(work / "image")], cwd=PROJECT, capture_output=True, text=True,
                            env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}, timeout=1800)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    print("\n" + "\n".join(result.stdout.strip().splitlines()[-3:]))
    print(f"image build in the test session: {time.monotonic() - started:.0f} s")
    return Image(work / "image" / "amd64", work / "bundle" / "amd64", work / "key.pub", work)


@pytest.fixture(scope="session")
def raw_disk(image: Image) -> Path:
    path = image.work / "disk.img"
    with path.open("wb") as out:
        subprocess.run(["xz", "-dc", "-T0", str(image.folder / "disk.img.xz")], stdout=out, check=True)
    return path


@pytest.fixture(scope="session")
def root(image: Image) -> Path:
    """The root filesystem's tree, extracted from root.ext4 with debugfs (no mount), owners kept."""
    tree = image.work / "root"
    tree.mkdir()
    subprocess.run(["debugfs", "-R", f"rdump / {tree}", str(image.folder / "root.ext4")], capture_output=True,
                   check=True)  # fmt: skip
    return tree


def service_user(root: Path) -> list[str]:
    """The appliance user's /etc/passwd fields in the root."""
    return next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("appliance:"))  # fmt: skip


def in_root(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", str(root), *argv], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})  # fmt: skip


# -- the disk --------------------------------------------------------------------------


def test_the_disk_has_six_aligned_gpt_partitions_with_the_layout_labels_and_sizes(raw_disk):
    table = json.loads(subprocess.run(["sfdisk", "--json", str(raw_disk)], capture_output=True, text=True,
                                      check=True).stdout)["partitiontable"]  # fmt: skip
    assert table["label"] == "gpt" and table["sectorsize"] == 512
    assert raw_disk.stat().st_size == layout.DISK_SIZE
    found = [(p["name"], p["start"] * 512, p["size"] * 512) for p in table["partitions"]]
    assert found == [("config", 1 * MiB, 64 * MiB), ("bootA", 65 * MiB, 256 * MiB), ("bootB", 321 * MiB, 256 * MiB),
                     ("rootA", 577 * MiB, 1024 * MiB), ("rootB", 1601 * MiB, 1024 * MiB),
                     ("data", 2625 * MiB, 512 * MiB)]  # fmt: skip
    assert all(start % MiB == 0 and size % MiB == 0 for _, start, size in found)
    types = {p["name"]: p["type"] for p in table["partitions"]}
    assert types["config"] == types["bootA"] == layout.BASIC_DATA and types["rootA"] == types["data"] == layout.LINUX_FS
    print(f"\ndisk: {raw_disk.stat().st_size // MiB} MiB raw, {len(found)} partitions")


def test_the_manifest_verifies_with_the_build_key_and_not_once_altered(image, tmp_path):
    keys = manifest.trusted_keys([image.public_key])
    signed = manifest.verify(image.folder, keys, kind="image", board="amd64")
    assert (signed.version, signed.built_at) == (__version__, "2023-11-14T22:13:20Z")
    assert [p.name for p in signed.payloads] == ["disk.img.xz"]
    bundle = manifest.verify(image.bundle, keys, kind="bundle", board="amd64")
    assert [p.name for p in bundle.payloads] == ["boot.vfat", "root.ext4"]

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    body = bytearray((image.folder / "manifest.json").read_bytes())
    body[len(body) // 2] ^= 0x01
    (tampered / "manifest.json").write_bytes(bytes(body))
    shutil.copyfile(image.folder / "manifest.sig", tampered / "manifest.sig")
    with pytest.raises(manifest.ManifestError, match="does not match the manifest"):
        manifest.verify(tampered, keys, kind="image")
    manifest.new_key(tmp_path / "other.pem", tmp_path / "other.pub")
    with pytest.raises(manifest.ManifestError, match="under any trusted key"):
        manifest.verify(image.folder, manifest.trusted_keys([tmp_path / "other.pub"]), kind="image")


def sha256_of(stream, size: int) -> str:
    digest = hashlib.sha256()
    while size:
        chunk = stream.read(min(size, MiB))
        digest.update(chunk)
        size -= len(chunk)
    return digest.hexdigest()


def test_the_disk_and_every_partition_match_their_hashes_in_the_manifest(image, raw_disk):
    signed = manifest.verify(image.folder, manifest.trusted_keys([image.public_key]), kind="image")
    manifest.check_payload(image.folder, signed.payload("disk.img.xz"))
    assert signed.extra["raw"] == {"size": raw_disk.stat().st_size, "sha256": manifest.sha256_file(raw_disk)}
    with raw_disk.open("rb") as disk:
        for part in signed.extra["partitions"]:
            disk.seek(part["start"])
            assert sha256_of(disk, part["size"]) == part["sha256"], part["label"]
    by_label = {p["label"]: p for p in signed.extra["partitions"]}
    with open("/dev/zero", "rb") as zeros:  # the factory image's slot B is empty
        assert by_label["bootB"]["sha256"] == sha256_of(zeros, by_label["bootB"]["size"])
        assert by_label["rootB"]["sha256"] == sha256_of(zeros, by_label["rootB"]["size"])
    # The update bundle carries exactly slot A's bytes.
    bundle = manifest.verify(image.bundle, manifest.trusted_keys([image.public_key]), kind="bundle")
    for payload in bundle.payloads:
        manifest.check_payload(image.bundle, payload)
    assert bundle.payload("root.ext4").sha256 == by_label["rootA"]["sha256"]
    assert bundle.payload("boot.vfat").sha256 == by_label["bootA"]["sha256"]


def test_sizes_stay_within_the_issue_limits(image):
    extra = image.manifest["extra"]
    root_bytes, compressed = extra["root_uncompressed_bytes"], (image.folder / "disk.img.xz").stat().st_size
    print(f"\nroot filesystem {root_bytes / 1e6:.0f} MB uncompressed, disk.img.xz {compressed / 1e6:.1f} MB, "
          f"raw disk {extra['raw']['size'] // MiB} MiB")  # fmt: skip
    assert root_bytes < 600e6 and compressed < 200e6


# -- the root filesystem ---------------------------------------------------------------


def test_the_appliance_runs_in_the_root_with_its_c_module_and_default_config(root):
    version = in_root(root, "/opt/appliance/bin/appliance", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"appliance {__version__} (native: C hot path)"
    check = in_root(root, "/opt/appliance/bin/appliance", "--config", "/etc/appliance/shop.toml", "config", "check")
    assert check.returncode == 0, check.stderr
    assert "# database: /var/lib/appliance/appliance.db" in check.stdout


def test_systemd_analyze_verify_passes_on_the_units_inside_the_root(root):
    units = sorted(p.name for p in (PROJECT / "systemd").iterdir() if p.suffix in (".service", ".timer"))
    assert "appliance.service" in units
    result = in_root(root, "systemd-analyze", "verify", *[f"/etc/systemd/system/{u}" for u in units])
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    for unit in units:  # enabled where its [Install] section says
        for target in re.findall(r"^WantedBy=(.+)$", (root / "etc/systemd/system" / unit).read_text(), re.M):
            assert (root / f"etc/systemd/system/{target}.wants/{unit}").is_symlink(), f"{unit} not in {target}"
    assert (root / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service").is_symlink()
    rules = "99-appliance.rules"
    assert (root / "etc/udev/rules.d" / rules).read_bytes() == (PROJECT / "systemd" / rules).read_bytes()
    assert (root / "usr/lib/tmpfiles.d/appliance.conf").exists()


def test_root_is_read_only_with_data_tmp_and_logs_elsewhere(root):
    mounts = {}
    for line in (root / "etc/fstab").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            source, target, fstype, options, *_ = line.split()
            mounts[target] = (source, fstype, options.split(","))
    assert "ro" in mounts["/"][2] and "rw" not in mounts["/"][2]
    assert mounts["/var/lib/appliance"][:2] == ("PARTLABEL=data", "ext4")
    assert mounts["/boot/config"][:2] == ("PARTLABEL=config", "vfat")
    assert {mounts[m][1] for m in ("/tmp", "/var/tmp", "/var/log", "/var/lib/systemd")} == {"tmpfs"}
    for mount_point in mounts:
        assert (root / mount_point.lstrip("/")).is_dir(), f"{mount_point} must exist in the read-only root"
    journald = (root / "etc/systemd/journald.conf.d/appliance.conf").read_text()
    assert "Storage=volatile" in journald and "RuntimeMaxUse=" in journald


def test_the_root_names_its_release_and_trusts_the_build_key(image, root):
    release = dict(line.split("=", 1) for line in (root / "etc/appliance/release").read_text().splitlines()
                   if "=" in line and not line.startswith("#"))  # fmt: skip
    assert release == {"version": __version__, "board": "amd64", "built_at": "2023-11-14T22:13:20Z"}
    keys = list((root / "etc/appliance/trusted-keys").glob("*.pub"))
    assert [k.read_text() for k in keys] == [image.public_key.read_text()]
    user = service_user(root)
    assert user[6] == "/usr/sbin/nologin" and int(user[2]) < 1000


def test_the_data_partition_belongs_to_the_service_user_and_is_private(image, root, raw_disk):
    data = next(p for p in image.manifest["extra"]["partitions"] if p["label"] == "data")
    part = image.work / "data.ext4"
    with raw_disk.open("rb") as disk, part.open("wb") as out:
        disk.seek(data["start"])
        out.write(disk.read(data["size"]))
    stat = subprocess.run(["debugfs", "-R", "stat /", str(part)], capture_output=True, text=True, check=True).stdout
    user = service_user(root)
    owner = re.search(r"User:\s+(\d+)\s+Group:\s+(\d+)", stat)
    assert owner and owner.groups() == (user[2], user[3]), stat[:300]
    assert re.search(r"Type: directory\s+Mode:\s+0700", stat), stat[:300]


# -- reproducibility of the filesystems ------------------------------------------------


def make_tree(folder: Path) -> Path:
    (folder / "etc/appliance").mkdir(parents=True)
    (folder / "etc/appliance/shop.toml").write_text('[paths]\ndata_dir = "/var/lib/appliance"\n')
    (folder / "overlays").mkdir()
    for name in ("bcm2711-rpi-4-b.dtb", "bcm2711-rpi-cm4.dtb", "README.txt"):
        (folder / "overlays" / name).write_bytes(name.encode() * 100)
    (folder / "link").symlink_to("etc/appliance/shop.toml")
    return folder


def test_the_same_tree_made_at_two_moments_gives_the_same_filesystem_bytes(tmp_path):
    need_tools()
    outputs = []
    for n in (1, 2):
        tree = make_tree(tmp_path / f"tree{n}")  # new inodes, new ctimes each time
        clamp_times(tree, EPOCH)
        ext4, vfat = tmp_path / f"root{n}.ext4", tmp_path / f"boot{n}.vfat"
        layout.make_ext4(ext4, tree, size=16 * MiB, label="root", fs_uuid=layout.stable_uuid("test"), epoch=EPOCH)
        layout.make_vfat(vfat, tree, size=64 * MiB, label="boot", epoch=EPOCH)
        outputs.append((manifest.sha256_file(ext4), manifest.sha256_file(vfat)))
        time.sleep(1.1)  # the second tree is made in another second
    assert outputs[0] == outputs[1]
    listing = subprocess.run(["mdir", "-i", str(tmp_path / "boot1.vfat"), "::/overlays"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    assert "bcm2711-rpi-4-b.dtb" in listing and "2023-11-14" in listing
    text = subprocess.run(["debugfs", "-R", "cat /etc/appliance/shop.toml", str(tmp_path / "root1.ext4")],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert text == '[paths]\ndata_dir = "/var/lib/appliance"\n'


def test_the_layout_is_the_shared_one_and_the_table_script_is_fixed():
    assert [p.label for p in layout.LAYOUT] == ["config", "bootA", "bootB", "rootA", "rootB", "data"]
    assert all(p.start % MiB == 0 for p in layout.LAYOUT)
    assert all(a.start + a.size == b.start for a, b in zip(layout.LAYOUT, layout.LAYOUT[1:]))
    assert layout.sfdisk_script() == layout.sfdisk_script() and "label-id: " in layout.sfdisk_script()
    assert layout.stable_uuid("partition:rootA") == layout.part("rootA").guid


def test_appliance_flash_writes_the_built_image_to_a_file_and_verifies_the_read_back(image, tmp_path):
    target = tmp_path / "card.img"
    result = subprocess.run([sys.executable, "-m", "image.flash", str(image.folder), str(target), "--trusted-key",
                             str(image.public_key), "--board", "amd64", "--yes"], cwd=PROJECT, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    raw = image.manifest["extra"]["raw"]
    assert target.stat().st_size >= raw["size"]
    digest = hashlib.sha256()
    with target.open("rb") as written:
        for chunk in iter(lambda: written.read(MiB), b""):
            digest.update(chunk)
    assert digest.hexdigest() == raw["sha256"]


def test_the_built_update_bundle_installs_into_a_simulated_slot_and_boots_on_trial(image, tmp_path):
    from image.bootenv import FileBootEnv
    from image.update import SlotTargets, install

    env, targets = FileBootEnv(tmp_path / "config"), SlotTargets(tmp_path / "parts")
    env.folder.mkdir()
    targets.folder.mkdir()
    env.boot()
    slot, bundle = install(image.bundle, env, targets, manifest.trusted_keys([image.public_key]), board="amd64")
    assert slot == "B" and bundle.version == __version__
    assert (targets.folder / "rootB").read_bytes() == (image.bundle / "root.ext4").read_bytes()
    assert env.boot() == "B"


def test_a_signing_key_git_would_commit_is_refused_before_any_work(tmp_path):
    from appliance.errors import ConfigError
    from image.build import check_key_location, source_date_epoch

    with pytest.raises(ConfigError, match="git would commit it"):
        check_key_location(PROJECT / "image" / "signing-key.pem")
    check_key_location(PROJECT / "build" / "throwaway-signing-key.pem")  # ignored by git: make image's throwaway key
    check_key_location(tmp_path / "key.pem")  # outside the repository
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        source_date_epoch({"SOURCE_DATE_EPOCH": "yesterday"})
    assert source_date_epoch({"SOURCE_DATE_EPOCH": str(EPOCH)}) == EPOCH
