"""First boot and factory reset: the terminal's provisioned state on its data partition.

First boot (systemd/appliance-firstboot.service, before the till starts) reads
provision.toml from the config partition and applies it once: it writes the terminal's
configuration to the data partition, keeps the enrolment code there (mode 0600) until
head office accepts it, removes the code from the config partition (FAT: anyone holding
the card can read it), and leaves a marker so it never applies twice. Each step leaves a
state the next boot can finish from, so a power cut at any point loses nothing:

  1. the code saved in <data>/enrollment.pending      (the card still has it too)
  2. <data>/appliance.toml written
  3. <data>/provisioned.json, the marker              (from here on: never applied again)
  4. the code removed from the card's provision.toml
  5. enrolment with head office; on success the pending code is deleted

Without a network at step 5 the code waits, and each later boot (or `appliance provision
apply` by hand) tries again. A factory reset empties the data partition, so the next boot
provisions again from the card's file, which no longer holds a code.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tomllib
from contextlib import closing, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import tomli_w

from appliance import config
from appliance.errors import ApplianceError, ConfigError
from appliance.sync.client import SyncRejected, SyncUnreachable, enroll
from image import provision

CONFIG = "appliance.toml"
MARKER = "provisioned.json"
PENDING = "enrollment.pending"
SECRET = "device.secret"
KEEP = ("lost+found",)  # e2fsck's folder at the root of the ext4 data partition


class AlreadyProvisioned(ApplianceError):
    """The card's provisioning file differs from the one this terminal applied: a factory reset comes first."""

    code = "provisioned"


class EnrolmentRefused(ApplianceError, PermissionError):
    """Head office refused the enrolment code; the terminal works, but sends nothing until enrolled."""

    code = "enrolment_refused"


class NotApplianceData(ApplianceError, ValueError):
    """A factory reset was pointed at a folder that does not hold the appliance's data."""

    code = "not_appliance_data"


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _replace(path: Path, data: bytes, *, private: bool) -> None:
    """Write-then-rename, so a power cut leaves the old file or the new one, never half of one.

    `private` files (data partition) are 0600 from the first byte and take the data
    folder's owner: first boot runs as root, the till as the appliance user.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        if private:
            folder = path.parent.stat()
            os.fchmod(fd, 0o600)
            os.fchown(fd, folder.st_uid, folder.st_gid)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    # The rename is durable once the folder is flushed; FAT and some mounts refuse fsync on a folder.
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_marker(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the provisioning marker cannot be read ({exc}): factory-reset this terminal",
                          where=str(data_dir / MARKER)) from None  # fmt: skip


def _write_marker(data_dir: Path, marker: dict[str, Any]) -> None:
    _replace(data_dir / MARKER, json.dumps(marker, indent=1, sort_keys=True).encode("utf-8") + b"\n", private=True)


def load_base(path: Path | None) -> dict[str, Any]:
    """The image's default configuration as a TOML mapping ({} for the embedded default), checked."""
    if path is None:
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the base configuration: {exc}", where=str(path)) from None
    config.from_mapping(raw, source=str(path))
    return raw


def terminal_config(prov: provision.Provisioning, base: dict[str, Any],
                    data_dir: Path) -> tuple[dict[str, Any], config.Settings]:  # fmt: skip
    """The base configuration with what the provisioning file says, checked as the till will load it."""
    raw = {section: dict(table) if isinstance(table, dict) else table for section, table in base.items()}
    raw.setdefault("device", {})["id"] = prov.device
    raw.setdefault("paths", {})["data_dir"] = str(data_dir)
    sync = raw.setdefault("sync", {})
    sync["device_secret_file"] = str(data_dir / SECRET)
    if prov.sync_url:
        sync["url"] = prov.sync_url
    if prov.zone is not None:
        raw.setdefault("time", {})["zone"] = prov.zone
    if prov.language is not None:
        raw.setdefault("console", {})["language"] = prov.language
    settings = config.from_mapping(raw, source=str(data_dir / CONFIG), base_dir=data_dir)
    return raw, settings


def apply(boot_dir: Path, data_dir: Path, *, base: dict[str, Any], timeout: float = 10.0,
          now: Callable[[], str] = _utc_now) -> list[str]:  # fmt: skip
    """Apply the card's provisioning file once, and enrol with head office; what was done, line by line."""
    card_file = boot_dir / provision.FILE
    marker = read_marker(data_dir)
    done: list[str] = []
    if card_file.exists():
        prov, _ = provision.load(card_file)
        if marker is None:
            marker = _first_apply(prov, data_dir, base, now())
            done.append(f"applied {card_file}: device {prov.device}, shop {prov.shop}, "
                        f"configuration in {data_dir / CONFIG}")  # fmt: skip
        elif marker["fingerprint"] != prov.fingerprint():
            raise AlreadyProvisioned(f"this terminal was provisioned as device {marker['device']} on "
                                     f"{marker['applied_at']}; a different provisioning file is not applied over it: "
                                     "run `appliance factory-reset` first", where=str(card_file))  # fmt: skip
        if prov.enrollment_code:
            note = f"Applied by appliance provision apply on {marker['applied_at']}; the enrolment code was removed."
            _replace(card_file, prov.scrubbed_text(note).encode("utf-8"), private=False)
            done.append(f"removed the enrolment code from {card_file}")
    elif marker is None:
        return [f"nothing to provision: there is no {card_file}"]
    if (data_dir / PENDING).exists():
        done.append(enrol_pending(data_dir, marker, timeout=timeout, now=now))
    return done


