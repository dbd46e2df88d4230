"""`appliance operator add|list|unlock`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from appliance.cli.common import read_pin, till_for
from appliance.core.operators import ROLES
from appliance.errors import InputError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("operator", help="operators: add, list, unlock")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add an operator (the first must be a manager)")
    add.add_argument("--code", required=True, help="1-8 digits")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--by", help="the manager adding (not needed for the first operator)")
    add.set_defaults(func=add_operator)
    lst = sub.add_parser("list", help="list operators")
    lst.set_defaults(func=list_operators)
    unlock = sub.add_parser("unlock", help="unlock an operator locked out by wrong PINs")
    unlock.add_argument("code")
    unlock.add_argument("--by", required=True, help="a supervisor's code")
    unlock.set_defaults(func=unlock_operator)


def _new_pin() -> str:
    """The new operator's PIN: $APPLIANCE_NEW_PIN for scripts, else asked twice."""
    pin = os.environ.get("APPLIANCE_NEW_PIN")
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        raise InputError("set APPLIANCE_NEW_PIN or run in a terminal to choose the PIN")
    first, second = getpass.getpass("new PIN: "), getpass.getpass("again: ")
    if first != second:
        raise InputError("the two PINs differ")
    return first


def add_operator(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        by = till.sign_in(args.by, read_pin(args.by)) if args.by else None
        op = till.operators.add(args.code, args.name, args.role, _new_pin(), at=till.clock.now(), by=by)
    print(f"added {op.role} {op.code} {op.name}")
    return 0


def list_operators(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        for code, name, role, locked in till.operators.list(at=till.clock.now()):
            print(f"{code:<8} {role:<10} {name}{'  (locked)' if locked else ''}")
    return 0


def unlock_operator(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        by = till.sign_in(args.by, read_pin(args.by))
        till.operators.unlock(args.code, by=by, at=till.clock.now())
    print(f"operator {args.code} unlocked")
    return 0
