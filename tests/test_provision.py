"""Provisioning: the file checked, written onto a disk's config partition, applied once at first boot
against a real head office, its code removed from the card; and the factory reset.

The boot (config) partition and the data partition are played by two folders; head office
is the real hq server of tests/hq_server.py, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import builtins
import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import config
from appliance.cli import build_parser, main
from appliance.errors import ConfigError
from appliance.store.db import Store
from image import firstboot, provision
from tests.disk_image import make_raw_disk, outside_config, read_fat_file
from tests.fault_proxy import FaultProxy

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "appliance-firstboot.service"
BASE = '[shop]\nname = "Test Mart"\n\n[receipt]\nwidth = 42\n'


def prov_text(url: str = "https://ho.example.com", code: str | None = "0123456789abcdef", device: str = "T03") -> str:
    text = f'# terminal 3 of shop 12\n[device]\nid = "{device}"\n\n[shop]\nid = "shop-12"\n\n[sync]\nurl = "{url}"\n'
    if code is not None:
        text += f'enrollment_code = "{code}"\n'
    return text + '\n[time]\nzone = "Europe/Berlin"\n\n[console]\nlanguage = "en"\n'


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


# -- the file --------------------------------------------------------------------------------


def test_a_full_provisioning_file_parses():
    prov = provision.parse(prov_text(code=" 0123456789ABCDEF "), "prov.toml")
    assert prov == provision.Provisioning("T03", "shop-12", "https://ho.example.com", "0123456789abcdef",
                                          "Europe/Berlin", "en")  # fmt: skip
    assert "0123456789abcdef" not in prov.scrubbed_text("applied")
    assert provision.parse(prov.scrubbed_text("applied"), "x").fingerprint() == prov.fingerprint()


def test_device_and_shop_are_enough():
    prov = provision.parse('[device]\nid = "T1"\n[shop]\nid = "s1"\n', "prov.toml")
    assert (prov.sync_url, prov.enrollment_code, prov.zone, prov.language) == ("", "", None, None)


@pytest.mark.parametrize(("text", "where", "message"), [
    ('[shop]\nid = "s1"\n', "[device] id", "is missing"),
    ('[device]\nid = "T1"\n', "[shop] id", "is missing"),
    ('[device]\nid = "t-1"\n[shop]\nid = "s1"\n', "[device] id", "must be 1-8 capital letters or digits"),
    ('[device]\nid = "T1"\n[shop]\nid = "shop 1"\n', "[shop] id", "must be 1-64 letters"),
    ('[device]\nid = "T1"\n[shop]\nid = 12\n', "[shop] id", "must be a string in quotes, not int"),
    ('[device]\nid = "T1"\nname = "x"\n[shop]\nid = "s1"\n', "[device] name", "unknown key; [device] has id"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[paths]\ndata_dir = "/"\n', "[paths]", "unknown section"),
    ('device = "T1"\n[shop]\nid = "s1"\n', "[device]", "must be a table"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[time]\nzone = "Mars/Olympus"\n', "[time] zone", "not a known time zone"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[console]\nlanguage = "fr"\n', "[console] language", "must be one of"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[sync]\nurl = "ftp://x"\n', "[sync] url", "http(s) address"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[sync]\nurl = "https://ho"\nenrollment_code = "xyz"\n',
     "[sync] enrollment_code", "16 hex digits"),
    ('[device]\nid = "T1"\n[shop]\nid = "s1"\n[sync]\nenrollment_code = "0123456789abcdef"\n',
     "[sync] enrollment_code", "needs head office's address"),
    ('[device\nid = "T1"\n', "", "is not valid TOML"),
])  # fmt: skip
def test_a_bad_provisioning_file_names_the_key(text, where, message):
    with pytest.raises(ConfigError) as refused:
        provision.parse(text, "prov.toml")
    assert refused.value.where == f"prov.toml: {where}".rstrip(": ") and message in refused.value.message


# -- onto a disk -------------------------------------------------------------------------------


@pytest.fixture
def raw_disk(tmp_path) -> Path:
    disk = tmp_path / "disk.img"
    make_raw_disk(disk)
    return disk


def test_provision_writes_the_file_into_partition_1_of_a_raw_image(raw_disk, tmp_path, capsys):
    before = raw_disk.read_bytes()
    prov = tmp_path / "prov.toml"
    prov.write_text(prov_text())
    assert main(["provision", "--image", str(raw_disk), "--file", str(prov)]) == 0
    out = capsys.readouterr().out
    assert "wrote provision.toml for device T03 (shop shop-12) on partition 1 (config)" in out
    assert "keep the card safe" in out
    assert read_fat_file(raw_disk, "provision.toml") == prov_text()
    assert read_fat_file(raw_disk, "autoboot.txt").startswith("[all]")
    assert outside_config(raw_disk.read_bytes()) == outside_config(before)
    prov.write_text(prov_text(code=None, device="T04"))  # a second time: the file is replaced
    assert main(["provision", "--image", str(raw_disk), "--file", str(prov)]) == 0
    assert read_fat_file(raw_disk, "provision.toml") == prov_text(code=None, device="T04")


def test_a_signed_image_folder_or_a_compressed_image_is_not_altered(tmp_path, capsys):
    prov = tmp_path / "prov.toml"
    prov.write_text(prov_text())
    (tmp_path / "image").mkdir()
    (tmp_path / "disk.img.xz").write_bytes(b"\xfd7zXZ\0")
    for image in ("image", "disk.img.xz"):
        assert main(["provision", "--image", str(tmp_path / image), "--file", str(prov)]) == 2
        assert "appliance-flash IMAGE_DIR TARGET --provision FILE" in capsys.readouterr().err
    assert (tmp_path / "disk.img.xz").read_bytes() == b"\xfd7zXZ\0"


def test_a_disk_without_a_config_partition_is_refused(tmp_path, capsys):
    prov, disk = tmp_path / "prov.toml", tmp_path / "blank.img"
    prov.write_text(prov_text())
    disk.write_bytes(bytes(4 << 20))
    assert main(["provision", "--image", str(disk), "--file", str(prov)]) == 1
    assert "no partition table could be read" in capsys.readouterr().err
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: gpt\nstart=2048, size=2048, name=data\n", text=True,
                   check=True)  # fmt: skip
    assert main(["provision", "--image", str(disk), "--file", str(prov)]) == 1
    assert "no partition is labelled 'config'" in capsys.readouterr().err


def test_provision_needs_both_the_image_and_the_file(capsys):
    assert main(["provision", "--file", "prov.toml"]) == 2
    assert "name both" in capsys.readouterr().err


# -- first boot ----------------------------------------------------------------------------------


@pytest.fixture
def terminal(tmp_path):
    """(boot partition, data partition, base configuration) folders of a terminal before its first boot."""
    boot, data = tmp_path / "boot", tmp_path / "data"
    boot.mkdir()
    data.mkdir(mode=0o700)
    base = tmp_path / "shop.toml"
    base.write_text(BASE)
    return boot, data, base


def first_boot(boot: Path, data: Path, base: Path, timeout: float = 5.0) -> int:
    return main(["provision", "apply", "--boot-dir", str(boot), "--data-dir", str(data), "--base-config", str(base),
                 "--timeout", str(timeout)])  # fmt: skip


def test_first_boot_applies_the_file_enrols_and_removes_the_code(hq, terminal, capsys):
    boot, data, base = terminal
    code = hq.storage.new_enrollment_code("shop-12")
    (boot / "provision.toml").write_text(prov_text(hq.url, code))
    assert first_boot(boot, data, base) == 0
    out = capsys.readouterr().out
    assert "applied" in out and "removed the enrolment code" in out and f"enrolled device T03 with {hq.url}" in out
    settings = config.load(data / "appliance.toml")
    assert (settings.device.id, settings.sync.url, settings.time.zone, settings.console.language) == (
        "T03", hq.url, "Europe/Berlin", "en")
    assert (settings.shop.name, settings.receipt.width) == ("Test Mart", 42)  # the base stays
    assert settings.database_path == data / "appliance.db"
    secret = data / "device.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert hq.storage.secret_of("T03") == bytes.fromhex(secret.read_text())
    card = (boot / "provision.toml").read_text()
    assert code not in card and "enrollment_code" not in card and 'id = "T03"' in card
    assert not (data / "enrollment.pending").exists()
    marker = json.loads((data / "provisioned.json").read_text())
    assert (marker["device"], marker["shop"], marker["sync_url"]) == ("T03", "shop-12", hq.url)
    assert marker["enrolled_at"]
    assert first_boot(boot, data, base) == 0  # every later boot: nothing is applied twice
    assert capsys.readouterr().out == ""
    assert json.loads((data / "provisioned.json").read_text()) == marker


def test_offline_the_code_waits_on_the_data_partition(terminal, capsys):
    boot, data, base = terminal
    (boot / "provision.toml").write_text(prov_text(f"http://127.0.0.1:{closed_port()}"))
    assert first_boot(boot, data, base) == 0
    assert "head office did not answer" in capsys.readouterr().out
    pending = data / "enrollment.pending"
    assert pending.read_text().strip() == "0123456789abcdef" and stat.S_IMODE(pending.stat().st_mode) == 0o600
    assert "0123456789abcdef" not in (boot / "provision.toml").read_text()
    assert config.load(data / "appliance.toml").device.id == "T03"  # the till can sell offline
    assert not (data / "device.secret").exists()


def test_the_waiting_code_enrols_once_head_office_answers(hq, terminal, capsys):
    boot, data, base = terminal
    proxy = FaultProxy(closed_port())
    try:
        code = hq.storage.new_enrollment_code("shop-12")
        (boot / "provision.toml").write_text(prov_text(proxy.url, code))
        assert first_boot(boot, data, base) == 0
        assert (data / "enrollment.pending").exists()
        proxy.upstream_port = hq.port  # the network is back at the next boot
        assert first_boot(boot, data, base) == 0
        assert "enrolled device T03" in capsys.readouterr().out
        assert not (data / "enrollment.pending").exists()
        assert hq.storage.secret_of("T03") == bytes.fromhex((data / "device.secret").read_text())
    finally:
        proxy.close()


def test_a_refused_code_is_reported_and_dropped(hq, terminal, capsys):
    boot, data, base = terminal
    code = hq.storage.new_enrollment_code("shop-12")
    hq.enroll("T99", code)  # someone used it already
    (boot / "provision.toml").write_text(prov_text(hq.url, code))
    assert first_boot(boot, data, base) == 1
    err = capsys.readouterr().err
    assert "head office refused the enrolment code" in err and "appliance sync enroll --code CODE" in err
    assert not (data / "enrollment.pending").exists() and not (data / "device.secret").exists()
    assert code not in (boot / "provision.toml").read_text()
    assert config.load(data / "appliance.toml").device.id == "T03"


def test_a_different_file_is_not_applied_over_a_provisioned_terminal(terminal, capsys):
    boot, data, base = terminal
    (boot / "provision.toml").write_text(prov_text(code=None))
    assert first_boot(boot, data, base) == 0
    written = (data / "appliance.toml").read_bytes()
    (boot / "provision.toml").write_text(prov_text(code=None, device="T09"))
    assert first_boot(boot, data, base) == 1
    assert "was provisioned as device T03" in capsys.readouterr().err
    assert (data / "appliance.toml").read_bytes() == written


def test_a_bad_file_or_base_changes_nothing(terminal, capsys):
    boot, data, base = terminal
    (boot / "provision.toml").write_text(prov_text().replace("T03", "t3"))
    assert first_boot(boot, data, base) == 2
    base.write_text('[receipt]\ndigital = true\n')  # needs a sync url the file does not give
    (boot / "provision.toml").write_text('[device]\nid = "T1"\n[shop]\nid = "s1"\n')
    assert first_boot(boot, data, base) == 2
    assert "[receipt] digital" in capsys.readouterr().err
    assert list(data.iterdir()) == []


def test_without_a_file_there_is_nothing_to_do(terminal, capsys):
    boot, data, base = terminal
    assert first_boot(boot, data, base) == 0
    assert "nothing to provision" in capsys.readouterr().out


STEPS = ("enrollment.pending", "appliance.toml", "provisioned.json", "provision.toml")


@pytest.mark.parametrize("lost", STEPS)
def test_power_lost_at_any_step_the_next_boot_finishes(hq, terminal, monkeypatch, lost):
    """The power goes while one file is written (its temporary copy is there, the rename never happened)."""
    boot, data, base = terminal
    code = hq.storage.new_enrollment_code("shop-12")
    (boot / "provision.toml").write_text(prov_text(hq.url, code))
    replace = firstboot._replace

    def power_cut(path: Path, content: bytes, *, private: bool) -> None:
        if path.name == lost:
            path.with_name(path.name + ".tmp").write_bytes(content[: len(content) // 2])
            raise KeyboardInterrupt("power cut")
        replace(path, content, private=private)

    monkeypatch.setattr(firstboot, "_replace", power_cut)
    assert first_boot(boot, data, base) == 130
    monkeypatch.setattr(firstboot, "_replace", replace)
    assert first_boot(boot, data, base) == 0
    assert hq.storage.secret_of("T03") == bytes.fromhex((data / "device.secret").read_text())
    assert code not in (boot / "provision.toml").read_text()
    assert config.load(data / "appliance.toml").device.id == "T03"
    assert not (data / "enrollment.pending").exists()


def test_written_files_belong_to_the_data_folders_owner(terminal):
    if os.geteuid() != 0:
        pytest.skip("chown needs root (first boot runs as root)")
    boot, data, base = terminal
    os.chown(data, 4321, 4321)  # the appliance user
    (boot / "provision.toml").write_text(prov_text(f"http://127.0.0.1:{closed_port()}"))
    assert first_boot(boot, data, base) == 0
    for name in ("appliance.toml", "provisioned.json", "enrollment.pending"):
        info = (data / name).stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4321, 0o600), name


# -- factory reset ---------------------------------------------------------------------------------


@pytest.fixture
def provisioned(terminal):
    """A terminal provisioned offline that has sold: one event head office has not received."""
    boot, data, base = terminal
    (boot / "provision.toml").write_text(prov_text(f"http://127.0.0.1:{closed_port()}"))
    assert first_boot(boot, data, base) == 0
    with Store(data / "appliance.db") as store:
        with store.event("sale", "R1", "2026-01-02T10:00:00+00:00") as event:
            event.payload["total"] = 100
    (data / "lost+found").mkdir()
    (data / "queues").mkdir()
    (data / "queues" / "print-1.json").write_text("{}")
    return terminal


def reset(data: Path, boot: Path, *extra: str) -> int:
    return main(["factory-reset", "--data-dir", str(data), "--boot-dir", str(boot), *extra])


def test_factory_reset_needs_a_confirmation(provisioned, capsys):
    boot, data, _ = provisioned
    before = sorted(p.name for p in data.iterdir())
    assert reset(data, boot) == 1  # stdin is not a terminal under pytest
    err = capsys.readouterr().err
    assert "1 sales events have not reached head office" in err and "--yes-erase-all-sales-data" in err
    assert sorted(p.name for p in data.iterdir()) == before


def test_factory_reset_wipes_the_data_partition_and_the_next_boot_provisions_again(provisioned, capsys):
    boot, data, base = provisioned
    assert reset(data, boot, "--yes-erase-all-sales-data") == 0
    assert "erased" in capsys.readouterr().out
    assert [p.name for p in data.iterdir()] == ["lost+found"]
    assert "enrollment_code" not in (boot / "provision.toml").read_text()
    assert first_boot(boot, data, base) == 0
    assert "applied" in capsys.readouterr().out
    assert config.load(data / "appliance.toml").device.id == "T03"
    assert not (data / "enrollment.pending").exists()  # the old code is gone: enrol with a new one


def test_the_typed_device_id_confirms_in_a_terminal(provisioned, monkeypatch, capsys):
    boot, data, _ = provisioned
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    answers = iter(["T01", "T03"])
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda prompt: prompts.append(prompt) or next(answers))
    assert reset(data, boot) == 1
    assert "not confirmed; nothing was erased" in capsys.readouterr().err
    assert (data / "appliance.db").exists()
    assert reset(data, boot) == 0
    assert "Type T03 to go on" in prompts[0]
    assert not (data / "appliance.db").exists()


def test_a_card_never_booted_loses_its_code_on_reset(terminal):
    boot, data, _ = terminal
    (boot / "provision.toml").write_text(prov_text())
    (data / "appliance.db").write_bytes(b"")
    assert reset(data, boot, "--yes-erase-all-sales-data") == 0
    card = (boot / "provision.toml").read_text()
    assert "0123456789abcdef" not in card and 'id = "T03"' in card


def test_a_folder_that_is_not_the_appliance_data_is_not_erased(tmp_path, capsys):
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert reset(folder, tmp_path / "boot", "--yes-erase-all-sales-data") == 1
    assert "it is not the appliance's data folder, and nothing was erased" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "keep me"


# -- the first-boot unit ----------------------------------------------------------------------------


def unit_directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for text in UNIT.read_text().splitlines():
        if "=" in text and not text.startswith(("#", "[")):
            key, value = text.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_the_first_boot_unit_runs_before_the_till_when_there_is_something_to_apply():
    found = unit_directives()
    assert found["Type"] == ["oneshot"] and found["Before"] == ["appliance.service"]
    assert found["ConditionPathExists"] == ["|/boot/config/provision.toml", "|/var/lib/appliance/enrollment.pending"]
    command = shlex.split(found["ExecStart"][0])
    assert command[0] == "/opt/appliance/bin/appliance"
    args = build_parser().parse_args(command[1:])  # the command line the unit runs is one the CLI takes
    assert (args.func.__name__, args.boot_dir, args.data_dir) == (
        "apply_provisioning", Path("/boot/config"), Path("/var/lib/appliance"))
    assert found["ReadWritePaths"] == ["/boot/config /var/lib/appliance"]


def test_the_first_boot_unit_verifies(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: `make test-system` installs the systemd package")
    unit = tmp_path / UNIT.name
    program = Path(sys.executable).with_name("appliance")  # verify checks that the program exists
    unit.write_text(UNIT.read_text().replace("/opt/appliance/bin/appliance", str(program)))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    result = subprocess.run([tool, "security", "--offline=yes", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Overall exposure level for appliance-firstboot.service: 2." in result.stdout, result.stdout[-300:]
