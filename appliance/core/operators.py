"""Operators, their PINs and roles, and the permission every sensitive action checks.

PINs are short, so they are stored only as a salted scrypt hash (slow and memory-hard
on purpose) and guessing is capped by a lockout after repeated wrong PINs. A cashier
who lacks a permission can have a supervisor approve the single action with their own
code and PIN; the approval is recorded with the event.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from appliance.core.clock import iso, parse_iso
from appliance.errors import AuthenticationFailed, InputError, NotFound, PermissionDenied
from appliance.store.db import Store

ROLES = ("cashier", "supervisor", "manager")
RANK = {role: rank for rank, role in enumerate(ROLES)}

# The least role allowed to do each sensitive action without someone else's approval.
PERMISSIONS = {
    "return": "cashier",
    "return.without_receipt": "supervisor",
    "return.late": "supervisor",
    "return.to_cash": "supervisor",
    "discount.over_limit": "supervisor",
    "price.override_over_limit": "supervisor",
    "sale.cancel": "cashier",
    "sale.post_void": "supervisor",
    "shift.open": "cashier",
    "shift.x_report": "cashier",
    "shift.close": "supervisor",
    "cash.paid_in": "cashier",
    "cash.paid_out": "supervisor",
    "drawer.no_sale": "supervisor",
    "operator.unlock": "supervisor",
    "operator.manage": "manager",
    "catalog.import": "manager",
    "stock.receive": "cashier",
    "stock.count": "cashier",
    "stock.adjust": "supervisor",
    "stock.manage": "manager",
    "member.edit": "cashier",
    "member.top_up": "cashier",
    "points.adjust": "supervisor",
    "coupon.issue": "supervisor",
    "member.export": "manager",
    "member.erase": "manager",
}

# scrypt cost: about 16 MiB and tens of milliseconds per check on a Pi 4 class board.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}


@dataclass(frozen=True)
class Operator:
    code: str
    name: str
    role: str

    def may(self, action: str) -> bool:
        return RANK[self.role] >= RANK[PERMISSIONS[action]]


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)


def check_pin_format(pin: str) -> None:
    if not re.fullmatch(r"[0-9]{4,8}", pin):
        raise InputError("a PIN is 4 to 8 digits")


def authorize(action: str, operator: Operator, approver: Operator | None = None, *, why: str = "") -> str | None:
    """Allow `action` for `operator`, or with `approver`'s approval; returns who approved (None if not needed)."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    if operator.may(action):
        return None
    needed = PERMISSIONS[action]
    if approver is not None and approver.may(action):
        return approver.code
    reason = f" ({why})" if why else ""
    if approver is not None:
        raise PermissionDenied(f"{approver.name} is a {approver.role}; approval needs a {needed}{reason}")
    raise PermissionDenied(f"{action} needs a {needed}'s approval{reason}", code="approval_required")


