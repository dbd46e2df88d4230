"""Tiers: what a member reached over the last 12 months, and the prices that tier gets.

Tier benefits go through promotions, the one pricing path: a promotion whose params
name a `tier` (members_only) applies to members of that tier or a higher one (member
prices), and a tier's extra discount is a category percentage on every line not already
on another promotion (promotions never stack), listed after the shop's own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from appliance.config import Settings
from appliance.core.clock import iso
from appliance.core.money import format_percent
from appliance.core.promotions import Promotion

WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Tier:
    name: str  # "" below the first threshold
    rank: int  # 0 for none, 1 for the first configured tier...
    discount: int  # basis points
    basis: int  # the spend (minor units) or points that decided it


def qualifying(conn: sqlite3.Connection, settings: Settings, member_id: str, now: datetime) -> int:
    """Net spend (sales less refunds) or net points earned by the member in the last 365 days."""
    since = iso(now - WINDOW)
    if settings.loyalty.tier_basis == "points":
        sql = ("SELECT coalesce(sum(delta), 0) FROM points WHERE member_id = ? AND at >= ? "
               "AND kind IN ('earn', 'take_back')")
    else:
        sql = ("SELECT coalesce(sum(CASE kind WHEN 'sale' THEN total WHEN 'cancel' THEN 0 ELSE -total END), 0) "
               "FROM sales WHERE member_id = ? AND completed_at >= ?")
    return conn.execute(sql, (member_id, since)).fetchone()[0]


def tier_for(settings: Settings, basis: int) -> Tier:
    reached = Tier("", 0, 0, basis)
    for rank, (name, threshold, discount) in enumerate(settings.loyalty.tiers, start=1):
        if basis >= threshold:
            reached = Tier(name, rank, discount, basis)
    return reached


def current(conn: sqlite3.Connection, settings: Settings, member_id: str, now: datetime) -> Tier:
    return tier_for(settings, qualifying(conn, settings, member_id, now))


def rank_of(settings: Settings, name: str) -> int | None:
    for rank, (tier, _, _) in enumerate(settings.loyalty.tiers, start=1):
        if tier == name:
            return rank
    return None


def promotions_for(
    settings: Settings, promotions: Sequence[Promotion], tier: Tier | None, categories: Iterable[str]
) -> list[Promotion]:
    """The shop's promotions as the member's tier sees them, plus the tier's own discount."""
    chosen = []
    for promo in promotions:
        needed = promo.params.get("tier")
        if needed is None:
            chosen.append(promo)
        elif tier is not None and (rank_of(settings, needed) or len(settings.loyalty.tiers) + 1) <= tier.rank:
            chosen.append(promo)  # a tier no longer configured is nobody's: its prices stay off
    if tier is not None and tier.discount:
        label = f"{tier.name} {format_percent(tier.discount)}"
        chosen += [
            Promotion(id=f"~tier-{tier.name}-{category}", kind="category_percent", name=label,
                      params={"category": category, "percent": tier.discount}, members_only=True)
            for category in sorted(set(categories))
        ]
    return chosen


class TierPricing:
    """The till's view: the member's tier is worked out once per sale, not on every scan."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings):
        self.conn, self.settings = conn, settings
        self._seen: tuple[str, str, Tier] | None = None  # (sale id, member id, tier)

    def tier(self, sale_id: str, member_id: str, now: datetime) -> Tier:
        if self._seen is None or self._seen[:2] != (sale_id, member_id):
            self._seen = (sale_id, member_id, current(self.conn, self.settings, member_id, now))
        return self._seen[2]

    def promotions(
        self, promotions: Sequence[Promotion], sale_id: str, member_id: str | None, categories: Iterable[str],
        now: datetime,
    ) -> Sequence[Promotion]:
        tier = None if member_id is None else self.tier(sale_id, member_id, now)
        return promotions_for(self.settings, promotions, tier, categories)
