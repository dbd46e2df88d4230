"""`appliance demo`: a scripted shop day on the embedded default, printed as the paper would look.

Each run adds the next business day to the same store: open a shift, ring up sales
(scanned, weighed, promoted, with a member, split cash + voucher), suspend and resume a
sale, take a return against a receipt, post-void a sale with a supervisor's PIN and close
the day with the Z report. The first run seeds the demo catalog, staff, member and
promotions. The journal keeps verifying run after run.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from io import BytesIO
from zoneinfo import ZoneInfo

from appliance.cli.common import PAPER, money, open_store, paper, print_receipt, save_pngs, settings_from
from appliance.core import members, promotions, vouchers
from appliance.core.barcode import gtin_check_digit
from appliance.core.catalog_csv import Rules, import_csv
from appliance.core.clock import ManualClock, iso
from appliance.core.returns import post_void, return_with_receipt
from appliance.core.promotions import Promotion
from appliance.core.sale import Discount
from appliance.core.till import Till
from appliance.display.report import shift_report
from appliance.store import journal

STAFF = [("9001", "陈店长 Chen (manager)", "manager", "9999"), ("1001", "李娜 Li Na", "cashier", "1234"),
         ("2001", "王强 Wang Qiang", "supervisor", "2468")]
MEMBER_PHONE = "13800138000"


def label(prefix: str, item: str, value: int) -> str:
    """An in-store scale label: prefix, 5-digit item code, 5-digit price or grams, check digit."""
    body = f"{prefix}{item}{value:05d}"
    return body + str(gtin_check_digit(body))


def demo_promotions(at: datetime) -> list[Promotion]:
    """The demo shop's offers; the milk special is time-limited (a year from the first run)."""
    return [
        Promotion("P01", "multi_price", "饮料任选3件9元 Any 3 drinks 9.00", {"skus": ["COLA330", "SPRITE330"], "n": 3, "price": 900}),
        Promotion("P02", "buy_get", "薯片买二送一 Chips 2+1 free", {"skus": ["CHIPS70"], "buy": 2, "get": 1}),
        Promotion("P03", "category_percent", "会员水果9折 Members: fruit -10%", {"category": "fruit", "percent": 1000},
                  members_only=True),
        Promotion("P04", "timed_price", "鲜奶限时特价 Milk special", {"sku": "MILK1L", "price": 1080},
                  starts_at=at - timedelta(days=1), ends_at=at + timedelta(days=365)),
    ]


def seed_demo(till: Till, at: datetime) -> None:
    """First run only: catalog, staff, a member with stored value, promotions."""
    store, settings = till.store, till.settings
    if till.catalog.count() == 0:
        data = resources.files("appliance").joinpath("data/demo_catalog.csv").read_bytes()
        result = import_csv(store, BytesIO(data), Rules.of(settings), at=iso(at))
        print(f"Seeded the demo catalog: {result.applied} products")
    if till.operators.count() == 0:
        manager = None
        for code, name, role, pin in STAFF:
            added = till.operators.add(code, name, role, pin, at=at, by=manager)
            manager = manager or added
        print("Seeded staff: manager 9001 (PIN 9999), cashier 1001 (PIN 1234), supervisor 2001 (PIN 2468)")
    try:
        members.find(store.conn, MEMBER_PHONE)
    except LookupError:
        member = members.add(store, MEMBER_PHONE, "张伟 Zhang Wei", at=at)
        members.top_up(store, member.id, 20000, at=at, ref="demo opening balance")
        print(f"Seeded member 张伟 Zhang Wei ({MEMBER_PHONE}) with 200.00 stored value")
    if not store.scalar("SELECT count(*) FROM promotions"):
        promotions.save(store, demo_promotions(at), at=iso(at))
        till.reload_promotions()
        print("Seeded promotions: 3 drinks for 9.00, chips buy 2 get 1, members' fruit -10%, milk special 10.80")


def _next_day(till: Till) -> date:
    """The day after the last one this terminal traded, so each run is a new business day."""
    settings = till.settings
    today = datetime.now(ZoneInfo(settings.time.zone)).date()
    last = till.shifts.last_business_day()
    return max(today, date.fromisoformat(last) + timedelta(days=1)) if last else today


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    widths = sorted({32, settings.receipt.width if settings.receipt.width != 32 else 48})
    with open_store(settings) as store:
        clock = ManualClock(datetime.now(ZoneInfo(settings.time.zone)))
        till = Till(settings, store, clock)
        if till.shifts.current() is not None:
            print("A shift is still open on this terminal from an interrupted run; closing it first.")
            _close_leftover(till)
        day = _next_day(till)
        clock.set(datetime.combine(day, time(8, 0), ZoneInfo(settings.time.zone)))
        seed_demo(till, clock.now())
        _shop_day(till, clock, widths, args.png_dir)
        head = journal.verify(store.conn)
        print(f"\nJournal verified: {head.seq} entries, head {head.hash.hex()[:16]}…")
        print(f"Store: {settings.database_path}  ·  papers shown: {', '.join(PAPER[w] for w in widths)}")
    return 0


