"""`appliance update install|commit|status`: A/B updates of this terminal (docs/image.md).

The slot logic is image/update.py; here it meets the terminal: its configuration
(`[update]`), its store and journal for the self-check, and the daemon, which commits a
slot on trial once it is up (`trial_commit`).
"""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable

from appliance.cli.common import settings_from
from appliance.config import Settings
from appliance.errors import ConfigError, JournalBroken, StoreError
from appliance.store import journal
from appliance.store.db import Store
from appliance.store.migrations import current_version, latest_version


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("update", help="A/B updates: install a signed bundle, commit, status")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = sub.add_parser("install", help="write a signed update bundle to the other slot and put it on trial")
    install.add_argument("bundle", type=Path, help="folder with manifest.json, manifest.sig, boot.vfat, root.ext4")
    install.set_defaults(func=install_bundle)
    sub.add_parser("commit", help="on a trial boot: self-check, then make this slot the default").set_defaults(
        func=commit_slot)
    sub.add_parser("status", help="the slots, which one runs, what is on trial").set_defaults(func=show_status)
    guard = sub.add_parser("guard", help="a slot still on trial this long after boot is not healthy: reboot to roll back")
    guard.add_argument("--reboot-command", default="systemctl reboot", help="how to reboot (default: systemctl reboot)")
    guard.set_defaults(func=guard_trial)


def boot_env(settings: Settings):  # -> image.bootenv.FileBootEnv | None
    """The boot state of this terminal, None on a machine without update slots."""
    if not settings.update.bootenv_dir:
        return None
    from image.bootenv import FileBootEnv, RpiBootEnv  # the image tools load only where there are slots

    kind = RpiBootEnv if settings.update.firmware == "rpi" else FileBootEnv
    return kind(settings.resolve(settings.update.bootenv_dir))


def _env(settings: Settings):
    env = boot_env(settings)
    if env is None:
        raise ConfigError("this terminal has no update slots: set [update] bootenv_dir",
                          where=f"{settings.source}: [update] bootenv_dir")  # fmt: skip
    return env


def self_check(settings: Settings) -> list[str]:
    """What would make this slot unfit to keep, found without moving the store's schema.

    The configuration loaded (or this would not run); the store opens; its schema is one
    this software knows; the journal's hash chain is whole.
    """
    problems = []
    try:
        with Store(settings.database_path, synchronous=settings.store.synchronous, migrate_schema=False) as store:
            version = current_version(store.conn)
            if version > latest_version():
                problems.append(f"the store's schema {version} is newer than this software's {latest_version()}")
            journal.verify(store.conn)
    except (StoreError, JournalBroken, sqlite3.DatabaseError) as exc:
        problems.append(str(exc))
    return problems


def pending_migration(settings: Settings) -> bool:
    """Whether the store's schema is older than this software's (a new one is not created here)."""
    if not settings.database_path.exists():
        return False
    with Store(settings.database_path, migrate_schema=False) as store:
        return current_version(store.conn) < latest_version()


def trial_commit(settings: Settings, more_checks: Callable[[], list[str]] = list) -> str | None:
    """Commit the running slot when it is on trial and healthy; the slot committed, or None."""
    env = boot_env(settings)
    if env is None:
        return None
    from image.update import commit

    return commit(env, lambda: self_check(settings) + more_checks())


def install_bundle(args: argparse.Namespace) -> int:
    from image.manifest import trusted_keys
    from image.update import SlotTargets, install

    settings = settings_from(args)
    env = _env(settings)
    keys = trusted_keys(sorted(settings.resolve(settings.update.trusted_keys).glob("*.pub")))

    def progress(name: str, done: int) -> None:
        print(f"\r{name}: {done / 1e6:.1f} MB written", end="", file=sys.stderr, flush=True)

    slot, manifest = install(args.bundle, env, SlotTargets(settings.resolve(settings.update.slots_dir)), keys,
                             board=settings.update.board, progress=progress)  # fmt: skip
    print(file=sys.stderr)
    print(f"version {manifest.version} written to slot {slot}, on trial for the next boot: reboot to try it "
          "(it rolls back by itself unless it comes up healthy)")
    return 0


def commit_slot(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _env(settings)
    slot = trial_commit(settings)
    print(f"slot {slot} committed" if slot else "nothing on trial: nothing to commit")
    return 0


def show_status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    env = _env(settings)
    state = env.read()
    print(f"running:  slot {env.booted()}")
    print(f"default:  slot {state.default}")
    print(f"on trial: {f'slot {state.trial} ({state.tries_left} boots left)' if state.trial else 'none'}")
    for slot in ("A", "B"):
        print(f"slot {slot}:   {state.slots.get(slot, 'empty')} {state.versions.get(slot, '')}".rstrip())
    return 0


def guard_trial(args: argparse.Namespace) -> int:
    """Run by appliance-update-guard.timer some minutes after boot: a trial slot that has not committed
    by then will not; rebooting uses up one of its tries (the Pi firmware boots the default again)."""
    from image.update import in_trial

    settings = settings_from(args)
    env = _env(settings)
    if not in_trial(env):
        print("nothing on trial")
        return 0
    print(f"slot {env.booted()} did not report healthy in time: rebooting to roll back", flush=True)
    return subprocess.run(shlex.split(args.reboot_command)).returncode
