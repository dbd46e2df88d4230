"""appliance-flash: verify before writing, refuse the wrong target, write, read back; exit codes a script can use.

Disks are played by regular files and, as root, by loop devices (real block devices the
kernel can mount). The image is the small signed one of tests/disk_image.py.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from image import disks, flash, manifest
from image.progress import MB, Progress, line
from tests.disk_image import SECTOR, make_signed_image, outside_config, read_fat_file, sign_image

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "disks"
MiB = 1024 * 1024  # loop devices come in whole sectors


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return make_signed_image(tmp_path_factory.mktemp("built"))


@pytest.fixture
def image(built, tmp_path):
    """A copy of the signed image each test may tamper with."""
    folder = tmp_path / "image"
    shutil.copytree(built.folder, folder)
    return folder


def run_flash(*args: str | Path, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "image.flash", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, stdin=subprocess.DEVNULL, preexec_fn=preexec, timeout=120)  # fmt: skip


# -- the whole command, end to end -----------------------------------------------------------


def test_flashes_a_file_reads_it_back_and_reports_progress(built, image, tmp_path):
    target = tmp_path / "card.img"
    result = run_flash(image, target, "--trusted-key", built.public_key, "--board", "amd64")
    assert result.returncode == flash.EXIT_OK, result.stderr
    assert target.read_bytes() == built.raw_bytes
    assert "read back and verified" in result.stdout
    assert "verified: image 0.1.0 for amd64" in result.stderr
    # stderr is not a terminal here: whole lines, the last one of each phase at 100 %
    assert "writing   [########################] 100%" in result.stderr
    assert "verifying [########################] 100%" in result.stderr
    assert "MB/s" in result.stderr and "ETA 0:00" in result.stderr


def test_flashing_overwrites_an_existing_longer_file(built, image, tmp_path):
    target = tmp_path / "card.img"
    target.write_bytes(b"\xff" * (len(built.raw_bytes) + 4096))
    assert flash.main([str(image), str(target), "--trusted-key", str(built.public_key)]) == flash.EXIT_OK
    assert target.read_bytes() == built.raw_bytes


def test_an_unsigned_image_is_refused_before_anything_is_written(built, image, tmp_path, capsys):
    (image / "manifest.sig").unlink()
    target = tmp_path / "card.img"
    assert flash.main([str(image), str(target), "--trusted-key", str(built.public_key)]) == flash.EXIT_VERIFY
    assert "manifest.sig is missing: this is not a signed image" in capsys.readouterr().err
    assert not target.exists()


def test_a_tampered_manifest_is_refused(built, image, tmp_path, capsys):
    body = (image / "manifest.json").read_text().replace('"0.1.0"', '"9.9.9"')
    (image / "manifest.json").write_text(body)
    target = tmp_path / "card.img"
    assert flash.main([str(image), str(target), "--trusted-key", str(built.public_key)]) == flash.EXIT_VERIFY
    assert "the signature does not match the manifest" in capsys.readouterr().err
    assert not target.exists()


def test_tampered_image_bytes_are_refused(built, image, tmp_path, capsys):
    payload = bytearray((image / "disk.img.xz").read_bytes())
    payload[len(payload) // 2] ^= 0x01
    (image / "disk.img.xz").write_bytes(bytes(payload))
    target = tmp_path / "card.img"
    assert flash.main([str(image), str(target), "--trusted-key", str(built.public_key)]) == flash.EXIT_VERIFY
    assert "disk.img.xz does not match its SHA-256" in capsys.readouterr().err
    assert not target.exists()


def test_an_image_for_another_board_is_refused(built, image, tmp_path, capsys):
    target = tmp_path / "card.img"
    code = flash.main([str(image), str(target), "--trusted-key", str(built.public_key), "--board", "rpi-arm64"])
    assert code == flash.EXIT_VERIFY
    assert "for board 'amd64', this one is 'rpi-arm64'" in capsys.readouterr().err


def test_an_image_signed_by_an_untrusted_key_is_refused(image, tmp_path, capsys):
    manifest.new_key(tmp_path / "other.pem", tmp_path / "other.pub")
    code = flash.main([str(image), str(tmp_path / "card.img"), "--trusted-key", str(tmp_path / "other.pub")])
    assert code == flash.EXIT_VERIFY
    assert "signed by someone else" in capsys.readouterr().err


def test_no_trusted_key_is_a_usage_error(image, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(flash, "TRUSTED_KEYS", tmp_path / "no-keys")
    assert flash.main([str(image), str(tmp_path / "card.img")]) == flash.EXIT_USAGE
    assert "no trusted key: pass --trusted-key FILE" in capsys.readouterr().err


def test_missing_arguments_are_a_usage_error(capsys):
    assert flash.main([]) == flash.EXIT_USAGE
    assert "name IMAGE_DIR and TARGET, or use --list" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        flash.main(["--board", "sparc"])
    assert exited.value.code == flash.EXIT_USAGE


def test_an_image_that_decompresses_to_more_than_signed_is_stopped(built, tmp_path, capsys):
    folder = tmp_path / "lying"
    sign_image(folder, built.raw, built.private_key, raw_size=len(built.raw_bytes) - SECTOR)
    target = tmp_path / "card.img"
    assert flash.main([str(folder), str(target), "--trusted-key", str(built.public_key)]) == flash.EXIT_VERIFY
    assert "decompresses to more than the manifest's" in capsys.readouterr().err
    assert target.stat().st_size <= len(built.raw_bytes) - SECTOR


def test_a_write_that_fails_midway_exits_5(built, image, tmp_path):
    """The file size limit stands in for a card that fails: the kernel answers EFBIG after 3 MiB."""
    limit = 3 * 1024 * 1024

    def small_card() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    target = tmp_path / "card.img"
    result = run_flash(image, target, "--trusted-key", built.public_key, preexec=small_card)
    assert result.returncode == flash.EXIT_WRITE, result.stderr
    assert f"writing stopped after {limit} bytes (File too large); the target is unusable" in result.stderr
    assert target.stat().st_size == limit


def test_a_read_back_that_differs_exits_6(built, image, tmp_path):
    keys = manifest.trusted_keys([built.public_key])
    verified = flash.verified_image(image, keys, None)
    target = tmp_path / "card.img"
    data = bytearray(built.raw_bytes)
    data[5 * MB] ^= 0x80  # one bit the card did not keep
    target.write_bytes(bytes(data))
    quiet = Progress("verifying", verified.raw_size, stream=io.StringIO())
    with pytest.raises(flash.ReadBackMismatch) as refused:
        flash.read_back(verified, flash.Target(target, False, 0), quiet)
    assert refused.value.exit_code == flash.EXIT_READBACK
    target.write_bytes(built.raw_bytes[: 4 * MB])  # a fake card: smaller than it claims
    with pytest.raises(flash.ReadBackMismatch, match=r"what reads back \(4000000 bytes\)"):
        flash.read_back(verified, flash.Target(target, False, 0), quiet)


def test_a_missing_device_or_folder_is_refused(built, image, tmp_path, capsys):
    for target in ("/dev/sdzz9", str(tmp_path / "no-such-folder" / "card.img")):
        assert flash.main([str(image), target, "--trusted-key", str(built.public_key)]) == flash.EXIT_TARGET
        assert "there is no such disk or folder" in capsys.readouterr().err
    assert not Path("/dev/sdzz9").exists()


def test_provisioning_while_flashing_changes_only_partition_1(built, image, tmp_path):
    prov = tmp_path / "prov.toml"
    prov.write_text('[device]\nid = "T07"\n[shop]\nid = "shop-3"\n')
    target = tmp_path / "card.img"
    result = run_flash(image, target, "--trusted-key", built.public_key, "--provision", prov)
    assert result.returncode == flash.EXIT_OK, result.stderr
    assert "provisioned:" in result.stdout and "partition 1 (config)" in result.stdout
    written = target.read_bytes()
    assert outside_config(written) == outside_config(built.raw_bytes)
    assert read_fat_file(target, "provision.toml") == prov.read_text()
    assert read_fat_file(target, "autoboot.txt").startswith("[all]")


def test_a_bad_provisioning_file_stops_flashing_before_it_starts(built, image, tmp_path, capsys):
    prov = tmp_path / "prov.toml"
    prov.write_text('[device]\nid = "t-7"\n[shop]\nid = "shop-3"\n')
    target = tmp_path / "card.img"
    code = flash.main([str(image), str(target), "--trusted-key", str(built.public_key), "--provision", str(prov)])
    assert code == flash.EXIT_USAGE
    assert "[device] id: must be 1-8 capital letters or digits" in capsys.readouterr().err
    assert not target.exists()


# -- real block devices (root: loop devices) -------------------------------------------------


@pytest.fixture
def loop(tmp_path):
    """Loop devices over files in tmp_path: `loop(size)` gives the device path; all detached at the end."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("loop devices need root and losetup (mount package)")
    attached: list[str] = []

    def attach(size: int) -> Path:
        backing = tmp_path / f"loop{len(attached)}.img"
        backing.write_bytes(b"\0" * size)
        result = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"no loop device here: {result.stderr.strip()}")
        attached.append(result.stdout.strip())
        return Path(attached[-1])

    yield attach
    for device in attached:
        subprocess.run(["losetup", "--detach", device], check=False)


