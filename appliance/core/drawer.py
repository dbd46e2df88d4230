"""When the cash drawer may open: the rule a till enforces before it kicks the drawer.

The drawer opens for a sale paid (at least partly) in cash, or only when change is due
(`[cash] drawer_opens` = "cash" or "change"), for paid-in / paid-out, and otherwise only
as a "no sale": a supervisor's approval and a reason, journaled like any business event,
so every opening of the drawer is accounted for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.core.clock import iso
from appliance.core.ids import uuid7
from appliance.core.operators import Operator, authorize
from appliance.errors import InputError
from appliance.store.db import Store


def opens_for_sale(doc: dict[str, Any], rule: str) -> bool:
    """Should completing this document open the drawer?"""
    cash = any(p["kind"] == "cash" and p["amount"] > 0 for p in doc["payments"])
    if doc["kind"] in ("return", "void"):
        return cash  # cash goes back to the customer
    return doc.get("change", 0) > 0 if rule == "change" else cash or doc.get("change", 0) > 0


def no_sale(store: Store, operator: Operator, approver: Operator | None, reason: str, *, device: str, at: datetime) -> str:
    """Record a drawer opening without a sale; returns the event's id. The caller then kicks the drawer."""
    who = authorize("drawer.no_sale", operator, approver, why="opening the drawer without a sale")
    if not reason.strip():
        raise InputError("give a reason for opening the drawer")
    event_id = uuid7(at)
    with store.event("drawer.no_sale", ref=event_id, at=iso(at)) as event:
        event.payload = {"id": event_id, "device": device, "operator": operator.code,
                         "approved_by": who, "reason": reason.strip()}
    return event_id
