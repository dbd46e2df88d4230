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
from collections import deque
from dataclasses import dataclass
from typing import Callable

from appliance.core.operators import RANK, Operator

COOKIE = "pos_session"
CSRF_HEADER = "X-CSRF-Token"
IDLE = 30 * 60  # seconds without a request before a session ends (a phone left on the counter)
LIFETIME = 12 * 3600  # a session never outlives a working day
MAX_SESSIONS = 64  # a shop has a handful of managers; past this the oldest session goes
WINDOW = 15 * 60  # wrong sign-ins are counted over this many seconds
PER_CLIENT = 5  # wrong sign-ins from one address in a window before it must wait
IN_ALL = 20  # ... and from all addresses together: a network of guessers gets no more
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


class SignInLimit:
    """Wrong back-office sign-ins, limited per client address and in all.

    They do not count towards the till's lockout (a stranger could otherwise lock every
    cashier out of the till from the network); they are limited here instead, so PINs
    cannot be guessed faster than PER_CLIENT (and IN_ALL) per WINDOW.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _prune(self, failures: deque[float], now: float) -> deque[float]:
        while failures and now - failures[0] >= WINDOW:
            failures.popleft()
        return failures

    def wait(self, client: str) -> int:
        """Seconds before `client` may try again; 0 when it may now."""
        now = self.clock()
        for key in [k for k, v in self._clients.items() if not self._prune(v, now)]:
            del self._clients[key]
        waits = [WINDOW - (now - failures[0]) for failures, limit in
                 ((self._clients.get(client, deque()), PER_CLIENT), (self._prune(self._all, now), IN_ALL))
                 if len(failures) >= limit]  # fmt: skip
        return int(max(waits, default=0)) + (1 if waits else 0)

    def failed(self, client: str) -> None:
        now = self.clock()
        self._clients.setdefault(client, deque()).append(now)
        self._all.append(now)


def may_sign_in(operator: Operator) -> bool:
    return RANK[operator.role] >= RANK[LEAST_ROLE]


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode())
