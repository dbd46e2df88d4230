"""Browser sessions for the back office: sign in with an operator's code and PIN, a cookie, a CSRF token.

A browser cannot keep a bearer token safely (any script on the page could read it), so
the back office signs in once and gets an HttpOnly, SameSite=Strict cookie naming a
random session id (OWASP Session Management Cheat Sheet). State-changing calls must also
carry the session's CSRF token in `X-CSRF-Token` (the synchronizer token pattern): a
page on another site can make the browser send the cookie but cannot read the token.

Sessions live in the daemon's memory only: a restart signs everybody out, and nothing
about them is written to the store or the SD card. They end after `IDLE` without a
request, `LIFETIME` after sign-in whatever happens, or at sign-out; the operator's role
is read again on every call, so a deactivated operator is out at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from appliance.core.operators import RANK, Operator

COOKIE = "pos_session"
CSRF_HEADER = "X-CSRF-Token"
IDLE = 30 * 60  # seconds without a request before a session ends (a phone left on the counter)
LIFETIME = 12 * 3600  # a session never outlives a working day
MAX_SESSIONS = 64  # a shop has a handful of managers; past this the oldest session goes
LEAST_ROLE = "manager"  # the back office is for whoever runs the shop: its prices, stock, staff and figures


@dataclass
class Session:
    id: str
    operator_code: str
    csrf: str
    started: float
    seen: float


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def open(self, operator: Operator) -> Session:
        """A new session for `operator` (refused below LEAST_ROLE by the caller's check first)."""
        now = self.clock()
        self._expire(now)
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            del self._sessions[oldest.id]
        session = Session(secrets.token_urlsafe(32), operator.code, secrets.token_urlsafe(32), now, now)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session with this id (its idle time restarts), or None."""
        now = self.clock()
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if now - session.seen > IDLE or now - session.started > LIFETIME:
            del self._sessions[session_id]
            return None
        session.seen = now
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _expire(self, now: float) -> None:
        for sid in [s.id for s in self._sessions.values() if now - s.seen > IDLE or now - s.started > LIFETIME]:
            del self._sessions[sid]


def may_sign_in(operator: Operator) -> bool:
    return RANK[operator.role] >= RANK[LEAST_ROLE]


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode())
