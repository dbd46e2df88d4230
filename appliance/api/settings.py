"""Settings routes for the back office: the configuration in effect and the shop details.

The configuration file is the technician's: every key is shown with its documentation and
the file it lives in, so whoever reads the page knows where a value comes from. Only the
shop details printed on receipts ([shop]) may be changed here, by a manager: they are
text with no effect on money, tax or devices. They are written into the same file, checked
by the loader's own rules first, replaced atomically, journaled (who changed what), and
take effect when the till restarts: the running till keeps one configuration for a whole
sale, and restarting under a sale in progress is not the browser's call.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from appliance import config, config_file
from appliance.api.openapi import BOOLEAN, TEXT, Call, Route, array, nullable, obj, string
from appliance.core.clock import iso
from appliance.errors import ConfigError, DomainError, InputError

# --- the configuration

SHOWN = ("shop", "device", "currency", "tax", "receipt", "sale", "security", "time")  # what a shop runs by
EDITABLE = "shop"
ANY = {"description": "the value as written in the configuration file (TOML)"}
ENTRY = obj({"section": TEXT, "key": TEXT, "value": ANY, "doc": TEXT, "editable": BOOLEAN,
             "saved": {"nullable": True, "description": "the value in the file when it differs from the one in "
                                                        "effect: it applies after the till restarts"}})
SETTINGS = obj({"file": nullable(TEXT), "problem": nullable(TEXT), "entries": array(ENTRY)})


def _values(settings: config.Settings) -> dict[tuple[str, str], Any]:
    """Every shown key's value as it is written in TOML ("13%" rather than 1300 basis points)."""
    values = {}
    for section in SHOWN:
        table = getattr(settings, section)
        for f in dataclasses.fields(table):
            show = f.metadata["show"]
            value = getattr(table, f.name)
            values[section, f.name] = show(value) if show else value
    return values


DOCS = {(section, f.name): f.metadata["doc"] for section in SHOWN for f in dataclasses.fields(config.SECTIONS[section])}


def _file(settings: config.Settings) -> Path:
    if settings.source == config.EMBEDDED:
        raise DomainError("this till runs on the built-in demo configuration and has no file to change: a technician "
                          "provisions it (appliance provision apply) or starts it with --config")  # fmt: skip
    return Path(settings.source)


async def show_settings(call: Call) -> tuple[int, Any]:
    settings = call.daemon.settings
    file, problem, saved = None, None, {}
    try:
        file = _file(settings)
        saved = _values(await asyncio.to_thread(config.load, file))  # the loader itself: what the next start uses
    except (DomainError, ConfigError) as exc:
        problem = str(exc)
    entries = []
    for (section, key), value in _values(settings).items():
        later = saved.get((section, key), value)
        entries.append({"section": section, "key": key, "value": value, "doc": DOCS[section, key],
                        "editable": section == EDITABLE and problem is None,
                        "saved": None if later == value else later})
    return 200, {"file": str(file) if file else None, "problem": problem, "entries": entries}


def _write_shop(call: Call, changes: dict[str, str]) -> None:
    """On the worker: check the file and the changes as the loader will, then write and journal them together."""
    daemon = call.daemon
    path = _file(daemon.settings)
    try:
        old, new, _ = config_file.edited(path, EDITABLE, changes)
    except config_file.Unreadable as exc:
        raise DomainError(f"{exc.message}; it cannot be changed here until a technician fixes it",
                          where=str(path)) from None  # fmt: skip
    except ConfigError as exc:
        key = next((key for key in changes if (exc.where or "").endswith(f"[{EDITABLE}] {key}")), None)
        raise InputError(exc.message, where=f"body.{key}" if key else "body") from None
    before = {key: getattr(daemon.settings.shop, key) for key in changes}
    at, by = iso(daemon.clock.now()), call.operator
    replaced = False
    try:
        with daemon.store.event("settings.shop_changed", ref=EDITABLE, at=at) as event:
            event.payload = {"file": str(path), "by": by.code,
                             "changes": {key: {"from": before[key], "to": value} for key, value in changes.items()}}
            config_file.replace(path, new)
            replaced = True
    except BaseException as exc:
        if replaced:  # the journal could not take it: the file goes back as it was
            config_file.replace(path, old)
        if isinstance(exc, OSError):
            raise DomainError(f"cannot write the configuration file ({exc.strerror}): nothing was changed",
                              where=str(path)) from None  # fmt: skip
        raise


async def save_shop(call: Call) -> tuple[int, Any]:
    """Change shop details in the configuration file; the answer shows them as saved, in effect after a restart."""
    if not call.body:
        raise InputError("send at least one of " + ", ".join(SHOP_BODY["properties"]), where="body")
    await call.daemon.run_in_worker(lambda: _write_shop(call, call.body))
    return await show_settings(call)


# One line on the receipt: no line breaks (U+0085, U+2028 and U+2029 too) or control characters.
PLAIN = r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*$"
# Lengths and the rest are the loader's checks (422 naming the field); the schema only keeps the text to one line.
SHOP_BODY = obj(optional={f.name: string(200, pattern=PLAIN) for f in dataclasses.fields(config.Shop)})

ROUTES = [
    Route("GET", "/settings", "supervisor", show_settings, "the configuration in effect, with each key's "
          "documentation and the file it is in", SETTINGS, tag="settings"),
    Route("PUT", "/settings/shop", "manager", save_shop, "change shop details in the configuration file (after a "
          "restart)", SETTINGS, body=SHOP_BODY, tag="settings"),
]