def _first_apply(prov: provision.Provisioning, data_dir: Path, base: dict[str, Any], at: str) -> dict[str, Any]:
    raw, settings = terminal_config(prov, base, data_dir)  # checked before anything is written
    data_dir.mkdir(parents=True, exist_ok=True)
    if prov.enrollment_code and not (data_dir / SECRET).exists():
        _replace(data_dir / PENDING, prov.enrollment_code.encode("ascii") + b"\n", private=True)
    header = f"# Written by appliance provision apply on {at} from the config partition's provision.toml.\n"
    _replace(data_dir / CONFIG, (header + tomli_w.dumps(raw)).encode("utf-8"), private=True)
    marker = {"device": prov.device, "shop": prov.shop, "sync_url": settings.sync.url, "applied_at": at,
              "fingerprint": prov.fingerprint(), "enrolled_at": None}  # fmt: skip
    _write_marker(data_dir, marker)
    return marker


def enrol_pending(data_dir: Path, marker: dict[str, Any], *, timeout: float, now: Callable[[], str] = _utc_now) -> str:
    """Trade the waiting enrolment code for the device secret; keep the code while head office is unreachable."""
    pending, secret_file = data_dir / PENDING, data_dir / SECRET
    url, device = marker["sync_url"], marker["device"]
    code = pending.read_text(encoding="ascii").strip()
    try:
        enroll(url, code, device, secret_file, timeout=timeout)
    except SyncUnreachable as exc:
        return (f"head office did not answer ({exc.message}); the enrolment code waits in {pending} and is tried "
                "again at the next boot or with `appliance provision apply`")  # fmt: skip
    except SyncRejected as exc:
        pending.unlink()  # a refused code never works later: keeping it would only retry forever
        raise EnrolmentRefused(f"head office refused the enrolment code ({exc.message}): ask head office for a new "
                               "code (and to revoke this device if it was enrolled before), then run "
                               "`appliance sync enroll --code CODE`", where=url) from None  # fmt: skip
    # Any other SyncError (an answer outside the contract: a software mismatch) goes up; the code stays.
    folder = data_dir.stat()
    os.chown(secret_file, folder.st_uid, folder.st_gid)
    pending.unlink()
    _write_marker(data_dir, {**marker, "enrolled_at": now()})
    return f"enrolled device {device} with {url}; its secret is in {secret_file} (mode 0600)"


# -- factory reset ----------------------------------------------------------------------------

SIGNS = (CONFIG, MARKER, SECRET, PENDING, "appliance.db")  # any of these: the folder is the appliance's


def device_id(data_dir: Path) -> str | None:
    """The terminal's id as provisioned, for the reset's typed confirmation; None when it cannot be told."""
    with suppress(ConfigError):
        marker = read_marker(data_dir)
        if marker:
            return str(marker["device"])
    with suppress(ConfigError):
        if (data_dir / CONFIG).exists():
            return config.load(data_dir / CONFIG).device.id
    return None


def unsent_events(data_dir: Path) -> int | None:
    """Journal events head office has not received, which a reset destroys; None when the store cannot be read."""
    try:
        database = config.load(data_dir / CONFIG).database_path if (data_dir / CONFIG).exists() else None
    except ConfigError:
        database = None
    database = database or data_dir / "appliance.db"
    if not database.is_file():
        return None
    # Without a -wal file the database file is complete: open it immutable, so the count
    # leaves no -shm/-wal behind (a refused reset must change nothing in the folder).
    wal = database.with_name(database.name + "-wal").exists()
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro{'' if wal else '&immutable=1'}", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
    except sqlite3.Error:
        return None


def factory_reset(data_dir: Path, boot_dir: Path) -> list[str]:
    """Empty the data partition (store, device secret, configuration, marker) and strip any code from the card."""
    if not data_dir.is_dir():
        raise NotApplianceData("there is no such folder", where=str(data_dir))
    entries = [entry for entry in sorted(data_dir.iterdir()) if entry.name not in KEEP]
    if entries and not any((data_dir / sign).exists() for sign in SIGNS):
        raise NotApplianceData(f"this folder holds none of {', '.join(SIGNS)}: it is not the appliance's data "
                               "folder, and nothing was erased", where=str(data_dir))  # fmt: skip
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    _sync_folder(data_dir)
    done = [f"erased {len(entries)} entries in {data_dir}"]
    card_file = boot_dir / provision.FILE
    if card_file.exists():
        done.append(_scrub_card(card_file))
    return done


def _scrub_card(card_file: Path) -> str:
    """The card's file must carry no enrolment code after a reset: the terminal may go to someone else."""
    try:
        prov, _ = provision.load(card_file)
    except ConfigError:
        if "enrollment_code" not in card_file.read_text(encoding="utf-8", errors="replace"):
            return f"{card_file} is left as it is (it cannot be read, and holds no enrolment code)"
        card_file.unlink()
        return f"deleted {card_file}: it cannot be read and may hold an enrolment code"
    if not prov.enrollment_code:
        return f"{card_file} stays: the next boot provisions again from it (without an enrolment code)"
    note = f"Enrolment code removed by appliance factory-reset on {_utc_now()}."
    _replace(card_file, prov.scrubbed_text(note).encode("utf-8"), private=False)
    return f"removed the enrolment code from {card_file}; the next boot provisions again from it"
