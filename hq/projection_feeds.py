"""What head office's downstream feeds are rebuilt from, read from each stored event: members, their balances, coupons, paid orders.

Members are registered and edited on terminals; head office merges the profile fields
each event sets (last arrival wins per field) and adds up, per terminal, the points and
stored value each event states in its `ledger` (appliance/store/member_ledger.py).
Coupons issued on a terminal become chain-wide; a sale that used one marks it redeemed
everywhere. A delivery order paid on a terminal is marked paid for the store's others.
"""

from __future__ import annotations

from typing import Any

from hq.projection import Projection, as_int, as_str

PROFILE_FIELDS = ("phone", "name", "birthday", "tags", "consent_at", "card_code")
COUPON_FIELDS = ("amount", "percent", "min_spend", "expires_on", "campaign")


def add(rows: Projection, kind: str, at: str, payload: dict[str, Any]) -> None:
    """Add what one stored event changes in the members, coupons and delivery orders feeds."""
    ledger = payload.get("ledger")
    if isinstance(ledger, dict):
        for index, name in enumerate(("points", "stored_value")):
            changes = ledger.get(name)
            for member, delta in (changes.items() if isinstance(changes, dict) else ()):
                rows.ledger.setdefault(member, [0, 0])[index] += as_int(delta)
    if kind in ("member.added", "member.edited", "member.card"):
        member = as_str(payload.get("id"))
        if member:
            rows.profiles.append((member, {k: payload[k] for k in PROFILE_FIELDS if k in payload}))
    elif kind == "member.erased":
        member = as_str(payload.get("id"))
        if member:
            # Erasure reaches every shop: the profile is blanked, only the id and the fact remain.
            rows.profiles.append((member, {**{k: None for k in PROFILE_FIELDS}, "erased_at": at}))
    elif kind == "coupons.issued":
        codes = payload.get("coupons")
        common = {k: payload.get(k) for k in COUPON_FIELDS}
        for code, member in (codes.items() if isinstance(codes, dict) else ()):
            rows.coupons.append((code, {"code": code, "member_id": member, "issued_at": at, **common}))
    elif kind in ("sale.completed", "sale.voided"):
        # A post-void gives the coupon back (an empty sale id says so).
        if as_str(payload.get("coupon")):
            rows.redeemed.append((payload["coupon"], as_str(payload.get("id")) if kind == "sale.completed" else "", at))
    elif kind == "delivery.paid" and as_str(payload.get("order_no")):
        rows.orders_paid.append((payload["order_no"], as_str(payload.get("receipt_no"))))