class Operators:
    def __init__(self, store: Store, *, attempts: int, lockout_minutes: int):
        self.store = store
        self.attempts = attempts
        self.lockout = timedelta(minutes=lockout_minutes)

    def count(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM operators WHERE active = 1"))

    def add(self, code: str, name: str, role: str, pin: str, *, at: datetime, by: Operator | None) -> Operator:
        """Create an operator; only a manager may, except for the very first (who must be a manager)."""
        if not re.fullmatch(r"[0-9]{1,8}", code):
            raise InputError(f"operator code {code!r} must be 1-8 digits")
        if role not in ROLES:
            raise InputError(f"role {role!r} must be one of {', '.join(ROLES)}")
        if not name.strip():
            raise InputError("an operator needs a name")
        check_pin_format(pin)
        if self.count() == 0:
            if role != "manager":
                raise PermissionDenied("the first operator must be a manager, who then adds the others")
        elif by is None:
            raise PermissionDenied("adding an operator needs a manager's code and PIN")
        else:
            authorize("operator.manage", by)
        salt = os.urandom(16)
        with self.store.event("operator.added", ref=code, at=iso(at)) as event:
            if event.conn.execute("SELECT 1 FROM operators WHERE code = ?", (code,)).fetchone():
                raise InputError(f"operator code {code} is already taken")
            event.conn.execute(
                "INSERT INTO operators (code, name, role, pin_salt, pin_hash) VALUES (?, ?, ?, ?, ?)",
                (code, name.strip(), role, salt, hash_pin(pin, salt)),
            )
            event.payload = {"code": code, "name": name.strip(), "role": role, "by": by.code if by else None}
        return Operator(code, name.strip(), role)

    def get(self, code: str) -> Operator:
        row = self.store.conn.execute(
            "SELECT code, name, role FROM operators WHERE code = ? AND active = 1", (code,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no operator with code {code}")
        return Operator(*row)

    def authenticate(self, code: str, pin: str, *, at: datetime) -> Operator:
        """Check a code and PIN; wrong PINs count towards a lockout, a right one resets the count."""
        row = self.store.conn.execute(
            "SELECT name, role, pin_salt, pin_hash, failed_attempts, locked_until FROM operators "
            "WHERE code = ? AND active = 1",
            (code,),
        ).fetchone()
        if row is None:
            raise AuthenticationFailed("unknown operator code or wrong PIN")
        name, role, salt, stored, failed, locked_until = row
        if locked_until and parse_iso(locked_until) > at:
            minutes = -(-(parse_iso(locked_until) - at) // timedelta(minutes=1))
            raise AuthenticationFailed(
                f"{name} is locked out after {self.attempts} wrong PINs for {minutes} more minute(s); "
                "a supervisor can unlock",
                code="locked",
            )
        if hmac.compare_digest(hash_pin(pin, salt), stored):
            if failed or locked_until:
                with self.store.atomic() as conn:
                    conn.execute(
                        "UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE code = ?", (code,)
                    )
            return Operator(code, name, role)
        failed = self._record_failure(code, at)
        left = self.attempts - failed
        if left <= 0:
            raise AuthenticationFailed(f"wrong PIN; {name} is now locked out", code="locked")
        raise AuthenticationFailed(f"unknown operator code or wrong PIN ({left} tries left)")

    def check(self, code: str, pin: str, *, at: datetime) -> Operator | None:
        """The operator with this code and PIN, or None; nothing is counted or written.

        For sign-ins that are not made at the till (the back office): their wrong guesses
        are limited where they come from, so a stranger on the network cannot lock a
        cashier out of the till. A locked-out operator stays out here too.
        """
        row = self.store.conn.execute(
            "SELECT name, role, pin_salt, pin_hash, locked_until FROM operators WHERE code = ? AND active = 1", (code,)
        ).fetchone()
        if row is None:
            hash_pin(pin, os.urandom(16))  # the same work as a real check: the answer's time says nothing
            return None
        name, role, salt, stored, locked_until = row
        right = hmac.compare_digest(hash_pin(pin, salt), stored)
        if not right or (locked_until and parse_iso(locked_until) > at):
            return None
        return Operator(code, name, role)

    def _record_failure(self, code: str, at: datetime) -> int:
        """Count a wrong PIN under the write lock (two tills guessing at once both count);
        a lockout that has run out starts the count again."""
        with self.store.atomic() as conn:
            failed, locked_until = conn.execute(
                "SELECT failed_attempts, locked_until FROM operators WHERE code = ?", (code,)
            ).fetchone()
            failed = 1 if locked_until else failed + 1
            if failed < self.attempts:
                conn.execute(
                    "UPDATE operators SET failed_attempts = ?, locked_until = NULL WHERE code = ?", (failed, code)
                )
                return failed
            until = iso(at + self.lockout)
            with self.store.event("operator.locked", ref=code, at=iso(at)) as event:
                event.conn.execute(
                    "UPDATE operators SET failed_attempts = ?, locked_until = ? WHERE code = ?", (failed, until, code)
                )
                event.payload = {"code": code, "failed_attempts": failed, "locked_until": until}
            return failed

    def unlock(self, code: str, *, by: Operator, at: datetime) -> None:
        authorize("operator.unlock", by)
        self.get(code)
        with self.store.event("operator.unlocked", ref=code, at=iso(at)) as event:
            event.conn.execute("UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE code = ?", (code,))
            event.payload = {"code": code, "by": by.code}

    def list(self, *, at: datetime) -> list[tuple[str, str, str, bool]]:
        """(code, name, role, locked now) for every active operator."""
        return [
            (code, name, role, locked_until is not None and parse_iso(locked_until) > at)
            for code, name, role, locked_until in self.store.conn.execute(
                "SELECT code, name, role, locked_until FROM operators WHERE active = 1 ORDER BY code"
            )
        ]
