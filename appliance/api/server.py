"""The aiohttp application: routes from every area, token auth and roles, JSON errors; served inside the daemon's loop.

aiohttp runs on the daemon's own asyncio loop (no second thread or process on a 1 GB
board). Handlers never touch the store from the loop: they hand their work to the
daemon's one worker (`daemon.perform` for till actions, `daemon.run_in_worker` for the
rest), so the API and the keypad write in one order through one connection.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress
import json
import logging
from typing import Any

from aiohttp import web

from appliance import __version__
from backoffice import site
from appliance.api import (browser, catalog, dashboard, devices, members, operators, promotions, reports, sales, settings,
                           shifts, stock)
from appliance.api.openapi import JSON, Call, JsonText, RequestInvalid, Route, document, query_value, validate
from appliance.api.sessions import Sessions
from appliance.core.operators import RANK
from appliance.errors import (ApplianceError, AuthenticationFailed, ConfigError, DomainError, InputError, NotFound,
                              PermissionDenied)

log = logging.getLogger(__name__)

ROUTES: list[Route] = [*catalog.ROUTES, *sales.ROUTES, *stock.ROUTES, *members.ROUTES, *reports.ROUTES,
                       *dashboard.ROUTES, *shifts.ROUTES, *devices.ROUTES, *settings.ROUTES, *operators.ROUTES,
                       *promotions.ROUTES]
# Sales figures and member data stay off the disk of a shared tablet; a CSV or SVG is never sniffed as a page.
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
COMPRESS_FROM = 16 * 1024  # answers longer than this go gzipped (the stock list of 5,000 products: 707 KB -> 85 KB)
MAX_BODY = 1024 * 1024  # a catalog CSV of a few thousand products; anything bigger is not for this box


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def plain(value: Any) -> Any:
    """Documents and reports as JSON values: dataclasses as objects, dates as ISO 8601 text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in _fields(type(value))}
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status)


def _status_of(exc: ApplianceError) -> int:
    # Order matters: the more specific types first (NotFound and PermissionDenied are DomainErrors).
    for kind, status in ((RequestInvalid, 400), (InputError, 422), (NotFound, 404), (PermissionDenied, 403),
                         (AuthenticationFailed, 403), (DomainError, 409)):
        if isinstance(exc, kind):
            return status
    return 500


@web.middleware
async def _json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure as JSON {"error", "message"}: aiohttp's own 404/405/413 too, so clients parse one shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, "http", exc.reason)
    except ApplianceError as exc:
        status = _status_of(exc)
        if status == 500:
            log.error("API %s %s: %s", request.method, request.path, exc)
        return error(status, exc.code, str(exc))


def _endpoint(route: Route, daemon: Any, sessions: Sessions, names: set[str]):
    async def endpoint(request: web.Request) -> web.Response:
        operator = await browser.caller(request, daemon, sessions, names)
        if operator is None:
            return error(401, "unauthorized", "the token is unknown or revoked, or the session has ended: sign in again")
        if RANK[operator.role] < RANK[route.role]:
            return error(403, "forbidden", f"{route.method} {route.path} needs a {route.role}; "
                                           f"{operator.name} is a {operator.role}")
        params = {name: query_value(schema, request.match_info[name], name) for name, schema in route.params.items()}
        query = {}
        for name, text in request.query.items():
            if name not in route.query:
                raise RequestInvalid(f"unknown query parameter {name!r}", where=name)
            query[name] = query_value(route.query[name], text, name)
        body: dict[str, Any] = {}
        if route.body is not None:
            try:
                body = json.loads(await request.read() or b"null")
            except (ValueError, UnicodeDecodeError) as exc:
                raise RequestInvalid(f"the body is not JSON ({exc})", where="body") from None
            validate(route.body, body, "body")
        status, payload = await route.handler(Call(daemon, operator, params, query, body))
        if isinstance(payload, JsonText) or route.content != JSON:
            text, content = payload, JSON if isinstance(payload, JsonText) else route.content
        else:
            text, content = json.dumps(plain(payload), ensure_ascii=False), JSON
        response = web.Response(text=text, status=status, content_type=content, charset="utf-8", headers=NO_STORE)
        if len(text) > COMPRESS_FROM:
            response.enable_compression()  # gzip when the client says it takes it: a phone on shop Wi-Fi
        return response

    endpoint.__name__ = route.operation_id
    return endpoint


def make_app(daemon: Any) -> web.Application:
    app = web.Application(middlewares=[_json_errors], client_max_size=MAX_BODY)
    sessions, names = Sessions(), browser.host_names(daemon.settings)
    app.add_routes(browser.routes(daemon, sessions, names))
    app.add_routes(site.routes())
    spec = document(ROUTES, version=__version__)

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get("/openapi.json", openapi)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _endpoint(route, daemon, sessions, names))
    return app


def _address(settings: Any) -> str:
    api = settings.api
    if not api.lan and not ipaddress.ip_address(api.bind).is_loopback:
        raise ConfigError(f"bind = {api.bind!r} is on the network but lan = false; set lan = true to allow it",
                          where=f"{settings.source}: [api] bind")
    return api.bind


async def start(daemon: Any, *, port: int | None = None) -> web.AppRunner:
    """Serve the API on [api] bind and port (`port` overrides, 0 for any free one); stop with `await runner.cleanup()`."""
    host = _address(daemon.settings)
    runner = web.AppRunner(make_app(daemon), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, daemon.settings.api.port if port is None else port)
    await site.start()
    log.info("local API on %s", ", ".join(str(a) for a in runner.addresses))
    return runner
