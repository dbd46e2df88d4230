"""Who is calling: a bearer token (scripts, other systems) or a signed-in browser (the back office).

The sign-in routes (`POST /session`, `GET /session`, `DELETE /session`) live here
rather than in the route table: they are the only calls made without a caller. Signing
in goes through the same PIN check, attempt counter and lockout as the keypad
(appliance/core/operators.py), so a browser cannot guess PINs faster than the till.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from typing import Any

from aiohttp import web

from appliance.api import auth
from appliance.api.sessions import (COOKIE, CSRF_HEADER, IDLE, LEAST_ROLE, LIFETIME, Session, Sessions, SignInLimit,
                                    csrf_ok, may_sign_in)
from appliance.core.operators import Operator
from appliance.errors import AuthenticationFailed, NotFound, PermissionDenied

WRONG = "unknown operator code or wrong PIN"  # the same words whatever was wrong: they tell a guesser nothing

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_CODE, _PIN = re.compile(r"[0-9]{1,8}"), re.compile(r"[0-9]{4,12}")


class NotSignedIn(web.HTTPUnauthorized):
    pass


def known_host(request: web.Request, names: set[str]) -> bool:
    """Whether the browser reached us by one of our names or addresses.

    A page on another site can make its own name resolve to the till (DNS rebinding)
    and then talk to it as "same origin"; the Host header still carries that name.
    """
    host = request.host
    host = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.lower() in names


def host_names(settings: Any) -> set[str]:
    own = socket.gethostname().lower()
    return {"localhost", own, f"{own}.local", *(name.lower() for name in settings.api.hostnames)}


def _browser_host(request: web.Request, names: set[str]) -> None:
    if not known_host(request, names):
        raise PermissionDenied(f"the back office is not served under the name {request.host!r}: open it by the till's "
                               "address, or add the name to [api] hostnames")  # fmt: skip


def _same_origin(request: web.Request) -> bool:
    """A browser names the page that sent an unsafe request; it must be one of ours (OWASP: verify origin)."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


async def _active(daemon: Any, code: str) -> Operator | None:
    def read() -> Operator | None:
        try:
            return daemon.till.operators.get(code)
        except NotFound:
            return None

    return await daemon.run_in_worker(read)


async def caller(request: web.Request, daemon: Any, sessions: Sessions, names: set[str]) -> Operator | None:
    """The operator behind this request, or None when neither a live token nor a live session is sent.

    A token wins when both are present. A browser's unsafe request without its CSRF
    token, or from another site, is refused outright (PermissionDenied).
    """
    header = request.headers.get("Authorization")
    if header is not None or COOKIE not in request.cookies:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise web.HTTPUnauthorized(reason="sign in to the back office, or send Authorization: Bearer <token> "
                                              "(appliance api token add)")  # fmt: skip
        return await daemon.run_in_worker(lambda: auth.operator_for(daemon.store.conn, token.strip()))
    _browser_host(request, names)
    session = sessions.get(request.cookies[COOKIE])
    if session is None:
        return None
    if request.method in UNSAFE and not (_same_origin(request) and csrf_ok(session, request.headers.get(CSRF_HEADER))):
        raise PermissionDenied(f"this change came without the page's {CSRF_HEADER} or from another site: reload the "
                               "back office and try again")  # fmt: skip
    return await _session_operator(daemon, sessions, session)


async def _session_operator(daemon: Any, sessions: Sessions, session: Session) -> Operator | None:
    """The session's operator as the store has them now; a session whose operator left or is no longer a
    manager ends here."""
    operator = await _active(daemon, session.operator_code)
    if operator is None or not may_sign_in(operator):
        sessions.close(session.id)
        return None
    return operator


def _signed_in(session: Session, operator: Operator) -> dict[str, Any]:
    return {"operator": {"code": operator.code, "name": operator.name, "role": operator.role}, "csrf": session.csrf,
            "idle_s": IDLE, "lifetime_s": LIFETIME}  # fmt: skip


def _answer(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False),
                             headers={"Cache-Control": "no-store"})  # the CSRF token stays off any cache


def routes(daemon: Any, sessions: Sessions, names: set[str]) -> list[web.RouteDef]:
    limit = SignInLimit()

    async def sign_in(request: web.Request) -> web.Response:
        _browser_host(request, names)
        if not _same_origin(request):
            raise PermissionDenied("sign-in from another site is refused")
        client = request.remote or "?"
        wait = limit.wait(client)
        if wait:
            return _answer({"error": "too_many", "message": f"too many wrong sign-ins: try again in "
                            f"{-(-wait // 60)} minute(s)"}, 429)  # fmt: skip
        try:
            body = json.loads(await request.read())
            code, pin = body["code"], body["pin"]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            return _answer({"error": "bad_request", "message": 'send {"code": "...", "pin": "..."}'}, 400)
        operator = None
        if isinstance(code, str) and isinstance(pin, str) and _CODE.fullmatch(code) and _PIN.fullmatch(pin):
            operator = await daemon.run_in_worker(lambda: daemon.till.operators.check(code, pin,
                                                                                     at=daemon.clock.now()))
        if operator is None:
            limit.failed(client)
            raise AuthenticationFailed(WRONG)
        if not may_sign_in(operator):
            raise PermissionDenied(f"the back office is for a {LEAST_ROLE}; {operator.name} is a "
                                   f"{operator.role}")  # fmt: skip
        session = sessions.open(operator)
        response = _answer(_signed_in(session, operator))
        response.set_cookie(COOKIE, session.id, max_age=LIFETIME, httponly=True, samesite="Strict", path="/")
        return response

    async def current(request: web.Request) -> web.Response:
        _browser_host(request, names)
        session = sessions.get(request.cookies.get(COOKIE, ""))
        operator = None if session is None else await _session_operator(daemon, sessions, session)
        if session is None or operator is None:
            return _answer({"error": "unauthorized", "message": "not signed in, or the session has ended"}, 401)
        return _answer(_signed_in(session, operator))

    async def sign_out(request: web.Request) -> web.Response:
        session = sessions.get(request.cookies.get(COOKIE, ""))
        if session is not None:
            if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
                raise PermissionDenied(f"sign-out needs the page's {CSRF_HEADER}")
            sessions.close(session.id)
        response = _answer({"signed_out": True})
        response.del_cookie(COOKIE, path="/")
        return response

    return [web.post("/session", sign_in), web.get("/session", current), web.delete("/session", sign_out)]
