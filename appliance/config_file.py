"""Changing keys of one section of the configuration file in place, for the back office's shop details.

The file is the technician's: its comments, key order and layout stay as they were
(tomlkit edits the parsed document rather than writing it anew), and only the changed
values differ. The result is checked by the loader's own rules before anything is
written, and the write is atomic (a temporary file, fsynced, renamed over the old one,
the folder fsynced), so a power cut leaves the old file or the new one, never half.
"""

from __future__ import annotations

import os
import tomllib
from contextlib import suppress
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from appliance import config
from appliance.errors import ConfigError


class Unreadable(ConfigError):
    """The file as it stands cannot be read or does not load: a technician must fix it first."""


def edited(path: Path, section: str, changes: dict[str, Any]) -> tuple[bytes, bytes, config.Settings]:
    """(the file as it is, the file with `changes` made to `section`, the settings it will load as).

    Unreadable when the file as it stands cannot be read or loaded; the loader's own
    ConfigError (its `where` names the key: "...: [shop] name") when a change is refused.
    """
    try:
        old = path.read_bytes()
        document = tomlkit.parse(old.decode("utf-8"))
        config.from_mapping(tomllib.loads(old.decode("utf-8")), source=str(path), base_dir=path.resolve().parent)
    except (OSError, UnicodeDecodeError, TOMLKitError, tomllib.TOMLDecodeError, ConfigError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else exc
        raise Unreadable(f"the configuration file cannot be read: {why}", where=str(path)) from None
    if section not in document:
        document.add(section, tomlkit.table())
    for key, value in changes.items():
        document[section][key] = value
    new = tomlkit.dumps(document).encode("utf-8")
    settings = config.from_mapping(tomllib.loads(new.decode("utf-8")), source=str(path), base_dir=path.resolve().parent)
    return old, new, settings


def replace(path: Path, data: bytes) -> None:
    """Write-then-rename with the old file's mode."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path.stat().st_mode & 0o777), "wb") as out:
            out.write(data)  # a buffered write: all of it or an error (os.write may write part and say so)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    with suppress(OSError):  # the rename is durable once the folder is flushed; some mounts refuse it
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