def test_flashes_a_real_block_device_with_yes(built, image, loop):
    device = loop(len(built.raw_bytes) + MiB)
    assert flash.main([str(image), str(device), "--trusted-key", str(built.public_key)]) == flash.EXIT_USAGE
    assert flash.main([str(image), str(device), "--trusted-key", str(built.public_key), "--yes"]) == flash.EXIT_OK
    with device.open("rb") as disk:
        assert disk.read(len(built.raw_bytes)) == built.raw_bytes


def test_a_disk_too_small_is_refused_even_when_forced(built, image, loop, capsys):
    device = loop(4 * MiB)
    args = [str(image), str(device), "--trusted-key", str(built.public_key), "--yes", "--force"]
    assert flash.main(args) == flash.EXIT_TARGET
    assert "the disk holds 4 MB, the image needs 8 MB: use a bigger card" in capsys.readouterr().err
    with device.open("rb") as disk:
        assert disk.read() == bytes(4 * MiB)


def test_a_file_system_too_small_for_the_file_is_refused(built, image, tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        code = flash.main([str(image), str(small / "card.img"), "--trusted-key", str(built.public_key)])
        assert code == flash.EXIT_TARGET
        assert "MB free there, the image needs 8 MB" in capsys.readouterr().err
        assert not (small / "card.img").exists()
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_a_mounted_disk_is_refused_and_left_alone(built, image, loop, tmp_path, capsys):
    device = loop(16 * MiB)
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 (e2fsprogs) is missing")
    subprocess.run(["mkfs.ext4", "-q", str(device)], check=True)
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    subprocess.run(["mount", str(device), str(mounted)], check=True)
    try:
        with device.open("rb") as disk:
            before = disk.read()
        args = [str(image), str(device), "--trusted-key", str(built.public_key), "--yes"]
        assert flash.main(args) == flash.EXIT_TARGET
        assert f"is in use: {device.name} is mounted at {mounted}. Unmount it first" in capsys.readouterr().err
        with device.open("rb") as disk:
            assert disk.read() == before
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


def test_the_disk_this_machine_runs_from_is_refused():
    """check_target only reads: this never writes, whatever it answers."""
    root = os.stat("/").st_dev
    if os.major(root) == 0:
        pytest.skip("/ is on no block device here (an overlay or tmpfs root)")
    host = disks.Host()
    disk = host.disk_of((os.major(root), os.minor(root)))
    path = Path("/dev") / host.name(disk)
    if disks.device_number(path) != disk:
        pytest.skip(f"{path} is not the node of the root disk here")
    with pytest.raises(flash.TargetRefused, match=r"holds the running system \(/\)"):
        flash.check_target(path, 1)


# -- the kernel's tables: mountinfo, sysfs ---------------------------------------------------


def test_the_real_mountinfo_parses_and_has_the_root():
    mounts = disks.Host().mounts()
    root = [m for m in mounts if m.point == "/"]
    assert root, "no / in /proc/self/mountinfo"
    dev = os.stat("/").st_dev
    assert root[-1].device == (os.major(dev), os.minor(dev))
    proc = next(m for m in mounts if m.point == "/proc")
    assert proc.fstype == "proc"


def test_a_crafted_mountinfo_with_tags_and_escapes():
    mounts = disks.parse_mountinfo((FIXTURES / "mountinfo.txt").read_text())
    card = next(m for m in mounts if m.device == (8, 1))
    assert (card.point, card.fstype, card.source) == ("/media/tech/CONFIG CARD", "vfat", "/dev/sda1")
    assert next(m for m in mounts if m.point == "/").source == "/dev/mapper/vg-root"
    with pytest.raises(disks.DiskError, match="mountinfo line 1"):
        disks.parse_mountinfo("22 27 0:21 / /proc rw\n")


@pytest.fixture
def crafted_host(tmp_path) -> disks.Host:
    """A laptop: / on LVM on nvme0n1p2, /boot/efi on nvme0n1p1; a card in sda, sda1 mounted, sda6 opened by LUKS."""
    sys_root, proc = tmp_path / "sys", tmp_path / "proc"

    def block(path: Path, dev: str, partition: int | None = None) -> Path:
        path.mkdir(parents=True)
        (path / "dev").write_text(dev + "\n")
        if partition is not None:
            (path / "partition").write_text(f"{partition}\n")
        (sys_root / "dev" / "block").mkdir(parents=True, exist_ok=True)
        (sys_root / "dev" / "block" / dev).symlink_to(path)
        return path

    devices = sys_root / "devices"
    nvme = block(devices / "pci0" / "nvme0n1", "259:0")
    block(nvme / "nvme0n1p1", "259:1", 1)
    p2 = block(nvme / "nvme0n1p2", "259:2", 2)
    dm = block(devices / "virtual" / "dm-1", "253:1")
    (dm / "slaves").mkdir()
    (dm / "slaves" / "nvme0n1p2").symlink_to(p2)
    (p2 / "holders").mkdir()
    (p2 / "holders" / "dm-1").symlink_to(dm)
    sda = block(devices / "usb1" / "sda", "8:0")
    block(sda / "sda1", "8:1", 1)
    sda6 = block(sda / "sda6", "8:6", 6)
    (sda6 / "holders").mkdir()
    (sda6 / "holders" / "dm-3").mkdir()
    (proc / "self").mkdir(parents=True)
    shutil.copy(FIXTURES / "mountinfo.txt", proc / "self" / "mountinfo")
    (proc / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    return disks.Host(proc=proc, sys=sys_root)


def test_the_system_disk_is_found_through_lvm(crafted_host):
    assert crafted_host.system_disks() == {(259, 0)}
    assert "nvme0n1p1 is mounted at /boot/efi" in crafted_host.in_use((259, 0))


def test_a_card_with_a_mounted_partition_and_an_open_volume_is_in_use(crafted_host):
    assert crafted_host.in_use((8, 0)) == [
        "sda1 is mounted at /media/tech/CONFIG CARD",
        "sda6 is held by dm-3 (an encrypted, LVM or RAID volume)",
    ]
    assert crafted_host.is_partition((8, 1)) and not crafted_host.is_partition((8, 0))
    assert crafted_host.disk_of((8, 6)) == (8, 0)


# -- listing removable disks -------------------------------------------------------------------


def test_removable_disks_from_a_recorded_lsblk():
    found = disks.removable_disks(json.loads((FIXTURES / "lsblk.json").read_text()), exclude={"/dev/sdd"})
    assert [(d.path, d.size, d.transport, d.model, d.mountpoints) for d in found] == [
        ("/dev/sda", 31914983424, "usb", "SD/MMC Reader", ("/media/tech/CONFIG", "/media/tech/data", "/mnt/data")),
        ("/dev/sdc", 15631122432, "usb", "Ultra Fit", ()),
        ("/dev/mmcblk0", 63864569856, "", "", ()),
    ]  # not: loop0, the empty reader sdb, the excluded sdd, nvme0n1, zram0


def test_list_runs_lsblk_for_real():
    result = run_flash("--list")
    assert result.returncode == flash.EXIT_OK, result.stderr
    assert result.stdout.startswith("PATH") or "no removable disk found" in result.stderr
    system = {f"/dev/{disks.Host().name(d)}" for d in disks.Host().system_disks()}
    assert not any(line.split()[0] in system for line in result.stdout.splitlines()[1:])


# -- the documentation ---------------------------------------------------------------------------


def test_every_option_and_exit_code_is_documented():
    text = (ROOT / "docs" / "image-field.md").read_text(encoding="utf-8")
    for action in flash.build_parser()._actions:
        for name in action.option_strings or [action.metavar]:
            assert name in ("-h", "--help") or f"| `{name}" in text, f"{name} is not in docs/image-field.md"
    for code in (flash.EXIT_OK, flash.EXIT_USAGE, flash.EXIT_VERIFY, flash.EXIT_TARGET, flash.EXIT_WRITE,
                 flash.EXIT_READBACK):  # fmt: skip
        assert f"\n| {code} | " in text, f"exit code {code} is not in the table"


# -- the progress line ---------------------------------------------------------------------------


def test_the_progress_line_says_bytes_rate_and_time_left():
    text = line("writing", 1234 * MB, 3221 * MB, 29.7)
    assert text == "writing   [#########...............]  38%     1234 / 3221 MB    41.5 MB/s  ETA 0:48"
    assert line("writing", 0, 3221 * MB, 0.0).endswith("0.0 MB/s  ETA ?")
    assert line("verifying", 5 * MB, 7200 * MB, 1.0).endswith("ETA 23:59")
    assert line("writing", 1 * MB, 7200 * MB, 1.0).endswith("ETA 1:59:59")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_in_place_on_a_terminal_and_writes_lines_in_a_log():
    clock, log = Clock(), io.StringIO()
    progress = Progress("writing", 100 * MB, stream=log, clock=clock)
    for second in range(1, 12):
        clock.now = float(second)
        progress.update(second * 5 * MB)
    progress.finish()
    lines = log.getvalue().splitlines()
    assert [text.split("]")[1].split()[0] for text in lines] == ["25%", "50%", "55%"]  # every 5 s, then the end
    clock, screen = Clock(), Tty()
    progress = Progress("verifying", 10 * MB, stream=screen, clock=clock)
    clock.now = 1.0
    progress.update(10 * MB)
    progress.finish()
    assert screen.getvalue().count("\r") == 2 and screen.getvalue().endswith("ETA 0:00\n")
