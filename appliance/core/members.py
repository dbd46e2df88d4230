"""Members: the profile, lookup by phone, card or QR, and the stored-value ledger.

Every stored-value change is a ledger row that carries the balance after it; the CHECK
on the balance column makes an overdraft impossible even if two tills spend at once.
A paid top-up is its own business event: cash taken for it is a paid-in of the shift,
so the drawer's expected cash (X and Z reports) includes it without a second ledger.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

from appliance.core.clock import iso
from appliance.core.ids import uuid7
from appliance.core.operators import Operator, authorize
from appliance.errors import DomainError, InputError, NotFound
from appliance.store.db import Store

_PHONE = re.compile(r"\+?[0-9]{6,15}")
_TAG = re.compile(r"[\w\-]{1,24}")
QR_PREFIX = "MBR:"  # what a member QR code (app or card) carries: MBR:<member id or card code>

@dataclass(frozen=True)
class Member:
    id: str
    phone: str
    name: str
    birthday: str | None = None  # YYYY-MM-DD
    tags: tuple[str, ...] = ()
    consent_at: str | None = None  # when marketing consent was given; None: no consent
    card_code: str | None = None
    tier: str = ""


_COLUMNS = "id, phone, name, birthday, tags, consent_at, card_code, tier"


def _member(row: Sequence[Any]) -> Member:
    return Member(*row[:4], tuple(json.loads(row[4])), *row[5:])


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"[\s\-()]", "", phone)
    if not _PHONE.fullmatch(digits):
        raise InputError(f"phone number {phone!r} must be 6-15 digits, optionally starting with +")
    return digits


def check_birthday(text: str | None) -> str | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"birthday {text!r} must be a date like 1990-05-17") from None
    if not 1900 <= day.year <= 2100:
        raise InputError(f"birthday {text!r} is not a plausible year")
    return day.isoformat()


def check_tags(tags: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))
    for tag in cleaned:
        if not _TAG.fullmatch(tag):
            raise InputError(f"tag {tag!r} must be 1-24 letters, digits, - or _")
    return cleaned


def add(
    store: Store, phone: str, name: str, *, at: datetime, birthday: str | None = None,
    tags: Sequence[str] = (), consent: bool = False,
) -> Member:
    number = normalize_phone(phone)
    if not name.strip():
        raise InputError("a member needs a name")
    member = Member(uuid7(at), number, name.strip(), check_birthday(birthday), check_tags(tags),
                    iso(at) if consent else None)
    with store.event("member.added", ref=member.id, at=iso(at)) as event:
        if event.conn.execute("SELECT 1 FROM members WHERE phone = ?", (number,)).fetchone():
            raise DomainError(f"a member with phone {number} already exists")
        event.conn.execute(
            "INSERT INTO members (id, phone, name, birthday, tags, consent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (member.id, member.phone, member.name, member.birthday, json.dumps(member.tags), member.consent_at, iso(at)),
        )
        event.payload = {"id": member.id, "phone": member.phone, "name": member.name, "birthday": member.birthday,
                         "tags": list(member.tags), "consent_at": member.consent_at}
    return member


def edit(
    store: Store, member_id: str, *, at: datetime, operator: Operator, name: str | None = None,
    phone: str | None = None, birthday: str | None = None, tags: Sequence[str] | None = None,
    consent: bool | None = None,
) -> Member:
    """Change profile fields (None: unchanged); consent records when it was given, or withdraws it."""
    authorize("member.edit", operator)
    with store.event("member.edited", ref=member_id, at=iso(at)) as event:
        old = get(event.conn, member_id)
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise InputError("a member needs a name")
            changes["name"] = name.strip()
        if phone is not None:
            changes["phone"] = normalize_phone(phone)
            if event.conn.execute("SELECT 1 FROM members WHERE phone = ? AND id != ?",
                                  (changes["phone"], member_id)).fetchone():
                raise DomainError(f"another member has phone {changes['phone']}")
        if birthday is not None:
            changes["birthday"] = check_birthday(birthday)
        if tags is not None:
            changes["tags"] = json.dumps(check_tags(tags))
        if consent is not None and consent != (old.consent_at is not None):
            changes["consent_at"] = iso(at) if consent else None
        if not changes:
            raise InputError("nothing to change: give a new name, phone, birthday, tags or consent")
        event.conn.execute(
            f"UPDATE members SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?", (*changes.values(), member_id)
        )
        event.payload = {"id": member_id, "by": operator.code, **changes}
        return get(event.conn, member_id)


def issue_card(store: Store, member_id: str, *, at: datetime, prefix: str, operator: Operator) -> str:
    """A new card code for the member (the old card stops working): prefix + 12 random digits."""
    authorize("member.edit", operator)
    code = f"{prefix}{secrets.randbelow(10**12):012d}"
    with store.event("member.card", ref=member_id, at=iso(at)) as event:
        get(event.conn, member_id)
        event.conn.execute("UPDATE members SET card_code = ? WHERE id = ?", (code, member_id))
        event.payload = {"id": member_id, "card_code": code, "by": operator.code}
    return code


def get(conn: sqlite3.Connection, member_id: str) -> Member:
    """A member by id; erased members are not found."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE id = ? AND erased_at IS NULL", (member_id,)).fetchone()
    if row is None:
        raise NotFound(f"no member {member_id!r} (or the member was erased)")
    return _member(row)


