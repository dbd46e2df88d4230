"""Vouchers: single-use paper or printed codes with a face value, and credit notes from returns."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from appliance.core.clock import iso
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store


@dataclass(frozen=True)
class Voucher:
    code: str
    value: int
    expires_on: str | None
    redeemed_ref: str | None


def new_code(prefix: str = "CN") -> str:
    """An unguessable code for a credit note: the prefix and 12 random digits."""
    return f"{prefix}{secrets.randbelow(10**12):012d}"


def insert(conn: sqlite3.Connection, code: str, value: int, *, at: str, expires_on: str | None, ref: str) -> None:
    if value <= 0:
        raise InputError("a voucher must be worth more than zero")
    if not code.strip() or len(code) > 40:
        raise InputError("a voucher code is 1-40 characters")
    if expires_on is not None:
        try:
            expires_on = date.fromisoformat(expires_on).isoformat()  # compared as text: must be YYYY-MM-DD
        except ValueError:
            raise InputError(f"expiry date {expires_on!r} must be a date like 2026-12-31") from None
    if conn.execute("SELECT 1 FROM vouchers WHERE code = ?", (code,)).fetchone():
        raise DomainError(f"voucher code {code} already exists")
    conn.execute(
        "INSERT INTO vouchers (code, value, issued_at, expires_on, issued_ref) VALUES (?, ?, ?, ?, ?)",
        (code, value, at, expires_on, ref),
    )


def issue(store: Store, code: str, value: int, *, at: datetime, expires_on: str | None = None) -> Voucher:
    with store.event("voucher.issued", ref=code, at=iso(at)) as event:
        insert(event.conn, code, value, at=iso(at), expires_on=expires_on, ref="issued")
        event.payload = {"code": code, "value": value, "expires_on": expires_on}
    return Voucher(code, value, expires_on, None)


def find(conn: sqlite3.Connection, code: str) -> Voucher:
    row = conn.execute(
        "SELECT code, value, expires_on, redeemed_ref FROM vouchers WHERE code = ?", (code.strip(),)
    ).fetchone()
    if row is None:
        raise NotFound(f"no voucher with code {code!r}")
    return Voucher(*row)


def check_usable(voucher: Voucher, today: date) -> None:
    if voucher.redeemed_ref is not None:
        raise DomainError(f"voucher {voucher.code} has already been used")
    if voucher.expires_on is not None and today.isoformat() > voucher.expires_on:
        raise DomainError(f"voucher {voucher.code} expired on {voucher.expires_on}")


def redeem(conn: sqlite3.Connection, code: str, *, ref: str, at: str) -> None:
    """Mark used inside the sale's transaction; fails if another till used it in the meantime."""
    cursor = conn.execute(
        "UPDATE vouchers SET redeemed_ref = ?, redeemed_at = ? WHERE code = ? AND redeemed_ref IS NULL",
        (ref, at, code),
    )
    if cursor.rowcount != 1:
        raise DomainError(f"voucher {code} was used on another till meanwhile; take another tender")


def reinstate(conn: sqlite3.Connection, code: str, *, redeemed_ref: str) -> None:
    """Give a voucher back when the sale that used it is post-voided."""
    cursor = conn.execute(
        "UPDATE vouchers SET redeemed_ref = NULL, redeemed_at = NULL WHERE code = ? AND redeemed_ref = ?",
        (code, redeemed_ref),
    )
    if cursor.rowcount != 1:
        raise DomainError(f"voucher {code} is not recorded as used by this sale; it cannot be given back")
