"""The head office's HTTP side (aiohttp): enrolment, ingest and a device's status, per the issue 8 contract.

Storage calls are blocking (sqlite3, psycopg), so each runs in a worker thread: one slow
batch does not stall other terminals' requests. Reports are for head office staff, not
terminals: they need the bearer token the server was started with.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from appliance.errors import ApplianceError, NotFound

from appliance.sync.receipt_link import key_matches

from hq import feeds, ingest, receipt_page, reports
from hq.errors import Malformed, Unauthorized, http_status
from hq.storage import SqlStorage

STORAGE = web.AppKey("storage", SqlStorage)
REPORT_TOKEN = web.AppKey("report_token", str)
PAGE_OPTIONS = web.AppKey("page_options", dict)  # zone and exponent of the receipt pages
REFRESH_S = 2.0  # how stale a member's balance or a coupon's redemption may be in the feeds
DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")  # goes into headers, logs and file names
MAX_BODY = 4 * 1024 * 1024
log = logging.getLogger(__name__)  # gzipped batch; the unzipped limit is in hq/ingest.py


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def _typed_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every typed error becomes the contract's {"error", "message"} body with its status."""
    try:
        return await handler(request)
    except NotFound as exc:
        return _error(404, exc.code, str(exc))
    except ApplianceError as exc:
        return _error(http_status(exc), exc.code, str(exc))
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "too_large", f"the body is larger than {MAX_BODY} bytes: send smaller batches")


def _string(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"body.{name} must be a non-empty string", where=f"body.{name}")
    return value


async def enroll(request: web.Request) -> web.Response:
    """POST /v1/enroll {"code", "device"} -> {"device", "secret"}; the code works once."""
    doc = ingest.load_object(await request.read())
    code, device = _string(doc, "code"), _string(doc, "device")
    if not DEVICE_ID.match(device):
        raise Malformed("body.device must be 1-64 letters, digits, '.', '_' or '-'", where="body.device")
    secret = await asyncio.to_thread(request.app[STORAGE].enroll, code, device)
    return web.json_response({"device": device, "secret": secret})


async def receive(request: web.Request) -> web.Response:
    """POST /v1/ingest: a signed, gzipped batch of journal events."""
    body = await request.read()  # raw: the runner does not auto-decompress, the signature covers the gzip
    outcome = await asyncio.to_thread(
        ingest.ingest,
        request.app[STORAGE],
        request.headers.get("X-Device"),
        request.headers.get("X-Signature"),
        request.headers.get("Content-Encoding"),
        body,
    )
    return web.json_response(outcome.as_json())


async def status(request: web.Request) -> web.Response:
    """GET /v1/devices/{id}/status -> {"device", "last_seq", "problems"}."""
    device = request.match_info["id"]
    last_seq, problems = await asyncio.to_thread(request.app[STORAGE].status, device)
    return web.json_response({
        "device": device,
        "last_seq": last_seq,
        "problems": [{"seq": p.seq, "problem": p.problem} for p in problems],
    })  # fmt: skip


def _staff(request: web.Request) -> None:
    """Let a report request through only with the server's bearer token."""
    token = request.app[REPORT_TOKEN]
    if not token:
        raise Unauthorized("reports are off: start hq with --report-token-file", where="Authorization")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("reports need the head office's report token (Authorization: Bearer ...)",
                           where="Authorization")  # fmt: skip


def _number(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name, str(default))
    if not text.isdigit():
        raise Malformed(f"{name} must be a whole number, not {text!r}", where=name)
    return int(text)


def _days(request: web.Request) -> tuple[str, str]:
    for name in ("from", "to"):
        if name not in request.query:
            raise Malformed(f"the {name} parameter (a day as YYYY-MM-DD) is missing", where=name)
    return request.query["from"], request.query["to"]


