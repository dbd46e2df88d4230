"""Loyalty: points earned and redeemed, tiers, coupons (being built for issue 6)."""

from __future__ import annotations

from appliance.config import Settings
from appliance.core.posting import AfterPosting


def after_posting(settings: Settings) -> AfterPosting:
    """What a posted sale, return or void does to the member's points."""

    def after(conn, doc, at) -> None:
        return None

    return after
