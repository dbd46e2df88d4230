"""A/B updates against a simulated boot environment (slots and boot state as files), power cuts at every step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import image.bootenv as bootenv_mod
import image.update as update_mod
from image.bootenv import TRIES, BootState, FileBootEnv, RpiBootEnv
from image.host import run
from image.layout import MiB, make_vfat
from image.manifest import Manifest, ManifestError, new_key, load_private, payload_of, trusted_keys, write
from image.update import SlotTargets, UpdateRefused, commit, in_trial, install, migrations_allowed

BOARD = "amd64"


class PowerCut(BaseException):
    """The power goes: nothing after this point happens (BaseException: no handler swallows it)."""


@pytest.fixture
def keys(tmp_path):
    new_key(tmp_path / "key.pem", tmp_path / "key.pub")
    return load_private(tmp_path / "key.pem"), trusted_keys([tmp_path / "key.pub"])


def make_bundle(folder: Path, signing_key, version: str = "2.0.0", board: str = BOARD) -> Path:
    folder.mkdir(parents=True)
    (folder / "boot.vfat").write_bytes(os.urandom(64 * 1024))
    (folder / "root.ext4").write_bytes(os.urandom(1024 * 1024 + 17))
    manifest = Manifest("bundle", version, board, "2026-11-23T00:00:00Z",
                        (payload_of(folder / "boot.vfat"), payload_of(folder / "root.ext4")), {})
    write(manifest, folder, signing_key)
    return folder


@pytest.fixture
def device(tmp_path):
    """A terminal booted from slot A: boot state folder and slot 'partitions' as files."""
    env, targets = FileBootEnv(tmp_path / "config"), SlotTargets(tmp_path / "parts")
    env.folder.mkdir()
    targets.folder.mkdir()
    for slot in "AB":
        for part in ("boot", "root"):
            (targets.folder / f"{part}{slot}").write_bytes(b"slot " + slot.encode() * 100)
    assert env.boot() == "A"
    return env, targets


def good() -> list[str]:
    return []


def test_an_update_is_tried_then_committed_and_stays(device, keys, tmp_path):
    env, targets = device
    bundle = make_bundle(tmp_path / "bundle", keys[0])
    slot, manifest = install(bundle, env, targets, keys[1], board=BOARD)
    assert slot == "B" and manifest.version == "2.0.0"
    assert (targets.folder / "rootB").read_bytes()[: (bundle / "root.ext4").stat().st_size] == (
        bundle / "root.ext4").read_bytes()
    assert env.read().trial == "B" and env.read().tries_left == TRIES
    assert env.boot() == "B" and in_trial(env) and not migrations_allowed(env)
    assert commit(env, good) == "B"
    assert env.read() == BootState(default="B", slots={"A": "good", "B": "good"}, versions={"B": "2.0.0"})
    assert [env.boot() for _ in range(3)] == ["B", "B", "B"] and migrations_allowed(env)
    assert commit(env, good) is None  # nothing on trial: nothing to do


def test_an_update_that_never_reports_healthy_rolls_back_after_its_tries(device, keys, tmp_path):
    env, targets = device
    install(make_bundle(tmp_path / "bundle", keys[0]), env, targets, keys[1], board=BOARD)
    booted = []
    for _ in range(TRIES + 2):
        booted.append(env.boot())
        if booted[-1] == "B":
            with pytest.raises(UpdateRefused, match="not healthy.*printer missing"):
                commit(env, lambda: ["printer missing"])
    assert booted == ["B"] * TRIES + ["A", "A"]
    state = env.read()
    assert state.default == "A" and state.trial is None and state.slots["B"] == "bad"
    # The next update goes to B again, from A.
    install(make_bundle(tmp_path / "bundle2", keys[0], "2.0.1"), env, targets, keys[1], board=BOARD)
    assert env.read().trial == "B"


@pytest.mark.parametrize("spoil, message", [
    (lambda b: (b / "manifest.sig").unlink(), "manifest.sig is missing"),
    (lambda b: (b / "manifest.json").write_text((b / "manifest.json").read_text().replace("2.0.0", "9.9.9")),
     "does not match the manifest under any trusted key"),
])  # fmt: skip
def test_an_unsigned_or_altered_bundle_writes_nothing(device, keys, tmp_path, spoil, message):
    env, targets = device
    bundle = make_bundle(tmp_path / "bundle", keys[0])
    spoil(bundle)
    before = (targets.folder / "rootB").read_bytes()
    with pytest.raises(ManifestError, match=message):
        install(bundle, env, targets, keys[1], board=BOARD)
    assert (targets.folder / "rootB").read_bytes() == before and env.read().slots["B"] == "empty"


def test_a_bundle_for_another_board_or_an_untrusted_key_is_refused(device, keys, tmp_path):
    env, targets = device
    with pytest.raises(ManifestError, match="for board 'rpi-arm64'"):
        install(make_bundle(tmp_path / "pi", keys[0], board="rpi-arm64"), env, targets, keys[1], board=BOARD)
    new_key(tmp_path / "other.pem", tmp_path / "other.pub")
    with pytest.raises(ManifestError, match="any trusted key"):
        install(make_bundle(tmp_path / "b", load_private(tmp_path / "other.pem")), env, targets, keys[1], board=BOARD)


def test_a_payload_damaged_after_signing_leaves_the_slot_unbootable_and_the_old_one_running(device, keys, tmp_path):
    env, targets = device
    bundle = make_bundle(tmp_path / "bundle", keys[0])
    data = bytearray((bundle / "root.ext4").read_bytes())
    data[5000] ^= 1
    (bundle / "root.ext4").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="root.ext4 does not match"):
        install(bundle, env, targets, keys[1], board=BOARD)
    assert env.read().slots["B"] == "writing" and env.read().trial is None
    assert env.boot() == "A"


def test_no_second_update_while_one_waits_and_none_from_an_uncommitted_slot(device, keys, tmp_path):
    env, targets = device
    install(make_bundle(tmp_path / "b1", keys[0]), env, targets, keys[1], board=BOARD)
    with pytest.raises(UpdateRefused, match="already waiting"):
        install(make_bundle(tmp_path / "b2", keys[0]), env, targets, keys[1], board=BOARD)


def make_pi_bundle(folder: Path, signing_key, cmdline: str, version: str = "2.0.0") -> Path:
    """A Raspberry Pi bundle whose boot payload is a real FAT filesystem holding `cmdline`."""
    files = folder.parent / f"{folder.name}-files"
    files.mkdir(parents=True)
    (files / "cmdline.txt").write_text(cmdline)
    (files / "config.txt").write_text("arm_64bit=1\n")
    folder.mkdir()
    make_vfat(folder / "boot.vfat", files, size=33 * MiB, label="boot", epoch=1_700_000_000)
    (folder / "root.ext4").write_bytes(os.urandom(256 * 1024))
    manifest = Manifest("bundle", version, "rpi-arm64", "2026-11-23T00:00:00Z",
                        (payload_of(folder / "boot.vfat"), payload_of(folder / "root.ext4")), {})
    write(manifest, folder, signing_key)
    return folder


def fat_file(image: Path, name: str) -> str:
    return run(["mtype", "-i", image, f"::/{name}"], step="test", env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout


PI_CMDLINE = "console=tty0 console=ttyS1,115200 root=PARTLABEL=rootA ro rootwait\n"


def test_on_a_pi_each_slot_boots_its_own_root(device, keys, tmp_path):
    """The boot payload says rootA; written to bootB it must say rootB, and back again for the next update."""
    env, targets = device
    assert install(make_pi_bundle(tmp_path / "b1", keys[0], PI_CMDLINE), env, targets, keys[1],
                   board="rpi-arm64")[0] == "B"  # fmt: skip
    assert fat_file(targets.path("B", "boot.vfat"), "cmdline.txt") == PI_CMDLINE.replace("rootA", "rootB")
    assert fat_file(targets.path("B", "boot.vfat"), "config.txt") == "arm_64bit=1\n"  # the rest as built
    assert env.boot() == "B" and commit(env, good) == "B"
    assert install(make_pi_bundle(tmp_path / "b2", keys[0], PI_CMDLINE, "2.0.1"), env, targets, keys[1],
                   board="rpi-arm64")[0] == "A"  # fmt: skip
    assert fat_file(targets.path("A", "boot.vfat"), "cmdline.txt") == PI_CMDLINE
    # The running system tells its slot by the same word.
    (tmp_path / "cmdline").write_text(fat_file(targets.path("B", "boot.vfat"), "cmdline.txt"))
    assert FileBootEnv(tmp_path / "elsewhere", cmdline=tmp_path / "cmdline").booted() == "B"


@pytest.mark.parametrize("cmdline", ["console=tty0 ro rootwait\n", "root=/dev/mmcblk0p5 ro\n",
                                     "root=PARTLABEL=rootA root=PARTLABEL=rootB\n"])  # fmt: skip
def test_a_pi_boot_payload_that_names_no_slot_root_is_never_booted(device, keys, tmp_path, cmdline):
    env, targets = device
    with pytest.raises(UpdateRefused, match="could not be pointed at rootB.*does not name one slot root"):
        install(make_pi_bundle(tmp_path / "b", keys[0], cmdline), env, targets, keys[1], board="rpi-arm64")
    assert env.read().slots["B"] == "writing" and env.read().trial is None
    assert env.boot() == "A"


def test_a_pi_boot_payload_that_is_not_a_fat_filesystem_is_never_booted(device, keys, tmp_path):
    env, targets = device
    with pytest.raises(UpdateRefused, match="could not be pointed at rootB.*mtype"):
        install(make_bundle(tmp_path / "random", keys[0], board="rpi-arm64"), env, targets, keys[1], board="rpi-arm64")
    assert env.read().slots["B"] == "writing" and env.read().trial is None and env.boot() == "A"


def crash_at(monkeypatch, step: int) -> list[str]:
    """Cut the power at the `step`-th durable write of the update (state writes and payload writes,
    a payload write cut half-way through); returns the names of the writes seen."""
    seen: list[str] = []
    real_write, real_copy = bootenv_mod._write_atomic, update_mod.copy_verified

    def write_atomic(path, text):
        seen.append(f"state {path.name}")
        if len(seen) == step:
            # The temporary file is written, the rename never happens.
            path.with_name(path.name + ".tmp").write_text(text[: len(text) // 2])
            raise PowerCut
        real_write(path, text)

    def copy(source, target, payload, progress=None):
        seen.append(f"payload {payload.name}")
        if len(seen) == step:
            target.write(source.read(payload.size // 2))
            target.flush()
            raise PowerCut
        real_copy(source, target, payload, progress)

    monkeypatch.setattr(bootenv_mod, "_write_atomic", write_atomic)
    monkeypatch.setattr(update_mod, "copy_verified", copy)
    return seen


def test_a_power_cut_at_any_step_of_an_update_never_leaves_the_till_unbootable(keys, tmp_path, monkeypatch):
    steps = None
    step = 1
    while steps is None or step <= steps + 1:
        folder = tmp_path / f"run{step}"
        env, targets = FileBootEnv(folder / "config"), SlotTargets(folder / "parts")
        env.folder.mkdir(parents=True)
        targets.folder.mkdir()
        assert env.boot() == "A"
        bundle = make_bundle(folder / "bundle", keys[0])
        with monkeypatch.context() as patch:
            seen = crash_at(patch, step)
            try:
                install(bundle, env, targets, keys[1], board=BOARD)
                completed = True
            except PowerCut:
                completed = False
        if completed:
            steps = len(seen)
        # Power back: boot until the state settles; the old slot must come back or the new one be on trial.
        first = env.boot()
        state = env.read()
        assert state.default == "A" and state.slots["A"] == "good", (step, seen)
        if state.trial is None and first == "A":
            assert not completed or step > steps, (step, seen)
        else:
            assert first == "B" and completed, (step, seen)  # only a finished install is ever tried
            assert [env.boot() for _ in range(TRIES)][-1] == "A"  # never committed: back to A
        step += 1
    assert steps == 4  # writing mark, boot payload, root payload, trial


def test_a_power_cut_while_committing_leaves_the_trial_or_the_commit_whole(device, keys, tmp_path, monkeypatch):
    env, targets = device
    install(make_bundle(tmp_path / "bundle", keys[0]), env, targets, keys[1], board=BOARD)
    assert env.boot() == "B"
    with monkeypatch.context() as patch:
        crash_at(patch, 1)
        with pytest.raises(PowerCut):
            commit(env, good)
    assert env.read().trial == "B"  # the commit did not land: still on trial, with its tries
    assert env.boot() == "B" and commit(env, good) == "B"


def test_the_pi_firmware_file_follows_the_state(tmp_path, keys):
    env, targets = RpiBootEnv(tmp_path / "config"), SlotTargets(tmp_path / "parts")
    env.folder.mkdir()
    targets.folder.mkdir()
    env.boot()
    install(make_bundle(tmp_path / "bundle", keys[0]), env, targets, keys[1], board=BOARD)
    assert (env.folder / "autoboot.txt").read_text() == (
        "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n")
    env.boot()
    commit(env, good)
    assert (env.folder / "autoboot.txt").read_text() == "[all]\ntryboot_a_b=1\nboot_partition=3\n"


def test_an_unreadable_boot_state_is_a_clear_error(tmp_path):
    env = FileBootEnv(tmp_path)
    (tmp_path / "bootenv.json").write_text("{not json")
    with pytest.raises(bootenv_mod.BootEnvError, match="cannot be read"):
        env.read()
    (tmp_path / "bootenv.json").write_text('{"default": "C", "slots": {}}')
    with pytest.raises(bootenv_mod.BootEnvError, match="impossible slots"):
        env.read()


# --- the terminal side: configuration, CLI, the daemon committing a slot on trial


def trial_terminal(tmp_path, keys):
    """A terminal whose slot B was just installed and booted on trial; its settings and boot state."""
    from tests.conftest import make_settings
    from tests.test_daemon import prepared

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "build.pub").write_text((tmp_path / "key.pub").read_text())
    settings = make_settings(tmp_path, api={"enabled": False},
                             update={"bootenv_dir": "config", "firmware": "file", "board": BOARD,
                                     "trusted_keys": "keys", "slots_dir": "parts"})  # fmt: skip
    prepared(settings)
    env, targets = FileBootEnv(tmp_path / "config"), SlotTargets(tmp_path / "parts")
    env.folder.mkdir()
    targets.folder.mkdir()
    env.boot()
    return settings, env


def test_the_cli_installs_a_bundle_and_reports_the_slots(tmp_path, keys, capsys):
    from appliance.cli import main
    from tests.test_cli import write_config

    bundle = make_bundle(tmp_path / "bundle", keys[0])
    settings, env = trial_terminal(tmp_path, keys)
    config = write_config(tmp_path, f'[update]\nbootenv_dir = "config"\nfirmware = "file"\nboard = "{BOARD}"\n'
                                    'trusted_keys = "keys"\nslots_dir = "parts"\n')  # fmt: skip
    assert main(["--config", str(config), "update", "install", str(bundle)]) == 0
    assert "version 2.0.0 written to slot B, on trial" in capsys.readouterr().out
    env.boot()
    assert main(["--config", str(config), "update", "status"]) == 0
    out = capsys.readouterr().out
    assert "running:  slot B" in out and "on trial: slot B (2 boots left)" in out and "slot B:   written 2.0.0" in out


def test_the_daemon_commits_a_slot_on_trial_once_it_is_up(tmp_path, keys):
    from appliance.cli.run_cmd import _update_gate
    from tests.test_daemon import run_daemon

    settings, env = trial_terminal(tmp_path, keys)
    install(make_bundle(tmp_path / "bundle", keys[0]), env, SlotTargets(tmp_path / "parts"), keys[1], board=BOARD)
    assert env.boot() == "B"
    gate = _update_gate(settings)
    assert gate is not None  # no migration pending: the daemon commits once READY

    async def scenario(daemon, systemd):
        from tests.test_daemon import until

        await until(lambda: env.read().trial is None, "the commit")

    run_daemon(settings, scenario, tmp_path, on_ready=gate)
    assert env.read().default == "B" and env.read().slots["B"] == "good"


def test_a_slot_on_trial_with_a_broken_journal_is_not_committed(tmp_path, keys):
    import sqlite3

    from appliance.cli.update_cmd import trial_commit

    settings, env = trial_terminal(tmp_path, keys)
    install(make_bundle(tmp_path / "bundle", keys[0]), env, SlotTargets(tmp_path / "parts"), keys[1], board=BOARD)
    env.boot()
    with sqlite3.connect(settings.database_path) as conn:  # someone edited history
        conn.execute("DROP TRIGGER journal_no_update")
        conn.execute("UPDATE journal SET payload = '{}' WHERE seq = 2")
    with pytest.raises(UpdateRefused, match="not healthy"):
        trial_commit(settings)
    assert env.read().trial == "B"


def test_a_slot_on_trial_never_migrates_the_store_before_it_is_committed(tmp_path, keys):
    import sqlite3

    from appliance.cli.run_cmd import _update_gate
    from appliance.store.migrations import current_version, latest_version

    settings, env = trial_terminal(tmp_path, keys)
    with sqlite3.connect(settings.database_path, isolation_level=None) as conn:  # as the previous software left it
        conn.execute(f"PRAGMA user_version = {latest_version() - 1}")
    install(make_bundle(tmp_path / "bundle", keys[0]), env, SlotTargets(tmp_path / "parts"), keys[1], board=BOARD)
    env.boot()
    # A migration is pending: the self-check commits first (no daemon hook), only then may the store move.
    assert _update_gate(settings) is None
    assert env.read().default == "B"
    with sqlite3.connect(settings.database_path) as conn:
        assert current_version(conn) == latest_version() - 1  # the gate itself never migrated


def test_the_guard_reboots_a_slot_still_on_trial_and_leaves_a_committed_one(tmp_path, keys, capsys):
    from appliance.cli import main
    from tests.test_cli import write_config

    settings, env = trial_terminal(tmp_path, keys)
    config = write_config(tmp_path, f'[update]\nbootenv_dir = "config"\nfirmware = "file"\nboard = "{BOARD}"\n'
                                    'trusted_keys = "keys"\nslots_dir = "parts"\n')  # fmt: skip
    marker = tmp_path / "rebooted"
    command = f"touch {marker}"
    assert main(["--config", str(config), "update", "guard", "--reboot-command", command]) == 0
    assert "nothing on trial" in capsys.readouterr().out and not marker.exists()
    install(make_bundle(tmp_path / "bundle", keys[0]), env, SlotTargets(tmp_path / "parts"), keys[1], board=BOARD)
    env.boot()
    assert main(["--config", str(config), "update", "guard", "--reboot-command", command]) == 0
    assert "did not report healthy in time: rebooting" in capsys.readouterr().out and marker.exists()


def test_the_guard_units_verify(tmp_path):
    import subprocess
    import sys

    folder = Path(__file__).resolve().parent.parent / "systemd"
    program = Path(sys.executable).with_name("appliance")
    units = []
    for name in ("appliance-update-guard.service", "appliance-update-guard.timer"):
        units.append(tmp_path / name)
        units[-1].write_text((folder / name).read_text().replace("/opt/appliance/bin/appliance", str(program)))
    result = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
