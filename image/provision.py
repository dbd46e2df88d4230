"""The provisioning file (`provision.toml` on the config partition): who a terminal is, checked, and put on a disk.

A technician writes one file per terminal: its device id, its shop, head office's address
and a one-time enrolment code, its time zone and console language. It goes onto the
config partition (partition 1, FAT32) of the flashed card or of a raw disk image, never
into the signed image folder: changing the compressed image would break its signature,
and the signing key never leaves the build machine. First boot applies it once
(image/firstboot.py).

Values are checked with the very checkers of appliance/config.py, so a value accepted
here is one the till accepts too; each error names the file, the section and the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomli_w

from appliance import config
from appliance.errors import ApplianceError, ConfigError
from image import disks

FILE = "provision.toml"
CONFIG_LABEL = "config"  # PARTLABEL of partition 1 (docs/image-field.md, the disk layout)


def _config_check(section: type, key: str) -> Callable[[Any], Any]:
    return next(f for f in dataclasses.fields(section) if f.name == key).metadata["check"]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string in quotes, not {type(value).__name__}")
    return value


def _shop_id(value: Any) -> str:
    # Head office's store ids appear in its URLs and reports: the same characters as its device ids.
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", _string(value)):
        raise ValueError(f"must be 1-64 letters, digits, '.', '_' or '-', not {value!r}")
    return value


def _enrollment_code(value: Any) -> str:
    # hq issues 16 hex digits (hq/storage.py); case and stray spaces from reading it out do not matter.
    text = _string(value).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{16,64}", text):
        raise ValueError("must be the code head office issued: 16 hex digits (python -m hq enroll-code)")
    return text


# (section, key) -> (checker, required)
KEYS: dict[tuple[str, str], tuple[Callable[[Any], Any], bool]] = {
    ("device", "id"): (_config_check(config.Device, "id"), True),
    ("shop", "id"): (_shop_id, True),
    ("sync", "url"): (_config_check(config.Sync, "url"), False),
    ("sync", "enrollment_code"): (_enrollment_code, False),
    ("time", "zone"): (_config_check(config.Time, "zone"), False),
    ("console", "language"): (_config_check(config.Console, "language"), False),
}


@dataclass(frozen=True)
class Provisioning:
    device: str
    shop: str
    sync_url: str = ""
    enrollment_code: str = ""
    zone: str | None = None  # None: the image's default configuration decides
    language: str | None = None

    def public(self) -> dict[str, dict[str, str]]:
        """The file's tables without the enrolment code: what may stay on the card once it is applied."""
        tables: dict[str, dict[str, str]] = {"device": {"id": self.device}, "shop": {"id": self.shop}}
        if self.sync_url:
            tables["sync"] = {"url": self.sync_url}
        if self.zone is not None:
            tables["time"] = {"zone": self.zone}
        if self.language is not None:
            tables["console"] = {"language": self.language}
        return tables

    def fingerprint(self) -> str:
        """SHA-256 of the public part: tells a file already applied from a new one, with or without its code."""
        return hashlib.sha256(json.dumps(self.public(), sort_keys=True).encode("utf-8")).hexdigest()

    def scrubbed_text(self, note: str) -> str:
        """The file rewritten without the secret, with a comment saying where it went."""
        return f"# {note}\n" + tomli_w.dumps(self.public())


def parse(text: str, source: str) -> Provisioning:
    """A provisioning file's text, checked: unknown sections and keys, missing and malformed values are refused."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", where=source) from None
    sections = {section for section, _ in KEYS}
    values: dict[tuple[str, str], Any] = {}
    for section, table in raw.items():
        if section not in sections:
            raise ConfigError(f"unknown section; a provisioning file has {', '.join(sorted(sections))}",
                              where=f"{source}: [{section}]")  # fmt: skip
        if not isinstance(table, dict):
            raise ConfigError("must be a table ([section] with keys under it)", where=f"{source}: [{section}]")
        for key, value in table.items():
            if (section, key) not in KEYS:
                known = ", ".join(k for s, k in KEYS if s == section)
                raise ConfigError(f"unknown key; [{section}] has {known}", where=f"{source}: [{section}] {key}")
            try:
                values[section, key] = KEYS[section, key][0](value)
            except ValueError as exc:
                raise ConfigError(str(exc), where=f"{source}: [{section}] {key}") from None
    for (section, key), (_, required) in KEYS.items():
        if required and (section, key) not in values:
            raise ConfigError("is missing", where=f"{source}: [{section}] {key}")
    if values.get(("sync", "enrollment_code")) and not values.get(("sync", "url")):
        raise ConfigError("an enrolment code needs head office's address: set url too",
                          where=f"{source}: [sync] enrollment_code")  # fmt: skip
    return Provisioning(values["device", "id"], values["shop", "id"], values.get(("sync", "url"), ""),
                        values.get(("sync", "enrollment_code"), ""), values.get(("time", "zone")),
                        values.get(("console", "language")))  # fmt: skip


def load(path: Path) -> tuple[Provisioning, str]:
    """The checked provisioning and the file's text as written (its comments are kept on the card)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the provisioning file: {exc}", where=str(path)) from None
    return parse(text, str(path)), text


