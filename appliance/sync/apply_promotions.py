"""Head office's promotions feed: head office wins; a promotion it withdraws stops at once.

Each promotion is checked as the till checks its own (kind, parameters, dates); a bad
one is refused with the reason and the rest of the page still applies, as one
`promotions.saved` event.
"""

from __future__ import annotations

from appliance.config import Settings
from appliance.core import promotions
from appliance.core.clock import parse_iso
from appliance.errors import InputError
from appliance.store.db import Store
from appliance.sync.feeds import Item


def _promotion(key: str, body: dict) -> promotions.Promotion:
    try:
        starts, ends = body.get("starts_at"), body.get("ends_at")
        return promotions.Promotion(
            id=key, kind=str(body["kind"]), name=str(body["name"]), params=body["params"],
            starts_at=parse_iso(starts) if starts else None, ends_at=parse_iso(ends) if ends else None,
            members_only=bool(body.get("members_only", False)),
        )  # fmt: skip
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"lacks or mistypes {exc}") from None


def apply(store: Store, settings: Settings, items: list[Item], at: str) -> list[str]:
    good, refused, withdrawn = [], [], [item.key for item in items if item.body is None]
    for item in items:
        if item.body is None:
            continue
        try:
            good.append(_promotion(item.key, item.body))
        except InputError as exc:
            refused.append(f"promotion {item.key}: {exc}")
    if good:
        promotions.save(store, good, at=at)
    if withdrawn:
        with store.event("promotions.withdrawn", ref=",".join(withdrawn)[:200], at=at) as event:
            event.conn.executemany("UPDATE promotions SET active = 0 WHERE id = ?", [(key,) for key in withdrawn])
            event.payload = {"promotions": withdrawn, "by": "head office"}
    return refused
