"""Offline card approvals (store-and-forward) and the risk they leave with the merchant.

When the acquirer cannot be reached, a chip or contactless payment may still be approved
by the card and the terminal, within caps the merchant sets: an amount per payment, a
total and a count of approvals still waiting for the host, and the age of the oldest.
Until the host confirms them, the money is at risk (the issuer may decline later), so
the till shows the outstanding total; swipes and wallets are never approved offline.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from appliance.config import Payments
from appliance.core.clock import parse_iso
from appliance.core.money import format_amount


@dataclass(frozen=True)
class Exposure:
    count: int
    total: int  # minor units
    oldest: datetime | None

    def banner(self, exponent: int) -> str:
        """The operator's warning line, empty when nothing is at risk."""
        if not self.count:
            return ""
        return f"离线支付待上送 Offline payments at risk: {self.count}, {format_amount(self.total, exponent)}"


def exposure(conn: sqlite3.Connection) -> Exposure:
    count, total, oldest = conn.execute(
        "SELECT count(*), coalesce(sum(amount), 0), min(created_at) FROM host_queue "
        "WHERE kind = 'advice' AND done_at IS NULL"
    ).fetchone()
    return Exposure(count, total, parse_iso(oldest) if oldest else None)


def refusal(rules: Payments, current: Exposure, amount: int, interface: str, now: datetime) -> str:
    """Why this payment may not be approved offline; empty when it may."""
    if interface not in ("contact", "contactless"):
        return "only chip and contactless payments can be approved without the bank"
    if amount > rules.offline_limit:
        return "the amount is above the offline limit"
    if current.count + 1 > rules.offline_count:
        return "too many payments are already waiting for the bank"
    if current.total + amount > rules.offline_total:
        return "too much money is already waiting for the bank"
    if current.oldest is not None and now - current.oldest > timedelta(hours=rules.offline_max_age_hours):
        return "offline payments have waited too long for the bank"
    return ""