def _close_leftover(till: Till) -> None:
    """Finish what an interrupted run left: cancel its suspended sales, close its shift."""
    supervisor = till.sign_in("2001", "2468")
    for sale_id, *_ in till.suspended():
        till.resume(sale_id)
        till.cancel("demo run interrupted")
    report = till.shifts.x_report(supervisor, at=till.clock.now())
    till.shifts.close(supervisor, report.expected_cash, at=till.clock.now())
    till.sign_out()


def _step(title: str) -> None:
    print(f"\n=== {title} ===")


def _shop_day(till: Till, clock: ManualClock, widths: list[int], png_dir: Path | None) -> None:
    s = till.settings
    print(f"\n##### 营业日 Business day {clock.now().date()} · {s.shop.name} · terminal {s.device.id} #####")
    cashier = till.sign_in("1001", "1234")
    shift = till.shifts.open(cashier, money("500.00", s), at=clock.now())
    _step(f"Shift opened by {cashier.name} with a 500.00 float")

    clock.advance(minutes=12)
    _step("Sale 1: scanned items, 3 drinks for 9.00, cash with change and cash rounding")
    for code in ("6900000000014", "69012341", "6900000000021", "6900000000090", "6900000000151"):
        till.scan(code)
    first = till.pay("cash", money("30.00", s))
    print_receipt(till, first, widths, png_dir=png_dir)

    clock.advance(minutes=25)
    _step("Sale 2: a member, weighed fruit from scale labels, chips 2+1, milk special, stored value + cash")
    till.scan(label("22", "10001", 1234))  # 1.234 kg Fuji apples
    till.scan(label("22", "10002", 856))  # 0.856 kg bananas
    till.scan("ORANGE", quantity=650)  # weighed at the till: 0.650 kg typed in
    for _ in range(3):
        till.scan("6900000000137")
    till.scan("6900000000076")
    till.attach_member(MEMBER_PHONE)
    till.pay("stored_value", money("30.00", s))
    second = till.pay("cash")
    print_receipt(till, second, widths, png_dir=png_dir)

    clock.advance(minutes=40)
    _step("Sale 3: split payment, voucher 20.00 + cash")
    code = f"V{clock.now():%y%m%d}01"
    vouchers.issue(till.store, code, money("20.00", s), at=clock.now(), expires_on=None)
    till.scan("6900000000113")
    till.scan(label("21", "30001", 2350))  # deli platter priced 23.50 by the label
    till.scan("6900000000168")
    till.pay("voucher", reference=code)
    third = till.pay("cash", money("100.00", s))
    print_receipt(till, third, widths, png_dir=png_dir)

    clock.advance(minutes=18)
    _step("Sale 4 is suspended (customer forgot the wallet); sale 5 goes first; sale 4 resumes")
    till.scan("6900000000069", quantity=6000)
    till.scan("6900000000144")
    till.scan("6900000000182")
    till.void_line(3)
    suspended = till.suspend("顾客取钱包 wallet in car")
    print(f"Suspended sale {suspended[:8]}… ({len(till.suspended())} waiting)")
    clock.advance(minutes=2)
    till.scan("6900000000038")
    till.scan("6900000000045")
    fifth = till.pay("cash", money("10.00", s))
    print_receipt(till, fifth, widths, png_dir=png_dir)
    clock.advance(minutes=4)
    till.resume(suspended)
    supervisor = till.approve("2001", "2468")
    till.discount_line(1, Discount(percent=1500, reason="整箱优惠 case deal"), approver=supervisor)
    fourth = till.pay("cash", money("50.00", s))
    print_receipt(till, fourth, widths, png_dir=png_dir)

    clock.advance(hours=2)
    _step(f"Return against receipt {first['receipt_no']}: one cola, back on the shelf")
    refund = return_with_receipt(till, first["receipt_no"], [(1, 1000)], reason="口味不对 wrong flavour")
    print_receipt(till, refund, widths, original_receipt=first["receipt_no"], png_dir=png_dir)

    clock.advance(minutes=30)
    _step(f"Post-void of receipt {fifth['receipt_no']} with supervisor 2001's PIN")
    void = post_void(till, fifth["receipt_no"], approver=till.approve("2001", "2468"), reason="重复结账 rang up twice")
    print_receipt(till, void, widths, original_receipt=fifth["receipt_no"], png_dir=png_dir)

    clock.advance(hours=6)
    till.sign_out()
    supervisor = till.sign_in("2001", "2468")
    x = till.shifts.x_report(supervisor, at=clock.now())
    counted = x.expected_cash - money("0.50", s)
    report = till.shifts.close(supervisor, counted, at=clock.now())
    _step(f"Z report #{report.z_number}: shift {shift.id[:8]}… closed by {supervisor.name}, counted cash short by 0.50")
    z_paper = shift_report(report, s)
    print(paper(z_paper, widths))
    if png_dir is not None:
        saved = save_pngs(z_paper, f"Z{report.z_number:04d}", widths, png_dir)
        print(f"\nPaper images of every receipt and the Z report: {png_dir} ({len(saved)} for the Z report)")
    till.sign_out()
