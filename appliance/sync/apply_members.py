"""Head office's members feed: profiles registered anywhere, and what other shops did to each balance.

Conflict rules (docs/sync.md):
- Profile: head office wins (the last change any terminal sent). A profile whose phone
  belongs to another member here is refused: two people, or one registered twice, is for
  a person to sort out; the local member is left as it is.
- Erasure: a member erased anywhere is erased here too.
- Points and stored value: head office is the authority for what the *other* terminals
  added (it sends each terminal's share); this terminal's own ledger, including what it
  has not sent yet, stays on top. The change since the last figure is posted as one
  ledger row (points kind `elsewhere`), so balances, lots and statements stay in the
  ledger. A figure that would overdraw the member here (spent in two shops while one
  was offline) is posted down to zero and reported.
"""

from __future__ import annotations

import json
from typing import Any

from appliance.config import Settings
from appliance.core import members, points, privacy
from appliance.core.clock import business_day, parse_iso
from appliance.errors import DomainError, InputError
from appliance.store.db import Store
from appliance.store.member_ledger import ELSEWHERE
from appliance.sync.feeds import Item, page_event

PROFILE = ("phone", "name", "birthday", "tags", "consent_at", "card_code")


def _others(shares: Any, device: str) -> int:
    if not isinstance(shares, dict):
        return 0
    return sum(value for name, value in shares.items() if name != device and type(value) is int)


def _profile(conn, member_id: str, body: dict[str, Any], at: str) -> str | None:
    """Insert or update the member's profile; the reason when it cannot be."""
    held = conn.execute("SELECT erased_at FROM members WHERE id = ?", (member_id,)).fetchone()
    if body.get("erased_at"):
        if held is not None and held[0] is None:
            privacy.blank(conn, member_id, str(body["erased_at"]))
        return None
    try:
        phone = members.normalize_phone(str(body.get("phone") or ""))
        name = str(body.get("name") or "").strip()
        birthday = members.check_birthday(body.get("birthday"))
        tags = members.check_tags(body.get("tags") or [])
    except InputError as exc:
        return str(exc)
    if not name:
        return "has no name"
    other = conn.execute("SELECT id FROM members WHERE phone = ? AND id != ?", (phone, member_id)).fetchone()
    if other:
        return f"phone {phone} belongs to member {other[0]} on this terminal: merge them by hand"
    values = (phone, name, birthday, json.dumps(list(tags)), body.get("consent_at"), body.get("card_code") or None)
    if held is None:
        conn.execute("INSERT INTO members (id, phone, name, birthday, tags, consent_at, card_code, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (member_id, *values, at))  # fmt: skip
    elif held[0] is None:
        conn.execute("UPDATE members SET phone = ?, name = ?, birthday = ?, tags = ?, consent_at = ?, card_code = ?"
                     " WHERE id = ?", (*values, member_id))  # fmt: skip
    return None


def _balances(conn, settings: Settings, member_id: str, body: dict[str, Any], at: str) -> str | None:
    """Post what the other terminals changed since the last figure; the reason when it had to be cut."""
    device = settings.device.id
    wanted = (_others(body.get("points_by_device"), device), _others(body.get("stored_value_by_device"), device))
    held = conn.execute("SELECT points, stored_value FROM member_elsewhere WHERE member_id = ?", (member_id,)).fetchone()
    change = (wanted[0] - (held[0] if held else 0), wanted[1] - (held[1] if held else 0))
    note = None
    if change[0]:
        delta = max(change[0], -points.balance(conn, member_id))
        if delta != change[0]:
            note = f"points used in other shops exceed the {-delta} left here: the balance is now 0"
        today = business_day(parse_iso(at), settings.time.zone, settings.time.cutover_hour)
        points.post(conn, member_id, delta, kind=ELSEWHERE, ref="head office", at=at, today=today,
                    rules=settings.loyalty)  # fmt: skip
    if change[1]:
        delta = max(change[1], -members.balance(conn, member_id))
        if delta != change[1]:
            note = f"stored value spent in other shops exceeds the {-delta} left here: the balance is now 0"
        members.post_stored_value(conn, member_id, delta, ref=ELSEWHERE, at=at)
    conn.execute("INSERT INTO member_elsewhere (member_id, points, stored_value) VALUES (?, ?, ?) ON CONFLICT"
                 " (member_id) DO UPDATE SET points = excluded.points, stored_value = excluded.stored_value",
                 (member_id, *wanted))  # fmt: skip
    return note


def apply(store: Store, settings: Settings, items: list[Item], at: str) -> list[str]:
    with page_event(store, "members", items, at) as (conn, refused):
        for item in items:
            if item.body is None:
                continue
            problem = _profile(conn, item.key, item.body, at)
            if problem:
                refused.append(f"member {item.key}: {problem}")
            if conn.execute("SELECT 1 FROM members WHERE id = ?", (item.key,)).fetchone() is None:
                continue  # never seen here and not insertable: its balances wait for its profile
            try:
                note = _balances(conn, settings, item.key, item.body, at)
            except DomainError as exc:
                note = str(exc)
            if note:
                refused.append(f"member {item.key}: {note}")
    return refused