async def report(request: web.Request) -> web.Response:
    """GET /v1/reports/{sales|top-products|stock}: cross-store figures for head office staff."""
    _staff(request)
    storage, name, store = request.app[STORAGE], request.match_info["name"], request.query.get("store", "")
    if name == "sales":
        result = await asyncio.to_thread(reports.sales_by_store_day, storage, *_days(request))
    elif name == "top-products":
        result = await asyncio.to_thread(reports.top_products, storage, *_days(request), store=store,
                                         limit=_number(request, "limit", 20))  # fmt: skip
    elif name == "stock":
        result = await asyncio.to_thread(reports.stock_by_store, storage, store=store)
    else:
        raise NotFound(f"no report {name!r}: sales, top-products or stock", where="name")
    return web.json_response(result.as_json())


async def feed(request: web.Request) -> web.Response:
    """GET /v1/feeds/{feed}?since=V&limit=N, signed by the device over "GET <path and query>"."""
    storage = request.app[STORAGE]
    signed = f"GET {request.rel_url}".encode()
    device = await asyncio.to_thread(ingest.authenticate, storage, request.headers.get("X-Device"),
                                     request.headers.get("X-Signature"), signed)  # fmt: skip
    store = await asyncio.to_thread(storage.store_of, device)
    page = await asyncio.to_thread(feeds.page, storage, request.match_info["feed"], store,
                                   _number(request, "since", 0), _number(request, "limit", 500))  # fmt: skip
    return web.json_response(page)


async def receipt(request: web.Request) -> web.Response:
    """GET /r/{device}/{receipt_no}/{key}: the customer's page of a receipt, from its QR code.

    A wrong key gets the same "not here yet" page as a receipt not yet sent, so the
    answer never tells a stranger which receipt numbers exist.
    """
    device, number, key = (request.match_info[name] for name in ("device", "receipt_no", "key"))
    held = await asyncio.to_thread(request.app[STORAGE].receipt, device, number)
    if held is None or not key_matches(key, bytes.fromhex(held[0])):
        return web.Response(text=receipt_page.not_yet(number), status=404, content_type="text/html")
    page = receipt_page.render(json.loads(held[1]), **request.app[PAGE_OPTIONS])
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "private, max-age=3600"})


async def _refresh_feeds(app: web.Application) -> Any:
    """Version the feed items ingest marked (members, coupons, paid orders) every few seconds."""

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(feeds.refresh, app[STORAGE])
            except Exception:  # a database hiccup must not end the loop: the marks stay for the next pass
                log.exception("refreshing the feeds failed; trying again")
            await asyncio.sleep(REFRESH_S)

    task = asyncio.create_task(loop())
    yield
    task.cancel()


def make_app(storage: SqlStorage, *, report_token: str = "", zone: str = "Asia/Shanghai",
             exponent: int = 2) -> web.Application:  # fmt: skip
    """The application; serve it with `runner` so request bodies reach ingest still gzipped."""
    app = web.Application(middlewares=[_typed_errors], client_max_size=MAX_BODY)
    app[STORAGE] = storage
    app[REPORT_TOKEN] = report_token
    app[PAGE_OPTIONS] = {"zone": zone, "exponent": exponent}
    app.router.add_post("/v1/enroll", enroll)
    app.router.add_post("/v1/ingest", receive)
    app.router.add_get("/v1/devices/{id}/status", status)
    app.router.add_get("/v1/reports/{name}", report)
    app.router.add_get("/v1/feeds/{feed}", feed)
    app.router.add_get("/r/{device}/{receipt_no}/{key}", receipt)
    app.cleanup_ctx.append(_refresh_feeds)
    return app


def runner(app: web.Application) -> web.AppRunner:
    """An AppRunner that leaves Content-Encoding: gzip bodies as sent (aiohttp unzips by default),
    because X-Signature is the HMAC of the raw body."""
    return web.AppRunner(app, auto_decompress=False)


async def start(storage: SqlStorage, host: str, port: int, **options: Any) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to clean up) and the bound port (port 0 picks a free one).

    `options` go to `make_app` (report_token, zone, exponent).
    """
    app_runner = runner(make_app(storage, **options))
    await app_runner.setup()
    site = web.TCPSite(app_runner, host, port)
    await site.start()
    return app_runner, app_runner.addresses[0][1]
