"""Operators: who may be added, PIN rules, and the permission matrix."""

from __future__ import annotations

import pytest

from appliance.core.operators import PERMISSIONS, Operator, authorize
from appliance.core.till import Till
from appliance.errors import InputError, PermissionDenied


@pytest.fixture
def empty_till(settings, store, clock):
    return Till(settings, store, clock)


def test_the_first_operator_must_be_a_manager(empty_till):
    with pytest.raises(PermissionDenied, match="first operator must be a manager"):
        empty_till.operators.add("1", "Ann", "cashier", "1234", at=empty_till.clock.now(), by=None)
    boss = empty_till.operators.add("9", "Boss", "manager", "9999", at=empty_till.clock.now(), by=None)
    with pytest.raises(PermissionDenied, match="manager"):
        empty_till.operators.add("1", "Ann", "cashier", "1234", at=empty_till.clock.now(), by=None)
    ann = empty_till.operators.add("1", "Ann", "cashier", "1234", at=empty_till.clock.now(), by=boss)
    with pytest.raises(PermissionDenied):
        empty_till.operators.add("2", "Bob", "cashier", "1234", at=empty_till.clock.now(), by=ann)
    with pytest.raises(InputError, match="already taken"):
        empty_till.operators.add("1", "Ann again", "cashier", "1234", at=empty_till.clock.now(), by=boss)


@pytest.mark.parametrize("code, name, role, pin, reason", [
    ("12a", "x", "cashier", "1234", "1-8 digits"),
    ("١٢", "x", "cashier", "1234", "1-8 digits"),
    ("123456789", "x", "cashier", "1234", "1-8 digits"),
    ("1", " ", "cashier", "1234", "name"),
    ("1", "x", "owner", "1234", "role"),
    ("1", "x", "manager", "123", "4 to 8 digits"),
    ("1", "x", "manager", "12345678901", "4 to 8 digits"),
    ("1", "x", "manager", "12a4", "4 to 8 digits"),
])
def test_bad_operator_details(empty_till, code, name, role, pin, reason):
    with pytest.raises(InputError, match=reason):
        empty_till.operators.add(code, name, role, pin, at=empty_till.clock.now(), by=None)
    assert empty_till.operators.count() == 0


def test_permission_matrix():
    cashier, supervisor, manager = (Operator(c, c, c) for c in ("cashier", "supervisor", "manager"))
    for action, least in PERMISSIONS.items():
        assert manager.may(action)
        assert supervisor.may(action) == (least != "manager")
        assert cashier.may(action) == (least == "cashier")
    assert authorize("sale.post_void", cashier, supervisor) == "supervisor"
    assert authorize("return", cashier) is None
    with pytest.raises(PermissionDenied, match="needs a manager"):
        authorize("catalog.import", cashier, supervisor)
    with pytest.raises(KeyError):
        authorize("launch.missiles", manager)


def test_unknown_code_and_wrong_pin_say_the_same(till):
    from appliance.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed) as unknown:
        till.sign_in("4242", "1234")
    with pytest.raises(AuthenticationFailed) as wrong:
        till.sign_in("1001", "9999")
    assert str(unknown.value).split(" (")[0] == str(wrong.value).split(" (")[0]  # no hint which one exists