# -- into a disk -----------------------------------------------------------------------------


class ProvisionWriteError(ApplianceError, OSError):
    """The provisioning file could not be put on the disk's config partition."""

    code = "provision_write"


def _mtools(*args: str) -> subprocess.CompletedProcess:
    # MTOOLS_SKIP_CHECK: a partition image has no drive geometry for mtools to agree with.
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    try:
        return subprocess.run(list(args), capture_output=True, env=env, timeout=60)
    except OSError as exc:
        raise ProvisionWriteError(f"{args[0]} cannot run ({exc}): install the mtools package", where=args[0]) from None


def config_partition(disk: Path) -> disks.Partition:
    table = disks.partition_table(disk)
    for part in table:
        if part.label == CONFIG_LABEL:
            return part
    raise ProvisionWriteError(f"no partition is labelled {CONFIG_LABEL!r}: this is not an appliance disk image",
                              where=str(disk))  # fmt: skip


def write_into(disk: Path, text: str) -> disks.Partition:
    """Put `text` as provision.toml on the config partition of a raw disk (an image file or a card).

    The partition (64 MiB) is copied out, mtools writes the file into the copy, and the
    copy is written back over exactly the partition's byte range and read back. Nothing
    outside partition 1 is ever written, whatever mtools does: it never sees the disk.
    """
    part = config_partition(disk)
    try:
        fd = os.open(disk, os.O_RDWR)
    except OSError as exc:
        raise ProvisionWriteError(f"cannot open the disk: {exc.strerror or exc}", where=str(disk)) from None
    try:
        original = _pread_all(fd, part.start, part.size)
        if len(original) != part.size:
            raise ProvisionWriteError("the disk ends inside its config partition: it is truncated", where=str(disk))
        updated = _with_file(original, text, str(disk))
        _write_back(fd, part.start, updated, str(disk))
    finally:
        os.close(fd)
    return part


def _with_file(partition: bytes, text: str, where: str) -> bytes:
    """The partition's bytes with provision.toml written into its FAT file system by mtools."""
    with tempfile.TemporaryDirectory(prefix="provision-") as work:
        copy, source = Path(work) / "config.vfat", Path(work) / FILE
        copy.write_bytes(partition)
        source.write_text(text, encoding="utf-8")
        done = _mtools("mcopy", "-o", "-i", str(copy), str(source), f"::/{FILE}")
        if done.returncode != 0:
            raise ProvisionWriteError(f"the config partition is not a FAT file system mtools can write "
                                      f"({done.stderr.decode(errors='replace').strip()})", where=where)  # fmt: skip
        check = _mtools("mtype", "-i", str(copy), f"::/{FILE}")
        if check.stdout.decode("utf-8", "replace") != text or copy.stat().st_size != len(partition):
            raise ProvisionWriteError("the provisioning file did not read back from the partition copy", where=where)
        return copy.read_bytes()


def _write_back(fd: int, offset: int, data: bytes, where: str) -> None:
    """Write `data` at `offset`, flush it to the medium, and read it back from there, not from the cache."""
    try:
        view, at = memoryview(data), offset
        while view:
            written = os.pwrite(fd, view, at)
            view, at = view[written:], at + written
        os.fsync(fd)
        os.posix_fadvise(fd, offset, len(data), os.POSIX_FADV_DONTNEED)
        back = _pread_all(fd, offset, len(data))
    except OSError as exc:
        raise ProvisionWriteError(f"writing the config partition failed: {exc.strerror or exc}", where=where) from None
    if back != data:
        raise ProvisionWriteError("the config partition did not read back as written: the card may be failing",
                                  where=where)  # fmt: skip


def _pread_all(fd: int, offset: int, size: int) -> bytes:
    parts, at = [], offset
    while at < offset + size:
        chunk = os.pread(fd, min(1 << 20, offset + size - at), at)
        if not chunk:
            break
        parts.append(chunk)
        at += len(chunk)
    return b"".join(parts)
