"""Promotion routes for the back office: every promotion with its status, a shop's own new ones, ending one now."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance import config
from appliance.api.openapi import BOOLEAN, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.api.settings import PLAIN
from appliance.core import promotions
from appliance.core.catalog import Catalog
from appliance.core.clock import iso
from appliance.core.money import format_amount
from appliance.errors import DomainError, InputError, NotFound

PARAMS = {"timed_price": ("sku", "price"), "multi_price": ("skus", "n", "price"), "buy_get": ("skus", "buy", "get"),
          "category_percent": ("category", "percent")}  # fmt: skip
SKU = string(32, min_length=1)
PROMOTION = obj({"id": TEXT, "kind": TEXT, "name": TEXT, "params": {"type": "object"}, "starts_at": nullable(TEXT),
                 "ends_at": nullable(TEXT), "members_only": BOOLEAN, "problem": nullable(TEXT),
                 "status": string(16, enum=["running", "scheduled", "ended", "withdrawn", "unusable"])})
DAY = string(10, pattern=r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]$", description="a business day, YYYY-MM-DD")
_COLUMNS = "id, kind, name, params, starts_at, ends_at, members_only, active"


def _listed(row: tuple, now: datetime) -> dict[str, Any]:
    pid, kind, name, _, starts_at, ends_at, members_only, active = row
    listed = {"id": pid, "kind": kind, "name": name, "params": {}, "starts_at": starts_at, "ends_at": ends_at,
              "members_only": bool(members_only), "problem": None}
    try:
        promo = promotions.from_row(row[:7])
    except InputError as exc:  # the till leaves it out too (Till.reload_promotions)
        return {**listed, "status": "unusable", "problem": exc.message}
    if not active:
        status = "withdrawn"
    elif promo.ends_at is not None and promo.ends_at <= now:
        status = "ended"
    elif promo.starts_at is not None and promo.starts_at > now:
        status = "scheduled"
    else:
        status = "running"
    return {**listed, "params": promo.params, "status": status}


async def promotion_list(call: Call) -> tuple[int, Any]:
    daemon = call.daemon

    def read() -> list[dict[str, Any]]:
        now = daemon.clock.now()
        rows = daemon.store.conn.execute(f"SELECT {_COLUMNS} FROM promotions ORDER BY id")
        return [_listed(row, now) for row in rows]

    return 200, await daemon.run_in_worker(read)


def _day_start(text: str, where: str, settings: config.Settings) -> datetime:
    """The moment business day `text` starts: the cutover hour of that date in the shop's zone."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date", where=where) from None
    return datetime.combine(day, time(settings.time.cutover_hour), tzinfo=ZoneInfo(settings.time.zone))


def _check_catalog(daemon: Any, kind: str, params: dict[str, Any]) -> None:
    """A promotion on a product or category this shop does not sell would silently never apply."""
    settings = daemon.settings
    catalog = Catalog(daemon.store.conn, settings.barcode.instore)
    if kind == "category_percent":
        if not daemon.store.scalar("SELECT 1 FROM products WHERE category = ? AND active = 1", (params["category"],)):
            raise InputError(f"no product on sale is in category {params['category']!r}", where="body.params.category")
        return
    for index, sku in enumerate([params["sku"]] if kind == "timed_price" else params["skus"]):
        product = catalog.by_sku(sku)
        where = "body.params.sku" if kind == "timed_price" else f"body.params.skus[{index}]"
        if product is None or not product.active:
            raise InputError(f"no product on sale has SKU {sku!r}", where=where)
        if kind == "timed_price" and params["price"] >= product.price:
            exponent = settings.currency.exponent
            raise InputError(f"the promotion price {format_amount(params['price'], exponent)} is not below "
                             f"{product.name}'s price {format_amount(product.price, exponent)}",
                             where="body.params.price")  # fmt: skip


def _next_id(daemon: Any) -> str:
    """This terminal's promotions are T01-P0001, T01-P0002...: apart from head office's and other tills'."""
    prefix = f"{daemon.settings.device.id}-P"
    taken = {row[0] for row in daemon.store.conn.execute("SELECT id FROM promotions WHERE id LIKE ?", (prefix + "%",))}
    number = len(taken) + 1
    while f"{prefix}{number:04d}" in taken:
        number += 1
    return f"{prefix}{number:04d}"


