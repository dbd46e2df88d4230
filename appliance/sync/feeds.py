"""Pulling the downstream feeds from head office: catalog, promotions, members, coupons, delivery orders.

Each feed is read page by page after the version this terminal last applied (`since=`).
A page is applied in one transaction together with its new cursor: a crash or a lost
answer re-reads the same page, never skips or doubles one. What each feed does to the
local rows, and who wins a conflict, is in its applier (appliance/sync/apply_*.py) and
in docs/sync.md. Members come before coupons: a coupon names its member.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Callable

from appliance.config import Settings
from appliance.store.db import Store
from appliance.sync.client import SyncProtocolError, SyncRejected, SyncUnreachable, _server_message
from appliance.sync.drain import Target

PAGE = 500


@dataclass(frozen=True)
class Item:
    key: str
    version: int
    body: dict[str, Any] | None  # None: head office removed it


@dataclass
class Pulled:
    """What one feed pull did: items applied, items refused with the reason, the cursor reached."""

    feed: str
    applied: int = 0
    refused: list[str] = field(default_factory=list)
    version: int = 0


Applier = Callable[[Store, Settings, list[Item], str], list[str]]


def _appliers() -> dict[str, Applier]:
    # Imported here: each applier pulls in its part of the till (catalog import, loyalty...).
    from appliance.sync import apply_catalog, apply_coupons, apply_members, apply_orders, apply_promotions

    return {"catalog": apply_catalog.apply, "promotions": apply_promotions.apply, "members": apply_members.apply,
            "coupons": apply_coupons.apply, "delivery_orders": apply_orders.apply}  # fmt: skip


FEEDS = ("catalog", "promotions", "members", "coupons", "delivery_orders")


def cursor(store: Store, feed: str) -> int:
    return store.scalar("SELECT version FROM feed_cursors WHERE feed = ?", (feed,)) or 0


def fetch(target: Target, feed: str, since: int, limit: int) -> tuple[list[Item], int, bool]:
    """One signed GET of a feed page: (items, next cursor, more pages waiting)."""
    path = f"/v1/feeds/{feed}?since={since}&limit={limit}"
    signature = hmac.new(target.secret.reveal(), f"GET {path}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(target.url + path, headers={"X-Device": target.device, "X-Signature": signature})
    where = target.url + path
    try:
        with urllib.request.urlopen(request, timeout=target.timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        message = _server_message(exc.read())
        if exc.code in (400, 401, 403, 404):
            raise SyncRejected(f"head office refused the {feed} feed ({exc.code}): {message}", status=exc.code,
                               where=where) from None  # fmt: skip
        raise SyncUnreachable(f"head office answered {exc.code}: {message}", where=where) from None
    except (urllib.error.URLError, HTTPException, socket.timeout, ConnectionError) as exc:
        raise SyncUnreachable(f"head office did not answer: {getattr(exc, 'reason', None) or exc}", where=where) from None
    try:
        doc = json.loads(raw)
        items = [Item(str(i["key"]), int(i["version"]), i["body"]) for i in doc["items"]]
        following, more = int(doc["next"]), bool(doc["more"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SyncProtocolError(f"head office's {feed} page is not what the contract says ({exc})", where=where) from None
    if any(item.body is not None and not isinstance(item.body, dict) for item in items) or following < since:
        raise SyncProtocolError(f"head office's {feed} page has a malformed item or goes backwards", where=where)
    return items, following, more


def pull(store: Store, settings: Settings, target: Target, feed: str, *, now: Callable[[], str]) -> Pulled:
    """Apply every page of `feed` waiting at head office; each page with its cursor in one transaction."""
    apply = _appliers()[feed]
    result = Pulled(feed, version=cursor(store, feed))
    while True:
        items, following, more = fetch(target, feed, result.version, PAGE)
        if items:
            at = now()
            with store.atomic() as conn:
                refused = apply(store, settings, items, at)
                conn.execute("INSERT INTO feed_cursors (feed, version, applied_at) VALUES (?, ?, ?) ON CONFLICT (feed)"
                             " DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at",
                             (feed, following, at))  # fmt: skip
            result.applied += len(items) - len(refused)
            result.refused += refused
        result.version = following
        if not more:
            return result


def pull_all(store: Store, settings: Settings, target: Target, *, now: Callable[[], str]) -> list[Pulled]:
    """Every feed in dependency order (members before coupons)."""
    return [pull(store, settings, target, feed, now=now) for feed in FEEDS]
