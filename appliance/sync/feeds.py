"""Pulling the downstream feeds from head office: catalog, promotions, members, coupons, delivery orders.

Each feed is read page by page after the version this terminal last applied (`since=`).
A page is applied in one transaction together with its new cursor: a crash or a lost
answer re-reads the same page, never skips or doubles one. What each feed does to the
local rows, and who wins a conflict, is in its applier (appliance/sync/apply_*.py) and
in docs/sync.md. Members come before coupons: a coupon names its member.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from appliance.config import Settings
from appliance.store.db import Store
from appliance.sync.client import SyncProtocolError, request_json, sign
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


@contextmanager
def page_event(store: Store, feed: str, items: list[Item], at: str) -> Iterator[tuple[sqlite3.Connection, list[str]]]:
    """One `feed.applied` event for a page: the applier's rows, and the list it fills with refusals."""
    refused: list[str] = []
    with store.event("feed.applied", ref=feed, at=at) as event:
        yield event.conn, refused
        event.payload = {"feed": feed, "versions": [items[0].version, items[-1].version], "items": len(items),
                         "problems": refused[:20]}  # fmt: skip


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
    signature = sign(target.secret, f"GET {path}".encode())
    where = target.url + path
    document = request_json(where, timeout=target.timeout_s, headers={"X-Device": target.device,
                                                                       "X-Signature": signature})  # fmt: skip
    try:
        items = [Item(str(i["key"]), int(i["version"]), i["body"]) for i in document["items"]]
        following, more = int(document["next"]), bool(document["more"])
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
