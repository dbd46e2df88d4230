"""Downstream feeds: what head office sends the terminals, each pulled with a `since=` cursor.

| feed | from | key | conflict rule on the terminal |
|---|---|---|---|
| catalog | `publish catalog FILE.csv` (the terminal's CSV columns) | sku | head office wins: products and prices are replaced |
| promotions | `publish promotions FILE.json` | promotion id | head office wins |
| members | terminals' member events, merged | member id | profile: head office wins; balances: head office's figures for the other terminals, the terminal's own ledger on top |
| coupons | `publish coupons FILE.json` and terminals' coupons.issued | code | a redemption anywhere sticks |
| delivery_orders | `publish delivery-orders FILE.json --store S` | order no | head office wins until the order is paid on a terminal |

Versions are per feed and only grow; a page is the items after the cursor in version
order, so a terminal that was offline for a week gets every change once, the latest
body of each key. Items ingest derives (members, coupons, paid orders) are marked dirty
at ingest and versioned by `refresh`, which the server runs every few seconds.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

from appliance.core.catalog_csv import COLUMNS, REQUIRED, csv_rows
from appliance.errors import InputError

from hq.errors import Malformed
from hq.storage import SqlStorage

FEEDS = ("catalog", "promotions", "members", "coupons", "delivery_orders")
MAX_PAGE = 1000


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def page(storage: SqlStorage, feed: str, store: str, since: int, limit: int) -> dict[str, Any]:
    """One page of `feed` for a terminal of `store`: {"feed", "items", "next", "more"}."""
    if feed not in FEEDS:
        raise Malformed(f"no feed {feed!r}: {', '.join(FEEDS)}", where="feed")
    if since < 0 or not 1 <= limit <= MAX_PAGE:
        raise Malformed(f"since must be 0 or more and limit from 1 to {MAX_PAGE}", where="since")
    rows = storage.feed_page(feed, store, since, limit)
    items = [{"key": key, "version": version, "body": json.loads(body) if body is not None else None}
             for key, version, body in rows]  # fmt: skip
    return {"feed": feed, "items": items, "next": rows[-1][1] if rows else since, "more": len(rows) == limit}


# -- what head office staff publish ----------------------------------------------------


def catalog_items(text: str) -> list[tuple[str, str | None]]:
    """Rows of a catalog CSV (the terminal's import columns) as feed items keyed by SKU.

    Only the shape is checked here; each terminal checks every value with its own rules
    (tax classes, currency) when it applies the row, and reports the rows it refused.
    """
    rows = csv_rows(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError("the catalog file is empty", where="line 1") from None
    header = [h.strip().lower() for h in header]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        raise InputError(f"columns must be among {', '.join(COLUMNS)} and include {', '.join(REQUIRED)}",
                         where="line 1")  # fmt: skip
    items: dict[str, str] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"has {len(row)} fields, the header has {len(header)}", where=f"line {line}")
        values = dict(zip(header, row))
        sku = values["sku"].strip()
        if not sku:
            raise InputError("the sku is empty", where=f"line {line}")
        items[sku] = _text(values)
    return list(items.items())


def _objects(text: str, what: str, key: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError(f"the {what} file is not JSON ({exc})") from None
    if not isinstance(doc, list) or not all(isinstance(item, dict) and isinstance(item.get(key), str) and item[key]
                                            for item in doc):  # fmt: skip
        raise InputError(f"the {what} file must be a JSON list of objects, each with a {key!r} string")
    return doc


def promotion_items(text: str) -> list[tuple[str, str | None]]:
    """A JSON list of promotions, as the terminal's `promotions.saved` event spells them."""
    return [(p["id"], _text(p)) for p in _objects(text, "promotions", "id")]


def coupon_items(text: str) -> list[tuple[str, str | None]]:
    """A JSON list of coupons: code, member_id, amount or percent, min_spend, expires_on, campaign."""
    return [(c["code"].strip().upper(), _text({**c, "code": c["code"].strip().upper()}))
            for c in _objects(text, "coupons", "code")]  # fmt: skip


def order_items(text: str) -> list[tuple[str, str | None]]:
    """A JSON list of delivery orders: order_no, items [{sku, qty}], total, paid."""
    return [(o["order_no"].strip().upper(), _text({**o, "order_no": o["order_no"].strip().upper()}))
            for o in _objects(text, "delivery orders", "order_no")]  # fmt: skip


def publish_coupons(storage: SqlStorage, items: list[tuple[str, str | None]]) -> int:
    """Coupons from head office join those terminals issued, so a redemption reported later still applies."""
    storage.add_coupons(items)
    return refresh(storage)


# -- what ingest derived, versioned ----------------------------------------------------


Read = Callable[..., list[Any]]  # read(sql, params): rows in the rebuild's transaction


def _first(rows: list[Any]) -> Any:
    return rows[0] if rows else None


def _member(read: Read, key: str) -> tuple[str, str, str | None]:
    row = _first(read("SELECT profile FROM members WHERE id = ?", (key,)))
    body = json.loads(row[0]) if row else {"id": key}
    ledger = read("SELECT device, points, stored_value FROM member_ledger WHERE member_id = ? ORDER BY device", (key,))
    body["points_by_device"] = {device: points for device, points, _ in ledger}
    body["stored_value_by_device"] = {device: value for device, _, value in ledger}
    return "", key, _text(body)


def _coupon(read: Read, key: str) -> tuple[str, str, str | None]:
    row = _first(read("SELECT body, redeemed_ref, redeemed_at FROM coupons WHERE code = ?", (key,)))
    if row is None:  # redeemed on a terminal before head office heard of it: nothing to send yet
        return "", key, None
    return "", key, _text({**json.loads(row[0]), "redeemed_ref": row[1], "redeemed_at": row[2]})


def _order(read: Read, key: str) -> tuple[str, str, str | None]:
    store, order_no = key.split("/", 1)
    row = _first(read("SELECT body FROM feed_items WHERE feed = 'delivery_orders' AND store = ? AND key = ?",
                      (store, order_no)))  # fmt: skip
    paid = _first(read("SELECT receipt_no FROM delivery_paid WHERE store = ? AND order_no = ?", (store, order_no)))
    body = json.loads(row[0]) if row and row[0] else None
    if body is None or paid is None:
        return store, order_no, row[0] if row else None
    return store, order_no, _text({**body, "paid": True, "receipt_no": paid[0]})


BUILDERS = {"members": _member, "coupons": _coupon, "delivery_orders": _order}


def refresh(storage: SqlStorage) -> int:
    """Version every item ingest marked dirty; how many were republished."""
    done = 0
    # A read first: the server calls this every few seconds, mostly with nothing marked, and
    # an idle head office should not take the write lock for that.
    for feed in sorted(set(storage.dirty_feeds()) & set(BUILDERS)):
        while count := storage.rebuild(feed, BUILDERS[feed]):
            done += count
    return done
