"""Head office's coupons feed: coupons issued anywhere in the chain, and their redemptions.

A redemption anywhere sticks: a coupon used in another shop is marked used here; one used
here and not yet reported stays used whatever head office still says. A coupon whose
member is unknown here is refused (the members feed, pulled first, brings members).
"""

from __future__ import annotations

from appliance.config import Settings
from appliance.store.db import Store
from appliance.sync.feeds import Item, page_event


def apply(store: Store, settings: Settings, items: list[Item], at: str) -> list[str]:
    with page_event(store, "coupons", items, at) as (conn, refused):
        for item in items:
            body = item.body
            if body is None:
                continue
            member = str(body.get("member_id") or "")
            if conn.execute("SELECT 1 FROM members WHERE id = ? AND erased_at IS NULL", (member,)).fetchone() is None:
                refused.append(f"coupon {item.key}: member {member!r} is not known here")
                continue
            amount, percent, spend = (body.get(k) for k in ("amount", "percent", "min_spend"))
            if not all(type(v) is int and v >= 0 for v in (amount or 0, percent or 0, spend or 0)) or (
                    bool(amount) == bool(percent)) or (percent or 0) > 10000:
                refused.append(f"coupon {item.key}: worth either an amount or a percentage (at most 100%), not both")
                continue
            conn.execute(
                "INSERT INTO coupons (code, member_id, campaign, amount, percent, min_spend, expires_on, issued_at,"
                " redeemed_ref, redeemed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET"
                " member_id = excluded.member_id, amount = excluded.amount, percent = excluded.percent,"
                " min_spend = excluded.min_spend, expires_on = excluded.expires_on,"
                " redeemed_ref = coalesce(coupons.redeemed_ref, excluded.redeemed_ref),"
                " redeemed_at = coalesce(coupons.redeemed_at, excluded.redeemed_at)",
                (item.key, member, str(body.get("campaign") or ""), amount or 0, percent or 0, spend or 0,
                 body.get("expires_on"), str(body.get("issued_at") or at), body.get("redeemed_ref"),
                 body.get("redeemed_at")),
            )  # fmt: skip
    return refused