def _save(daemon: Any, promotion: promotions.Promotion) -> dict[str, Any]:
    """On the worker: one `promotions.saved` event, as head office's feed writes, then the till takes it at once."""
    now = daemon.clock.now()
    promotions.save(daemon.store, [promotion], at=iso(now))
    daemon.till.reload_promotions()
    row = daemon.store.conn.execute(f"SELECT {_COLUMNS} FROM promotions WHERE id = ?", (promotion.id,)).fetchone()
    return _listed(row, now)


async def create_promotion(call: Call) -> tuple[int, Any]:
    """A promotion of this shop's own, checked as head office's are, and against this till's catalog."""
    daemon, body = call.daemon, call.body
    kind, params = body["kind"], body["params"]
    if not body["name"].strip():
        raise InputError("a promotion needs a name the receipt can show", where="body.name")
    for key in params:
        if key not in PARAMS[kind]:
            raise InputError(f"a {kind} promotion takes {', '.join(PARAMS[kind])}, not {key}",
                             where=f"body.params.{key}")
    promotions.check_params(kind, params, where="body.params")
    starts = _day_start(body["first_day"], "body.first_day", daemon.settings) if "first_day" in body else None
    ends = None
    if "last_day" in body:
        ends = _day_start(body["last_day"], "body.last_day", daemon.settings) + timedelta(days=1)
        if starts is not None and ends <= starts:
            raise InputError("the last day comes before the first day", where="body.last_day")
        if ends <= daemon.clock.now():
            raise InputError(f"{body['last_day']} is already over", where="body.last_day")

    def run() -> dict[str, Any]:
        _check_catalog(daemon, kind, params)
        return _save(daemon, promotions.Promotion(_next_id(daemon), kind, body["name"].strip(), params, starts, ends,
                                                  body.get("members_only", False)))

    return 201, await daemon.run_in_worker(run)


async def end_promotion(call: Call) -> tuple[int, Any]:
    """End it now by setting its end: the record stays, and head office sees when it ended."""
    daemon, pid = call.daemon, call.params["id"]

    def run() -> dict[str, Any]:
        now = daemon.clock.now()
        row = daemon.store.conn.execute(f"SELECT {_COLUMNS} FROM promotions WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise NotFound(f"no promotion {pid}")
        if not pid.startswith(f"{daemon.settings.device.id}-P"):  # head office's next feed would bring it back
            raise DomainError(f"promotion {pid} comes from head office: end it there, and every till stops it")
        listed = _listed(row, now)
        if listed["status"] in ("ended", "withdrawn"):
            raise DomainError(f"promotion {pid} has already ended")
        promo = promotions.from_row(row[:7])  # one the till cannot apply is refused here as bad input, naming it
        return _save(daemon, dataclasses.replace(promo, ends_at=now))

    return 200, await daemon.run_in_worker(run)


PROMOTION_BODY = obj(
    {"kind": string(32, enum=list(promotions.KINDS)), "name": string(64, min_length=1, pattern=PLAIN),
     "params": obj(optional={"sku": SKU, "skus": array(SKU, max_items=50), "price": integer(0, 10**12),
                             "n": integer(2, 1000), "buy": integer(1, 1000), "get": integer(1, 1000),
                             "category": string(64, min_length=1),
                             "percent": integer(1, 10000, description="basis points: 1000 is 10%")})},
    {"first_day": DAY, "last_day": DAY, "members_only": BOOLEAN})


ROUTES = [
    Route("GET", "/promotions", "supervisor", promotion_list, "every promotion, running, scheduled and ended",
          array(PROMOTION), tag="settings"),
    Route("POST", "/promotions", "manager", create_promotion, "add a promotion of this shop's own", PROMOTION,
          status=201, body=PROMOTION_BODY, tag="settings"),
    Route("POST", "/promotions/{id}/end", "manager", end_promotion, "end a promotion now", PROMOTION,
          params={"id": string(64, min_length=1)}, body=obj(), tag="settings"),
]
