"""Member segments for campaigns: RFM scores, lapsed members, birthdays, tags and tiers;
products bought together and a recommendation list per member; CSV export.

Everything is one SQL statement over indexed columns (sales by member and time, sales
by business day, lines by sale), so a year of a busy shop answers in well under a
second without loading it into Python. Erased members never appear; an export for a
campaign lists only members who gave marketing consent.
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, TextIO

from appliance.core.clock import iso, local
from appliance.core.spreadsheet import text_cell
from appliance.errors import InputError

NAMES = ("rfm", "lapsed", "birthdays", "tag", "tier")
DEFAULT_DAYS = {"rfm": 365, "lapsed": 90}  # an RFM year; lapsed after a quarter without a purchase


@dataclass(frozen=True)
class Rfm:
    member_id: str
    last_purchase: str
    frequency: int  # sales in the window
    monetary: int  # net spend in the window, minor units
    r: int  # quintiles 1 (worst) .. 5 (best)
    f: int
    m: int

    @property
    def score(self) -> str:
        return f"{self.r}{self.f}{self.m}"


def rfm(conn: sqlite3.Connection, now: datetime, days: int = 365) -> list[Rfm]:
    """Recency, frequency and monetary quintiles of every member who bought in the last `days`."""
    if days <= 0:
        raise InputError("the RFM window must be at least one day")
    rows = conn.execute(
        """
        WITH per_member AS (
            SELECT member_id, max(CASE WHEN kind = 'sale' THEN completed_at END) AS last,
                   sum(kind = 'sale') AS frequency,
                   sum(CASE kind WHEN 'sale' THEN total WHEN 'cancel' THEN 0 ELSE -total END) AS monetary
            FROM sales WHERE member_id IS NOT NULL AND completed_at >= ?
            GROUP BY member_id HAVING frequency > 0
        )
        SELECT p.member_id, p.last, p.frequency, p.monetary,
               ntile(5) OVER (ORDER BY p.last), ntile(5) OVER (ORDER BY p.frequency),
               ntile(5) OVER (ORDER BY p.monetary)
        FROM per_member p JOIN members m ON m.id = p.member_id AND m.erased_at IS NULL
        ORDER BY p.member_id
        """,
        (iso(now - timedelta(days=days)),),
    ).fetchall()
    return [Rfm(*row) for row in rows]


def lapsed(conn: sqlite3.Connection, now: datetime, days: int) -> list[tuple[str, str | None]]:
    """(member id, last purchase or None) of members with no purchase in the last `days`."""
    if days <= 0:
        raise InputError("the number of days must be at least one")
    cutoff = iso(now - timedelta(days=days))
    return conn.execute(
        """
        SELECT id, last FROM (
            SELECT m.id, m.created_at, (SELECT max(s.completed_at) FROM sales s
                                        WHERE s.member_id = m.id AND s.kind = 'sale') AS last
            FROM members m WHERE m.erased_at IS NULL
        ) WHERE coalesce(last, created_at) < ? ORDER BY last, id
        """,
        (cutoff,),
    ).fetchall()


def birthdays(conn: sqlite3.Connection, month: int) -> list[tuple[str, str]]:
    """(member id, birthday) of members born in `month` (1-12)."""
    if not 1 <= month <= 12:
        raise InputError(f"month {month} must be 1-12")
    return conn.execute(
        "SELECT id, birthday FROM members WHERE birthday IS NOT NULL AND substr(birthday, 6, 2) = ? "
        "AND erased_at IS NULL ORDER BY substr(birthday, 9, 2), id",
        (f"{month:02d}",),
    ).fetchall()


def tagged(conn: sqlite3.Connection, tag: str) -> list[tuple[str]]:
    return conn.execute(
        "SELECT id FROM members WHERE erased_at IS NULL AND EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?) "
        "ORDER BY id", (tag.strip().lower(),),
    ).fetchall()


def in_tier(conn: sqlite3.Connection, tier: str) -> list[tuple[str]]:
    return conn.execute("SELECT id FROM members WHERE erased_at IS NULL AND tier = ? ORDER BY id", (tier,)).fetchall()


# --- bought together


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    count: int  # baskets with both
    support: float  # share of all baskets with both
    confidence: float  # of baskets with a, the share that also has b
    lift: float  # how much more often than chance they are bought together


def together(conn: sqlite3.Connection, today: date, days: int, min_count: int = 2) -> list[Pair]:
    """Product pairs bought in the same sale in the last `days` business days, both directions."""
    if days <= 0 or min_count <= 0:
        raise InputError("the number of days and the minimum count must be at least one")
    rows = conn.execute(
        """
        WITH baskets AS MATERIALIZED (
            SELECT DISTINCT l.sale_id, l.sku FROM sales s JOIN sale_lines l ON l.sale_id = s.id
            WHERE s.kind = 'sale' AND s.business_day > ? AND s.business_day <= ?
        ),
        total AS (SELECT count(DISTINCT sale_id) AS n FROM baskets),
        items AS (SELECT sku, count(*) AS n FROM baskets GROUP BY sku),
        pairs AS (
            SELECT x.sku AS a, y.sku AS b, count(*) AS n FROM baskets x JOIN baskets y
            ON y.sale_id = x.sale_id AND y.sku > x.sku GROUP BY x.sku, y.sku HAVING count(*) >= ?
        )
        SELECT p.a, p.b, p.n, ia.n, ib.n, t.n FROM pairs p, total t
        JOIN items ia ON ia.sku = p.a JOIN items ib ON ib.sku = p.b
        """,
        ((today - timedelta(days=days)).isoformat(), today.isoformat(), min_count),
    ).fetchall()
    out = []
    for a, b, n, na, nb, total in rows:
        lift = n * total / (na * nb)
        out += [Pair(a, b, n, n / total, n / na, lift), Pair(b, a, n, n / total, n / nb, lift)]
    out.sort(key=lambda p: (-p.lift, -p.count, p.a, p.b))
    return out


def recommend(
    conn: sqlite3.Connection, member_id: str, pairs: Iterable[Pair], *, often: int = 3, limit: int = 10
) -> list[tuple[str, float]]:
    """(sku, score) the member may like: bought with what they buy, minus what they already buy often.

    A candidate's score adds, over the member's products that lead to it, the rule's
    confidence x lift x how many times the member bought that product.
    """
    bought = dict(conn.execute(
        "SELECT l.sku, count(*) FROM sales s JOIN sale_lines l ON l.sale_id = s.id "
        "WHERE s.member_id = ? AND s.kind = 'sale' GROUP BY l.sku", (member_id,),
    ).fetchall())
    scores: dict[str, float] = {}
    for pair in pairs:
        times = bought.get(pair.a)
        if times and bought.get(pair.b, 0) < often and pair.lift > 1:
            scores[pair.b] = scores.get(pair.b, 0.0) + pair.confidence * pair.lift * times
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]


# --- export


def export_csv(conn: sqlite3.Connection, member_ids: Iterable[str], out: TextIO) -> int:
    """Write id, name, phone, birthday, tier of the members who gave marketing consent; returns how many."""
    writer = csv.writer(out)
    writer.writerow(["member_id", "name", "phone", "birthday", "tier", "consent_at"])
    count = 0
    for chunk in _chunks(list(dict.fromkeys(member_ids)), 500):
        rows = conn.execute(
            f"SELECT id, name, phone, coalesce(birthday, ''), tier, consent_at FROM members "
            f"WHERE id IN ({', '.join('?' * len(chunk))}) AND consent_at IS NOT NULL AND erased_at IS NULL ORDER BY id",
            chunk,
        ).fetchall()
        writer.writerows([[text_cell(v) for v in row] for row in rows])
        count += len(rows)
    return count


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def select(conn: sqlite3.Connection, name: str, now: datetime, zone: str, *, days: int | None = None,
           month: int | None = None, value: str | None = None) -> tuple[dict, list[tuple[str, str | None]]]:
    """(the parameters used, [(member id, what qualified them)]) of a named segment, defaults filled in.

    The CLI and the back office name segments the same way, so a campaign means the same
    members from either. A lapsed member who never bought qualifies with None.
    """
    used: dict = {"days": None, "month": None, "value": None}
    if name in DEFAULT_DAYS:
        used["days"] = days = days or DEFAULT_DAYS[name]
        if name == "rfm":
            return used, [(r.member_id, r.score) for r in rfm(conn, now, days)]
        return used, lapsed(conn, now, days)
    if name == "birthdays":
        used["month"] = month = month or local(now, zone).month
        return used, birthdays(conn, month)
    if name not in NAMES:
        raise InputError(f"there is no segment {name!r}; the segments are: {', '.join(NAMES)}", where="name")
    if not value:
        raise InputError(f"the {name} segment needs a value: the {name} name", where="value")
    used["value"] = value
    found = tagged(conn, value) if name == "tag" else in_tier(conn, value)
    return used, [(m, value) for (m,) in found]
