"""Which root slot boots: the committed default, and a slot on trial with a boot counter.

The state is one small JSON file on the config partition (`bootenv.json`), replaced
atomically (write a temporary file, fsync, rename, fsync the folder), so a power cut
leaves the old state or the new one, never half of one. The bootloader side:

- On a Raspberry Pi the firmware reads `autoboot.txt` from the same partition:
  `boot_partition` is the default slot's boot partition, `[tryboot]` the trial one, used
  for one boot when the system restarts with `reboot '0 tryboot'`. `RpiBootEnv` keeps
  autoboot.txt in step with the state, so the firmware and `appliance update` agree.
- Everywhere else (and in the tests) `boot()` plays the bootloader: a trial slot with
  boots left is booted and its counter decremented *before* it runs, so a slot that
  hangs or crashes uses up its tries and the default boots again (rollback).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from appliance.errors import ApplianceError

SLOTS = ("A", "B")
BOOT_PARTITION = {"A": 2, "B": 3}  # the disk layout (docs/image.md): bootA is partition 2, bootB 3
TRIES = 3  # boots a new slot gets to report healthy before the old one comes back


class BootEnvError(ApplianceError, RuntimeError):
    """The boot state is unreadable or would leave no bootable slot."""

    code = "bootenv"


@dataclass(frozen=True)
class BootState:
    default: str = "A"  # the committed slot: what boots when nothing is on trial
    trial: str | None = None  # a freshly written slot, booted at most `tries_left` more times
    tries_left: int = 0
    slots: dict[str, str] = field(default_factory=lambda: {"A": "good", "B": "empty"})  # good|empty|writing|written|bad
    versions: dict[str, str] = field(default_factory=dict)

    def other(self, slot: str) -> str:
        return SLOTS[1 - SLOTS.index(slot)]


def _read_state(path: Path) -> BootState:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        state = BootState(default=doc["default"], trial=doc.get("trial"), tries_left=int(doc.get("tries_left", 0)),
                          slots=dict(doc["slots"]), versions=dict(doc.get("versions", {})))  # fmt: skip
    except FileNotFoundError:
        return BootState()  # a factory image: slot A, nothing on trial
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BootEnvError(f"the boot state cannot be read ({exc}); slot A boots until it is rewritten",
                           where=str(path)) from None  # fmt: skip
    if state.default not in SLOTS or state.trial not in (None, *SLOTS) or state.trial == state.default:
        raise BootEnvError(f"the boot state names impossible slots ({state.default}, {state.trial})", where=str(path))
    return state


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class FileBootEnv:
    """The boot state in `folder/bootenv.json`; the running slot from `folder/booted` (written by `boot()`)
    or, on a device, from the kernel command line (root=PARTLABEL=rootA|rootB)."""

    def __init__(self, folder: Path, *, cmdline: Path = Path("/proc/cmdline")):
        self.folder = Path(folder)
        self.path = self.folder / "bootenv.json"
        self.cmdline = cmdline

    def read(self) -> BootState:
        return _read_state(self.path)

    def write(self, state: BootState) -> None:
        if state.slots.get(state.default) != "good":
            raise BootEnvError(f"slot {state.default} is not known good: it cannot be the default", where=str(self.path))
        _write_atomic(self.path, json.dumps(asdict(state), indent=1, sort_keys=True) + "\n")

    def booted(self) -> str:
        """The slot running now."""
        marker = self.folder / "booted"
        if marker.exists():
            return marker.read_text(encoding="ascii").strip()
        try:
            words = self.cmdline.read_text(encoding="ascii").split()
        except OSError:
            words = []
        for word in words:
            if word.startswith("root=PARTLABEL=root") and word[-1] in SLOTS:
                return word[-1]
        return self.read().default

    def boot(self) -> str:
        """Play the bootloader for one boot: the slot that comes up (and record it as running)."""
        state = self.read()
        if state.trial is not None and state.tries_left > 0:
            self.write(replace(state, tries_left=state.tries_left - 1))  # counted before it runs: a hang uses a try
            slot = state.trial
        else:
            if state.trial is not None:  # tries used up without a commit: roll back
                self.write(replace(state, trial=None, tries_left=0, slots={**state.slots, state.trial: "bad"}))
            slot = state.default
        _write_atomic(self.folder / "booted", slot + "\n")
        return slot


class RpiBootEnv(FileBootEnv):
    """`FileBootEnv` plus the Raspberry Pi firmware's autoboot.txt, rewritten with every state change."""

    def write(self, state: BootState) -> None:
        super().write(state)
        lines = ["[all]", "tryboot_a_b=1", f"boot_partition={BOOT_PARTITION[state.default]}"]
        if state.trial is not None:
            lines += ["[tryboot]", f"boot_partition={BOOT_PARTITION[state.trial]}"]
        _write_atomic(self.folder / "autoboot.txt", "\n".join(lines) + "\n")
