"""Members at the till: phone numbers, lookup, and a stored-value ledger that never goes negative."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.core import members
from appliance.errors import DomainError, InputError, NotFound


def test_add_and_find_by_phone_in_any_spelling(store, clock):
    member = members.add(store, "138-0013-8000", "张伟", at=clock.now())
    assert member.phone == "13800138000"
    assert members.find(store.conn, "138 0013 8000") == member
    assert members.find(store.conn, member.id) == member
    with pytest.raises(DomainError, match="already exists"):
        members.add(store, "13800138000", "Someone", at=clock.now())
    with pytest.raises(NotFound):
        members.find(store.conn, "not a phone")


@pytest.mark.parametrize("phone", ["12345", "phone", "+86 138 0013 8000 1234 5", "１３８００１３８０００"])
def test_bad_phone_numbers(store, clock, phone):
    with pytest.raises(InputError, match="phone number"):
        members.add(store, phone, "X", at=clock.now())


def test_stored_value_ledger_keeps_the_balance(store, clock):
    member = members.add(store, "13800138000", "W", at=clock.now())
    assert members.top_up(store, member.id, 5000, at=clock.now(), ref="a") == 5000
    assert members.top_up(store, member.id, 250, at=clock.now(), ref="b") == 5250
    with pytest.raises(InputError):
        members.top_up(store, member.id, 0, at=clock.now(), ref="c")
    with store.atomic() as conn:
        with pytest.raises(DomainError, match="too low"):
            members.post_stored_value(conn, member.id, -6000, ref="d", at="x")
    assert members.balance(store.conn, member.id) == 5250
    with pytest.raises(sqlite3.IntegrityError):  # the CHECK holds even if code forgot to look
        store.conn.execute(
            "INSERT INTO stored_value (member_id, delta, balance, ref, at) VALUES (?, -6000, -750, 'e', 'x')", (member.id,)
        )
