"""What the console's status bar shows: printer and paper, card reader, host queue, uploads to head office, battery.

Everything here is cheap enough for a refresh every few seconds: device states the
manager already keeps, one status query to the printer (off the loop, it is device
I/O), three counts from the database on a read-only connection of the console's own (a
card payment holding the till's worker must not freeze the bar), and the kernel's
power-supply files (Documentation/ABI/testing/sysfs-class-power: `type`, `capacity`,
`status`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from appliance.core import host_queue, offline
from appliance.hal.manager import DeviceManager
from appliance.sync.outbox import SyncState

POWER_SUPPLY = Path("/sys/class/power_supply")


@dataclass(frozen=True)
class Battery:
    capacity: int  # percent
    status: str  # the kernel's word: Charging, Discharging, Full, Not charging, Unknown


@dataclass(frozen=True)
class Status:
    printer: str  # "ok", "paper_out", "paper_low", "offline" or "none"
    card_reader: str  # "ok", "offline" or "none"
    host: str  # "online", "offline" (messages wait for the acquirer) or "no_host"
    uploads: int  # outbox rows not yet sent upstream
    reversals: int
    advices: int  # offline approvals waiting for the acquirer
    banner: str  # the offline exposure warning, empty when nothing is at risk
    battery: Battery | None
    sync_last: str = ""  # when head office last confirmed events ("" never or sync off)
    sync_error: str = ""  # the last sync error when it is newer than the last success
    sync_alert: int = 0  # the outbox alert threshold when `uploads` has reached it, else 0

    @property
    def waiting(self) -> int:
        """Transactions not yet where they belong: uploads plus card advices (the portable's count)."""
        return self.uploads + self.advices


def battery(folder: Path = POWER_SUPPLY) -> Battery | None:
    """The first battery the kernel lists, or None on a mains-only board."""
    if not folder.is_dir():
        return None
    for supply in sorted(folder.iterdir()):
        try:
            if (supply / "type").read_text().strip() != "Battery":
                continue
            capacity = int((supply / "capacity").read_text().strip())
            status = (supply / "status").read_text().strip()
        except (OSError, ValueError):
            continue  # a supply that vanished or reports nonsense: look at the next
        return Battery(max(0, min(100, capacity)), status)
    return None


def printer_state(manager: DeviceManager) -> str:
    """Ask the printer (device I/O: call it off the loop)."""
    state = manager.first("printer")
    if state is None:
        return "none"
    if not state.online or state.device is None:
        return "offline"
    try:
        status = manager.use(state.name, lambda printer: printer.status())
    except Exception:  # a printer that fails to answer is as good as offline for the operator
        return "offline"
    if not status.online:
        return "offline"
    if status.paper == "out" or status.cover_open:
        return "paper_out"
    return "paper_low" if status.paper == "near_end" else "ok"


def device_state(manager: DeviceManager, kind: str) -> str:
    state = manager.first(kind)
    if state is None:
        return "none"
    return "ok" if state.online else "offline"


def _sync(state: SyncState | None) -> tuple[str, str]:
    """(last success time, last error when newer than it) from the sync state file."""
    if state is None:
        return "", ""
    data = state.read()
    success, error = data.get("last_success") or {}, data.get("last_error") or {}
    newer = error and error.get("at", "") >= success.get("at", "")
    return success.get("at", ""), str(error.get("message", "")) if newer else ""


def gather(manager: DeviceManager, reads: sqlite3.Connection, *, host_configured: bool, exponent: int,
           power_supply: Path = POWER_SUPPLY, sync_state: SyncState | None = None, outbox_alert: int = 0) -> Status:
    """Everything the status bar shows, in one snapshot (call it off the loop: it asks the printer).

    `sync_state` (None when no head office is configured) and `outbox_alert` give the
    upload line: last success, a newer error, and the alert once the queue reaches it.
    """
    waiting = host_queue.pending(reads)
    uploads = reads.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    sync_last, sync_error = _sync(sync_state)
    if not host_configured:
        host = "no_host"
    else:
        host = "offline" if waiting["reversal"] or waiting["advice"] else "online"
    return Status(
        printer=printer_state(manager),
        card_reader=device_state(manager, "card_reader"),
        host=host,
        uploads=uploads,
        reversals=waiting["reversal"],
        advices=waiting["advice"],
        banner=offline.exposure(reads).banner(exponent),
        battery=battery(power_supply),
        sync_last=sync_last,
        sync_error=sync_error,
        sync_alert=outbox_alert if sync_state is not None and outbox_alert and uploads >= outbox_alert else 0,
    )


def read_only(database: Path) -> sqlite3.Connection:
    """A connection of the console's own that can never write (WAL readers never block the writer)."""
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
