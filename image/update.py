"""Updates in the field: write the other slot from a signed bundle, boot it on trial, commit it once healthy.

The order is what makes a power cut at any moment harmless:

1. the bundle's signature is checked before anything is written;
2. the inactive slot is marked `writing` (it can no longer be chosen), then written and
   checked against the manifest while it is written; on a Raspberry Pi its boot
   partition's cmdline.txt is then pointed at its own root (image/cmdline.py);
3. only then, in one atomic state write, it is marked `written` and put on trial with
   `TRIES` boots;
4. on the trial boot the daemon comes up (sd_notify READY) and `commit` runs its
   self-check; passing, the slot becomes the default. A trial that does not commit
   within its tries (hang, crash, failed self-check, power cut) gives way to the old
   default, which was never touched.

The store's schema only moves forward on a committed slot (`migrations_allowed`): a
trial boot that would need to migrate waits for the commit first, so a rollback always
finds a schema the old software reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.errors import ApplianceError

from image.bootenv import TRIES, BootState, FileBootEnv
from image.cmdline import retarget
from image.host import BuildError
from image.manifest import Manifest, copy_verified, verify
from image.rootfs import BOARDS

PAYLOADS = ("boot.vfat", "root.ext4")  # a bundle's two payloads, written to the slot's boot and root partitions


class UpdateRefused(ApplianceError, RuntimeError):
    """An update cannot be installed or committed now; the message says why and what to do."""

    code = "update_refused"


@dataclass(frozen=True)
class SlotTargets:
    """Where each slot's boot and root payloads go: partitions on a device, files in tests."""

    folder: Path  # holds e.g. bootA, rootA (by-partlabel names)

    def path(self, slot: str, payload: str) -> Path:
        return self.folder / f"{'boot' if payload == 'boot.vfat' else 'root'}{slot}"

    @classmethod
    def on_device(cls) -> "SlotTargets":
        return cls(Path("/dev/disk/by-partlabel"))


def install(bundle: Path, env: FileBootEnv, targets: SlotTargets, keys: list[Ed25519PublicKey], *, board: str,
            progress: Callable[[str, int], None] | None = None) -> tuple[str, Manifest]:  # fmt: skip
    """Write the bundle to the inactive slot and put it on trial; (slot, manifest). Reboot to try it."""
    manifest = verify(bundle, keys, kind="bundle", board=board)
    state = env.read()
    running = env.booted()
    if state.trial is not None:
        raise UpdateRefused(f"slot {state.trial} is already waiting to be tried: reboot, or let it roll back first")
    if running != state.default:
        raise UpdateRefused(f"this terminal runs slot {running}, not its committed slot {state.default}: "
                            "commit or reboot first")  # fmt: skip
    slot = state.other(running)
    state = replace(state, slots={**state.slots, slot: "writing"})
    env.write(state)  # from here the slot cannot be chosen
    for name in PAYLOADS:
        payload = manifest.payload(name)
        # No truncation: the target is a partition (a file only in tests), written from its start.
        fd = os.open(targets.path(slot, name), os.O_WRONLY | os.O_CREAT, 0o600)
        with open(bundle / name, "rb") as source, open(fd, "wb") as target:
            copy_verified(source, target, payload, progress=(lambda n, name=name: progress(name, n)) if progress else None)
            target.flush()
            os.fsync(target.fileno())
    _point_boot_at_root(targets.path(slot, "boot.vfat"), slot, board)
    env.write(replace(state, trial=slot, tries_left=TRIES, slots={**state.slots, slot: "written"},
                      versions={**state.versions, slot: manifest.version}))  # fmt: skip
    return slot, manifest


def _point_boot_at_root(boot: Path, slot: str, board: str) -> None:
    """On a board whose boot partition holds the kernel command line, make it name this slot's root."""
    name = BOARDS[board].cmdline if board in BOARDS else None
    if name is None:
        return
    try:
        retarget(boot, name, slot)
    except (BuildError, ValueError) as exc:
        raise UpdateRefused(f"slot {slot} was written but its kernel command line could not be pointed at root{slot}, "
                            f"so it will not be booted: {exc}") from None  # fmt: skip
    fd = os.open(boot, os.O_RDONLY)  # mtools does not sync what it wrote
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(env: FileBootEnv, self_check: Callable[[], list[str]]) -> str | None:
    """On a trial boot: run the self-check and, when it finds nothing, make this slot the default.

    Returns the committed slot, None when not on trial (nothing to do). A failed check
    raises with its findings and leaves the trial to roll back.
    """
    state = env.read()
    running = env.booted()
    if state.trial is None or running != state.trial:
        return None
    problems = self_check()
    if problems:
        raise UpdateRefused(f"slot {running} is not healthy, it will roll back: {'; '.join(problems)}")
    env.write(BootState(default=running, trial=None, tries_left=0, slots={**state.slots, running: "good"},
                        versions=state.versions))  # fmt: skip
    return running


def in_trial(env: FileBootEnv) -> bool:
    state = env.read()
    return state.trial is not None and env.booted() == state.trial


def migrations_allowed(env: FileBootEnv) -> bool:
    """Whether the store may move to a newer schema now: only on a committed slot."""
    return not in_trial(env)
