"""`appliance api token add|list|revoke`: the tokens other systems use to call the local API (docs/api.md)."""

from __future__ import annotations

import argparse

from appliance.api import auth
from appliance.cli.common import sign_in, till_for
from appliance.core.operators import authorize
from appliance.errors import PermissionDenied

_OPERATOR = "operator code (PIN from $APPLIANCE_PIN or a prompt)"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("api", help="the local HTTP/JSON API: access tokens")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    token = sub.add_parser("token", help="issue, list and revoke API tokens")
    steps = token.add_subparsers(dest="token_action", required=True, metavar="STEP")
    add = steps.add_parser("add", help="issue a token that acts with the operator's role (shown once)")
    add.add_argument("--operator", required=True, help=_OPERATOR)
    add.add_argument("--label", default="", help="what the token is for, like \"back office PC\"")
    add.set_defaults(func=add_token)
    steps.add_parser("list", help="list tokens (never the tokens themselves)").set_defaults(func=list_tokens)
    rev = steps.add_parser("revoke", help="stop a token working at once")
    rev.add_argument("id", type=int, metavar="ID", help="the token's id from `appliance api token list`")
    rev.add_argument("--operator", required=True, help=f"{_OPERATOR}: the token's own operator or a manager")
    rev.set_defaults(func=revoke_token)


def add_token(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        token = auth.issue(till.store, operator, label=args.label, at=till.clock.now())
    print(token)
    print(f"for {operator.name} ({operator.role}); keep it secret: it is not shown again", flush=True)
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        rows = auth.tokens(till.store.conn)
    for info in rows:
        state = f"revoked {info.revoked_at}" if info.revoked_at else "live"
        print(f"{info.id:>4}  {info.prefix}...  operator {info.operator:<8} {info.created_at}  {state}  {info.label}")
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        owner = next((t.operator for t in auth.tokens(till.store.conn) if t.id == args.id), None)
        if owner != operator.code:
            if owner is None:
                authorize("operator.manage", operator)  # unknown id: a manager hears "not found" below
            elif not operator.may("operator.manage"):
                raise PermissionDenied(f"token {args.id} belongs to operator {owner}: only they or a manager revoke it")
        auth.revoke(till.store, args.id, at=till.clock.now())
    print(f"token {args.id} revoked")
    return 0
