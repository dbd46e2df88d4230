"""The head office's HTTP side (aiohttp): enrolment, ingest and a device's status, per the issue 8 contract.

Storage calls are blocking (sqlite3, psycopg), so each runs in a worker thread: one slow
batch does not stall other terminals' requests. Reports are for head office staff, not
terminals: they need the bearer token the server was started with.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from appliance.errors import ApplianceError, NotFound

from hq import ingest, reports
from hq.errors import Malformed, Unauthorized, http_status
from hq.storage import SqlStorage

STORAGE = web.AppKey("storage", SqlStorage)
REPORT_TOKEN = web.AppKey("report_token", str)
DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")  # goes into headers, logs and file names
MAX_BODY = 4 * 1024 * 1024  # gzipped batch; the unzipped limit is in hq/ingest.py


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


def _limit(request: web.Request) -> int:
    text = request.query.get("limit", "20")
    if not text.isdigit():
        raise Malformed(f"limit must be a whole number, not {text!r}", where="limit")
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
                                         limit=_limit(request))  # fmt: skip
    elif name == "stock":
        result = await asyncio.to_thread(reports.stock_by_store, storage, store=store)
    else:
        raise NotFound(f"no report {name!r}: sales, top-products or stock", where="name")
    return web.json_response(result.as_json())


def make_app(storage: SqlStorage, *, report_token: str = "") -> web.Application:
    """The application; serve it with `runner` so request bodies reach ingest still gzipped."""
    app = web.Application(middlewares=[_typed_errors], client_max_size=MAX_BODY)
    app[STORAGE] = storage
    app[REPORT_TOKEN] = report_token
    app.router.add_post("/v1/enroll", enroll)
    app.router.add_post("/v1/ingest", receive)
    app.router.add_get("/v1/devices/{id}/status", status)
    app.router.add_get("/v1/reports/{name}", report)
    return app


def runner(app: web.Application) -> web.AppRunner:
    """An AppRunner that leaves Content-Encoding: gzip bodies as sent (aiohttp unzips by default),
    because X-Signature is the HMAC of the raw body."""
    return web.AppRunner(app, auto_decompress=False)


async def start(storage: SqlStorage, host: str, port: int, *, report_token: str = "") -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to clean up) and the bound port (port 0 picks a free one)."""
    app_runner = runner(make_app(storage, report_token=report_token))
    await app_runner.setup()
    site = web.TCPSite(app_runner, host, port)
    await site.start()
    return app_runner, app_runner.addresses[0][1]
