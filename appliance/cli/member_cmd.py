"""`appliance member`: profiles, cards, stored value, points, coupons, segments, data export and erasure."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appliance.cli.common import money, sign_in, till_for
from appliance.core import coupons, members, points, privacy, segments, tiers
from appliance.core.clock import business_day, local
from appliance.core.money import format_amount, parse_percent
from appliance.core.operators import authorize
from appliance.core.till import Till
from appliance.errors import InputError

SEGMENTS = ("rfm", "lapsed", "birthdays", "tag", "tier")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("member", help="members: profiles, stored value, points, coupons, segments, privacy")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = sub.add_parser("add", help="add a member")
    _profile_options(add, required=True)
    add.set_defaults(func=add_member)
    edit = sub.add_parser("edit", help="change a member's profile")
    edit.add_argument("member", metavar="MEMBER", help="phone, card code, MBR: QR text or member id")
    _profile_options(edit, required=False)
    edit.set_defaults(func=edit_member)
    show = sub.add_parser("show", help="a member's profile, tier, balances and coupons")
    show.add_argument("member", metavar="MEMBER")
    show.set_defaults(func=show_member)
    find = sub.add_parser("find", help="members by part of the name or the last digits of the phone")
    find.add_argument("text", metavar="TEXT")
    find.set_defaults(func=find_members)
    card = sub.add_parser("card", help="issue a member card code (the old card stops working)")
    card.add_argument("member", metavar="MEMBER")
    card.add_argument("--operator", required=True)
    card.set_defaults(func=issue_card)
    statement = sub.add_parser("statement", help="stored value (or points) ledger with the running balance")
    statement.add_argument("member", metavar="MEMBER")
    statement.add_argument("--points", action="store_true", help="the points ledger instead of stored value")
    statement.set_defaults(func=print_statement)
    topup = sub.add_parser("topup", help="load stored value, paid in cash (into the drawer) or another tender")
    topup.add_argument("member", metavar="MEMBER")
    topup.add_argument("--amount", required=True)
    topup.add_argument("--tender", default="cash", choices=("cash", "card", "wallet"))
    topup.add_argument("--reference", default="", help="approval or bank reference of a card or wallet payment")
    topup.add_argument("--operator", required=True)
    topup.set_defaults(func=top_up)
    pts = sub.add_parser("points", help="adjust a member's points, give a reward, or expire lapsed points")
    pts.add_argument("member", metavar="MEMBER", nargs="?")
    pts.add_argument("--adjust", type=int, help="points to add (negative: remove)")
    pts.add_argument("--reason", default="")
    pts.add_argument("--reward", metavar="SKU", help="hand out this product for --cost points")
    pts.add_argument("--cost", type=int, help="points a reward costs")
    pts.add_argument("--expire", action="store_true", help="write off every member's lapsed points")
    pts.add_argument("--operator", required=True)
    pts.set_defaults(func=change_points)

    coupon = sub.add_parser("coupon", help="coupons").add_subparsers(dest="coupon_action", required=True,
                                                                   metavar="ACTION")
    issue = coupon.add_parser("issue", help="issue a coupon to a member or to every member of a segment")
    issue.add_argument("--member")
    issue.add_argument("--segment", choices=SEGMENTS)
    _segment_options(issue)
    issue.add_argument("--amount", help="money off")
    issue.add_argument("--percent", help='percentage off, like "10%"')
    issue.add_argument("--min-spend", default="0")
    issue.add_argument("--expires", help="last day it may be used, YYYY-MM-DD")
    issue.add_argument("--campaign", default="")
    issue.add_argument("--operator", required=True)
    issue.set_defaults(func=issue_coupons)

    segment = sub.add_parser("segment", help="list a segment, or export it to CSV for a campaign")
    segment.add_argument("name", metavar="NAME", choices=SEGMENTS)
    _segment_options(segment)
    segment.add_argument("--csv", type=Path, help="write members who gave marketing consent to this CSV file")
    segment.set_defaults(func=show_segment)
    together = sub.add_parser("together", help="products frequently bought together")
    together.add_argument("--days", type=int, default=90)
    together.add_argument("--min-count", type=int, default=2)
    together.add_argument("--top", type=int, default=20)
    together.set_defaults(func=show_together)
    recommend = sub.add_parser("recommend", help="products to suggest to a member")
    recommend.add_argument("member", metavar="MEMBER")
    recommend.add_argument("--days", type=int, default=90)
    recommend.set_defaults(func=show_recommendations)

    export = sub.add_parser("export", help="everything kept about a member, as JSON")
    export.add_argument("member", metavar="MEMBER")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--operator", required=True)
    export.set_defaults(func=export_member)
    erase = sub.add_parser("erase", help="erase a member's personal data (sales are kept, anonymised)")
    erase.add_argument("member", metavar="MEMBER")
    erase.add_argument("--reason", required=True)
    erase.add_argument("--operator", required=True)
    erase.set_defaults(func=erase_member)


def _profile_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--phone", required=required)
    parser.add_argument("--name", required=required)
    parser.add_argument("--birthday", help="YYYY-MM-DD")
    parser.add_argument("--tag", action="append", help="a tag (repeat for several); on edit, replaces the tags")
    parser.add_argument("--consent", choices=("yes", "no"), help="marketing consent given (yes) or withdrawn (no)")
    parser.add_argument("--operator", required=True)


def _segment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, help="rfm: window (default 365); lapsed: no purchase in this many days")
    parser.add_argument("--month", type=int, help="birthdays: month 1-12 (default: this month)")
    parser.add_argument("--value", help="tag: the tag; tier: the tier name")


def _segment(till: Till, args: argparse.Namespace) -> list[tuple[str, str]]:
    """(member id, what qualified them) of the segment the options name."""
    return [(m, why or "never") for m, why in segments.select(
        till.store.conn, args.segment_name, till.clock.now(), till.settings.time.zone, days=args.days,
        month=args.month, value=args.value)[1]]  # fmt: skip


def _amount(till: Till, value: int) -> str:
    return format_amount(value, till.settings.currency.exponent)


def add_member(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        sign_in(till, args.operator)
        member = members.add(till.store, args.phone, args.name, at=till.clock.now(), birthday=args.birthday,
                             tags=args.tag or (), consent=args.consent == "yes")
    print(f"added member {member.id} {member.name} {member.phone}")
    return 0


def edit_member(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        member = members.find(till.store.conn, args.member)
        consent = None if args.consent is None else args.consent == "yes"
        member = members.edit(till.store, member.id, at=till.clock.now(), operator=operator, name=args.name,
                              phone=args.phone, birthday=args.birthday, tags=args.tag, consent=consent)
    print(f"member {member.id}: {member.name} {member.phone}")
    return 0


def show_member(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        conn, now = till.store.conn, till.clock.now()
        member = members.find(conn, args.member)
        today = business_day(now, till.settings.time.zone, till.settings.time.cutover_hour)
        tier = tiers.current(conn, till.settings, member.id, now)
        print(f"member     {member.id}\nname       {member.name}\nphone      {member.phone}")
        print(f"birthday   {member.birthday or '-'}\ntags       {', '.join(member.tags) or '-'}")
        print(f"consent    {member.consent_at or 'no'}\ncard       {member.card_code or '-'}")
        print(f"tier       {tier.name or '-'} ({till.settings.loyalty.tier_basis} {tier.basis} in 12 months)")
        print(f"points     {points.available(conn, member.id, today)}")
        print(f"stored     {_amount(till, members.balance(conn, member.id))}")
        for coupon in coupons.of_member(conn, member.id):
            state = f"used by {coupon.redeemed_ref}" if coupon.redeemed_ref else "open"
            print(f"coupon     {coupon.describe(till.settings.currency.exponent)} ({state})")
    return 0


def find_members(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        for member in members.search(till.store.conn, args.text):
            print(f"{member.id}  {member.phone:<15} {member.name}")
    return 0


def issue_card(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        member = members.find(till.store.conn, args.member)
        code = members.issue_card(till.store, member.id, at=till.clock.now(),
                                  prefix=till.settings.loyalty.card_prefix, operator=operator)
    print(f"card {code} for member {member.id} (QR: {members.QR_PREFIX}{code})")
    return 0


def print_statement(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        conn, zone = till.store.conn, till.settings.time.zone
        member = members.find(conn, args.member)
        if args.points:
            for at, kind, delta, balance, ref, _ in points.statement(conn, member.id):
                print(f"{local(at, zone):%Y-%m-%d %H:%M}  {kind:<9} {delta:>+9} {balance:>9}  {ref}")
            return 0
        for at, delta, balance, ref in members.statement(conn, member.id):
            print(f"{local(at, zone):%Y-%m-%d %H:%M}  {_amount(till, delta):>10} {_amount(till, balance):>10}  {ref}")
    return 0


def top_up(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        member = members.find(till.store.conn, args.member)
        shift = till.shifts.require_open()
        slip = members.paid_top_up(
            till.store, member.id, money(args.amount, till.settings), args.tender, at=till.clock.now(),
            operator=operator, shift_id=shift.id, device=till.device, reference=args.reference,
        )
        print(f"{till.settings.shop.name}\n储值充值 TOP-UP {slip['slip_no']}")
        print(f"{local(slip['at'], till.settings.time.zone):%Y-%m-%d %H:%M:%S}  {slip['tender']}")
        print(f"amount   {_amount(till, slip['amount'])}\nbalance  {_amount(till, slip['balance'])}")
    return 0


def change_points(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        now = till.clock.now()
        if args.expire:
            written = points.expire_all(till.store, till.settings, at=now)
            print(f"{sum(written.values())} points expired for {len(written)} members")
            return 0
        if not args.member:
            raise InputError("name the member (or use --expire for everyone's lapsed points)")
        member = members.find(till.store.conn, args.member)
        if args.reward:
            if args.cost is None:
                raise InputError("a reward needs --cost (points)")
            done = points.redeem_reward(till.store, till.settings, member.id, args.reward, args.cost, at=now,
                                        operator=operator)
            print(f"reward {done['name']} for {done['points']} points; balance {done['balance']}")
        elif args.adjust is not None:
            new = points.adjust(till.store, till.settings, member.id, args.adjust, args.reason, at=now,
                                operator=operator)
            print(f"points balance {new}")
        else:
            raise InputError("give --adjust N --reason TEXT, --reward SKU --cost N, or --expire")
    return 0


def issue_coupons(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        if (args.member is None) == (args.segment is None):
            raise InputError("give either --member or --segment")
        if args.member:
            ids = [members.find(till.store.conn, args.member).id]
        else:
            args.segment_name = args.segment
            ids = [m for m, _ in _segment(till, args)]
        codes = coupons.issue(
            till.store, ids, amount=money(args.amount, till.settings) if args.amount else 0,
            percent=parse_percent(args.percent) if args.percent else 0,
            min_spend=money(args.min_spend, till.settings, "minimum spend"), expires_on=args.expires,
            campaign=args.campaign, at=till.clock.now(), operator=operator,
        )
    for code, member_id in zip(codes, ids):
        print(f"{code}  {member_id}")
    return 0


def show_segment(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        args.segment_name = args.name
        found = _segment(till, args)
        if args.csv:
            with args.csv.open("w", encoding="utf-8", newline="") as out:
                written = segments.export_csv(till.store.conn, [m for m, _ in found], out)
            print(f"{written} of {len(found)} members (those with marketing consent) written to {args.csv}")
            return 0
        for member_id, why in found:
            print(f"{member_id}  {why}")
    return 0


def _pairs(till: Till, days: int, min_count: int = 2) -> list[segments.Pair]:
    today = business_day(till.clock.now(), till.settings.time.zone, till.settings.time.cutover_hour)
    return segments.together(till.store.conn, today, days, min_count)


def show_together(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        print(f"{'if bought':<14} {'also':<14} {'count':>6} {'support':>8} {'conf':>6} {'lift':>6}")
        for p in _pairs(till, args.days, args.min_count)[: args.top]:
            print(f"{p.a:<14} {p.b:<14} {p.count:>6} {p.support:>8.3f} {p.confidence:>6.2f} {p.lift:>6.2f}")
    return 0


def show_recommendations(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        member = members.find(till.store.conn, args.member)
        for sku, score in segments.recommend(till.store.conn, member.id, _pairs(till, args.days)):
            print(f"{sku:<14} {score:.2f}")
    return 0


def export_member(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        authorize("member.export", operator)
        data = privacy.export(till.store.conn, members.find(till.store.conn, args.member).id)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"written to {args.out}")
    else:
        sys.stdout.write(text + "\n")
    return 0


def erase_member(args: argparse.Namespace) -> int:
    with till_for(args) as till:
        operator = sign_in(till, args.operator)
        conn = till.store.conn
        row = conn.execute("SELECT id FROM members WHERE id = ?", (args.member,)).fetchone()
        member_id = row[0] if row else members.find(conn, args.member).id
        done = privacy.erase(till.store, till.settings, member_id, args.reason, at=till.clock.now(), operator=operator)
    print(f"member {done['id']} erased; {done['points_forfeited']} points forfeited")
    return 0

