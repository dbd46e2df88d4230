"""Members as the till needs them today: lookup by phone, and the stored-value ledger.

Every stored-value change is a ledger row that carries the balance after it; the CHECK
on the balance column makes an overdraft impossible even if two tills spend at once.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from appliance.core.clock import iso
from appliance.core.ids import uuid7
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

_PHONE = re.compile(r"\+?[0-9]{6,15}")


@dataclass(frozen=True)
class Member:
    id: str
    phone: str
    name: str


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"[\s\-()]", "", phone)
    if not _PHONE.fullmatch(digits):
        raise InputError(f"phone number {phone!r} must be 6-15 digits, optionally starting with +")
    return digits


def add(store: Store, phone: str, name: str, *, at: datetime) -> Member:
    number = normalize_phone(phone)
    if not name.strip():
        raise InputError("a member needs a name")
    member = Member(uuid7(at), number, name.strip())
    with store.event("member.added", ref=member.id, at=iso(at)) as event:
        if event.conn.execute("SELECT 1 FROM members WHERE phone = ?", (number,)).fetchone():
            raise DomainError(f"a member with phone {number} already exists")
        event.conn.execute(
            "INSERT INTO members (id, phone, name, created_at) VALUES (?, ?, ?, ?)",
            (member.id, member.phone, member.name, iso(at)),
        )
        event.payload = {"id": member.id, "phone": member.phone, "name": member.name}
    return member


def find(conn: sqlite3.Connection, key: str) -> Member:
    """Find a member by phone number or member id."""
    row = conn.execute("SELECT id, phone, name FROM members WHERE id = ?", (key,)).fetchone()
    if row is None:
        try:
            row = conn.execute(
                "SELECT id, phone, name FROM members WHERE phone = ?", (normalize_phone(key),)
            ).fetchone()
        except InputError:
            row = None
    if row is None:
        raise NotFound(f"no member with phone or id {key!r}")
    return Member(*row)


def balance(conn: sqlite3.Connection, member_id: str) -> int:
    row = conn.execute(
        "SELECT balance FROM stored_value WHERE member_id = ? ORDER BY id DESC LIMIT 1", (member_id,)
    ).fetchone()
    return row[0] if row else 0


def post_stored_value(conn: sqlite3.Connection, member_id: str, delta: int, *, ref: str, at: str) -> int:
    """Add a ledger row inside the caller's transaction; refuses to go below zero."""
    new_balance = balance(conn, member_id) + delta
    if new_balance < 0:
        raise DomainError("the stored value balance is too low for this payment", code="insufficient")
    conn.execute(
        "INSERT INTO stored_value (member_id, delta, balance, ref, at) VALUES (?, ?, ?, ?, ?)",
        (member_id, delta, new_balance, ref, at),
    )
    return new_balance


def top_up(store: Store, member_id: str, amount: int, *, at: datetime, ref: str) -> int:
    """Credit stored value (the demo and tests use it; paid top-ups arrive with the members issue)."""
    if amount <= 0:
        raise InputError("a top-up must be more than zero")
    with store.event("member.stored_value", ref=member_id, at=iso(at)) as event:
        new_balance = post_stored_value(event.conn, member_id, amount, ref=ref, at=iso(at))
        event.payload = {"member_id": member_id, "delta": amount, "balance": new_balance, "ref": ref}
    return new_balance
