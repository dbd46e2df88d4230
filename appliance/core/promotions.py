"""Promotions and the one documented order in which they apply.

Kinds:
- timed_price: a product sells at a lower price between two moments;
- multi_price: N units from a set of products for a fixed price ("3 for 10.00");
- buy_get: buy N, get M free, the cheapest units of each group free ("buy 2 get 1");
- category_percent: a percentage off every line of a category.

Order of application (deterministic, so the till, the receipt and head office agree):
1. timed prices, 2. multi_price and buy_get, 3. category percentages; within a stage by
promotion id. Promotions do not stack: a line takes part in at most one, and lines whose
price was overridden by hand take none. Multi-unit deals count whole pieces only and
group units from the dearest down, so the customer always gets the cheaper units free.
A promotion's window is checked at the moment the sale started. Members-only
promotions apply once a member is attached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from appliance.core.basket import allocate, line_gross
from appliance.core.clock import iso, parse_iso
from appliance.core.money import div_round_half_up
from appliance.errors import InputError
from appliance.store.db import Store

KINDS = ("timed_price", "multi_price", "buy_get", "category_percent")
_STAGE = {"timed_price": 0, "multi_price": 1, "buy_get": 1, "category_percent": 2}


@dataclass(frozen=True)
class Promotion:
    id: str
    kind: str
    name: str
    params: dict[str, Any]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    members_only: bool = False

    def __post_init__(self) -> None:
        check_params(self.kind, self.params, where=f"promotion {self.id}")

    def applies(self, moment: datetime, has_member: bool) -> bool:
        if self.members_only and not has_member:
            return False
        if self.starts_at is not None and moment < self.starts_at:
            return False
        return self.ends_at is None or moment < self.ends_at


@dataclass(frozen=True, slots=True)
class PromoLine:
    sku: str
    category: str
    unit: str
    quantity: int  # thousandths
    unit_price: int
    eligible: bool = True  # False when the price was overridden by hand


@dataclass(frozen=True, slots=True)
class PromoResult:
    discount: int
    promotion: Promotion | None


def _int(params: dict, key: str, low: int, where: str) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{key!r} must be a whole number of at least {low}", where=where)
    return value


def _skus(params: dict, where: str) -> None:
    skus = params.get("skus")
    if not isinstance(skus, list) or not skus or not all(isinstance(s, str) and s for s in skus):
        raise InputError("'skus' must be a non-empty list of SKUs", where=where)


def check_params(kind: str, params: dict, *, where: str) -> None:
    """Refuse a promotion that could not be applied, naming the bad parameter."""
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} must be one of {', '.join(KINDS)}", where=where)
    if kind == "timed_price":
        if not isinstance(params.get("sku"), str):
            raise InputError("'sku' must name one product", where=where)
        _int(params, "price", 0, where)
    elif kind == "multi_price":
        _skus(params, where)
        _int(params, "n", 2, where)
        _int(params, "price", 0, where)
    elif kind == "buy_get":
        _skus(params, where)
        _int(params, "buy", 1, where)
        _int(params, "get", 1, where)
    else:
        if not isinstance(params.get("category"), str):
            raise InputError("'category' must name a category", where=where)
        percent = _int(params, "percent", 1, where)
        if percent > 10000:
            raise InputError("'percent' is in basis points and must be at most 10000 (100%)", where=where)


def from_row(row: Sequence) -> Promotion:
    """A stored promotion; InputError (naming it) when its row cannot be applied."""
    pid, kind, name, params, starts_at, ends_at, members_only = row
    where = f"promotion {pid}"
    try:
        values = json.loads(params)
        starts, ends = (parse_iso(starts_at) if starts_at else None), (parse_iso(ends_at) if ends_at else None)
    except ValueError as exc:
        raise InputError(f"unreadable parameters or dates ({exc})", where=where) from None
    if not isinstance(values, dict):
        raise InputError("parameters must be a JSON object", where=where)
    return Promotion(id=pid, kind=kind, name=name, params=values, starts_at=starts, ends_at=ends,
                     members_only=bool(members_only))


def save(store: Store, promotions: Sequence[Promotion], *, at: str) -> None:
    """Add or replace promotions, as one event (head office sends them the same way)."""
    with store.event("promotions.saved", ref=",".join(p.id for p in promotions)[:200], at=at) as event:
        for p in promotions:
            event.conn.execute(
                "INSERT INTO promotions (id, kind, name, params, starts_at, ends_at, members_only) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
                "name = excluded.name, params = excluded.params, starts_at = excluded.starts_at, "
                "ends_at = excluded.ends_at, members_only = excluded.members_only, active = 1",
                (
                    p.id, p.kind, p.name, json.dumps(p.params, sort_keys=True),
                    iso(p.starts_at) if p.starts_at else None, iso(p.ends_at) if p.ends_at else None,
                    int(p.members_only),
                ),
            )
        event.payload = {
            "promotions": [
                {
                    "id": p.id, "kind": p.kind, "name": p.name, "params": p.params, "members_only": p.members_only,
                    "starts_at": iso(p.starts_at) if p.starts_at else None,
                    "ends_at": iso(p.ends_at) if p.ends_at else None,
                }
                for p in promotions
            ]
        }


def apply(
    lines: Sequence[PromoLine], promotions: Sequence[Promotion], *, moment: datetime, has_member: bool
) -> list[PromoResult]:
    """The promotion discount of each line (0 and None where no promotion applies)."""
    discounts = [0] * len(lines)
    winner: list[Promotion | None] = [None] * len(lines)
    live = sorted((p for p in promotions if p.applies(moment, has_member)), key=lambda p: (_STAGE[p.kind], p.id))
    for promo in live:
        free = [i for i, line in enumerate(lines) if line.eligible and winner[i] is None]
        if promo.kind == "timed_price":
            gained = _timed(lines, free, promo)
        elif promo.kind == "category_percent":
            gained = _category(lines, free, promo)
        else:
            gained = _multi_unit(lines, free, promo)
        for index, amount in gained.items():  # every line that took part, even at no saving of its own
            discounts[index] = amount
            winner[index] = promo
    return [PromoResult(d, w) for d, w in zip(discounts, winner)]


def _timed(lines: Sequence[PromoLine], free: list[int], promo: Promotion) -> dict[int, int]:
    price = promo.params["price"]
    return {
        i: line_gross(lines[i].unit_price, lines[i].quantity) - line_gross(price, lines[i].quantity)
        for i in free
        if lines[i].sku == promo.params["sku"] and price < lines[i].unit_price
    }


def _category(lines: Sequence[PromoLine], free: list[int], promo: Promotion) -> dict[int, int]:
    percent = promo.params["percent"]
    gained = {
        i: div_round_half_up(line_gross(lines[i].unit_price, lines[i].quantity) * percent, 10000)
        for i in free
        if lines[i].category == promo.params["category"]
    }
    return {i: amount for i, amount in gained.items() if amount > 0}


def _multi_unit(lines: Sequence[PromoLine], free: list[int], promo: Promotion) -> dict[int, int]:
    skus = set(promo.params["skus"])
    units = []  # (price, line index) for every whole piece that may take part
    for i in free:
        line = lines[i]
        if line.sku in skus and line.unit == "piece" and line.quantity % 1000 == 0:
            units.extend([(line.unit_price, i)] * (line.quantity // 1000))
    units.sort(key=lambda unit: (-unit[0], unit[1]))
    if promo.kind == "multi_price":
        size = promo.params["n"]
    else:
        size = promo.params["buy"] + promo.params["get"]
    gained: dict[int, int] = {}
    for start in range(0, len(units) - size + 1, size):
        group = units[start : start + size]
        if promo.kind == "multi_price":
            saving = sum(price for price, _ in group) - promo.params["price"]
            shares = allocate(saving, [price for price, _ in group]) if saving > 0 else [0] * size
        else:
            shares = [0] * promo.params["buy"] + [price for price, _ in group[promo.params["buy"] :]]
        if not any(shares):
            continue  # a group that saves nothing does not use up its lines' one promotion
        # The units bought to qualify take part too (share 0): they cannot take another promotion.
        for (_, index), share in zip(group, shares):
            gained[index] = gained.get(index, 0) + share
    return gained