def find(conn: sqlite3.Connection, key: str) -> Member:
    """Find a member by phone number, member id, card code or a scanned QR (MBR:<id or card code>)."""
    key = key.strip()
    if key.upper().startswith(QR_PREFIX):
        key = key[len(QR_PREFIX):].strip()
    live = "AND erased_at IS NULL"
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE (id = ? OR card_code = ?) {live}", (key, key)).fetchone()
    if row is None:
        try:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM members WHERE phone = ? {live}", (normalize_phone(key),)
            ).fetchone()
        except InputError:
            row = None
    if row is None:
        raise NotFound(f"no member with phone, card or id {key!r}")
    return _member(row)


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[Member]:
    """Members whose name contains `text` or whose phone ends with it (the till's "find")."""
    if not text.strip():
        raise InputError("type part of a name or the last digits of a phone number")
    like = text.strip().replace("%", r"\%").replace("_", r"\_")
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM members WHERE erased_at IS NULL AND (name LIKE ? ESCAPE '\\' OR phone LIKE ? "
        "ESCAPE '\\') ORDER BY name LIMIT ?",
        (f"%{like}%", f"%{like}", limit),
    ).fetchall()
    return [_member(row) for row in rows]


# --- stored value


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
    """Credit stored value without payment (an opening balance carried over); paid ones: `paid_top_up`."""
    if amount <= 0:
        raise InputError("a top-up must be more than zero")
    with store.event("member.stored_value", ref=member_id, at=iso(at)) as event:
        new_balance = post_stored_value(event.conn, member_id, amount, ref=ref, at=iso(at))
        event.payload = {"member_id": member_id, "delta": amount, "balance": new_balance, "ref": ref}
    return new_balance


def paid_top_up(
    store: Store, member_id: str, amount: int, tender: str, *, at: datetime, operator: Operator,
    shift_id: str, device: str, reference: str = "",
) -> dict[str, Any]:
    """A top-up paid by `tender`, with its slip number; cash goes into the shift's drawer as a paid-in.

    Other tenders (card, wallet) are authorised by the caller first and their reference
    (bank reference, approval) is kept on the slip; they do not touch the drawer.
    """
    authorize("member.top_up", operator)
    if amount <= 0:
        raise InputError("a top-up must be more than zero")
    if tender != "cash" and not reference:
        raise InputError(f"a {tender} top-up needs the payment's reference (approval or bank reference)")
    at_text = iso(at)
    slip_id = uuid7(at)
    with store.event("member.top_up", ref=slip_id, at=at_text) as event:
        conn = event.conn
        get(conn, member_id)
        slip_no = f"{device}-TU{store.next_counter(conn, f'top_up:{device}'):06d}"
        new_balance = post_stored_value(conn, member_id, amount, ref=slip_id, at=at_text)
        if tender == "cash":
            conn.execute(
                "INSERT INTO cash_moves (id, shift_id, kind, amount, reason, operator, at) "
                "VALUES (?, ?, 'paid_in', ?, ?, ?, ?)",
                (slip_id, shift_id, amount, f"stored value top-up {slip_no}", operator.code, at_text),
            )
        event.payload = {
            "id": slip_id, "slip_no": slip_no, "member_id": member_id, "amount": amount, "tender": tender,
            "reference": reference, "balance": new_balance, "shift_id": shift_id, "operator": operator.code,
            "device": device, "at": at_text,
        }
    return event.payload


def statement(conn: sqlite3.Connection, member_id: str) -> list[tuple[str, int, int, str]]:
    """(at, change, balance after, reference) for every stored-value row, oldest first."""
    return conn.execute(
        "SELECT at, delta, balance, ref FROM stored_value WHERE member_id = ? ORDER BY id", (member_id,)
    ).fetchall()
