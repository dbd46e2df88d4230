"""The operator console through textual's pilot, on a real daemon with simulated devices: keys, dialogs, screens."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import pytest

from appliance.core import delivery_orders, members
from appliance.core.session import State
from appliance.display.console import ConsoleApp
from appliance.display.console.app import quick_amounts
from appliance.display.console.screens import KeypadDialog
from appliance.display.qr import half_blocks, qr_matrix
from appliance.store.db import Store
from appliance.sync import apply_orders
from appliance.sync.feeds import Item
from appliance.sync.receipt_link import key_for
from tests.conftest import CASHIER, RICE, START, SUPERVISOR, WATER, make_settings
from tests.test_daemon import prepared, run_daemon, until

PHONE = "13800138000"


def screen_text(app: ConsoleApp) -> str:
    """The screen as text, row by row, from the SVG screenshot (what a snapshot shows, without the pixels)."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for css, x, y, text in re.findall(r'<text class="([^"]*)" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        if "title" not in css:
            rows.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    return "\n".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(rows.items()))


def console(settings, tmp_path, scenario, *, size=(80, 24), **options):
    """Run `scenario(app, pilot, daemon)` with the console on a running daemon."""

    async def with_console(daemon, systemd):
        async def drain():  # a datagram queue left unread blocks the daemon's next sd_notify
            while True:
                systemd.read()
                await asyncio.sleep(0.05)

        draining = asyncio.create_task(drain())
        app = ConsoleApp(daemon, **{"language": "en", **options})
        try:
            async with app.run_test(size=size) as pilot:
                await scenario(app, pilot, daemon)
                await app.settled()
        finally:
            draining.cancel()

    return run_daemon(settings, with_console, tmp_path)


async def keys(app, pilot, *names: str) -> None:
    """Press keyboard keys and wait until the daemon has acted on them."""
    for name in names:
        await pilot.press(name)
        await app.settled()
    await pilot.pause()


async def sign_in(app, pilot, daemon) -> None:
    await keys(app, pilot, *CASHIER[0], "enter", *CASHIER[1], "enter")
    await until(lambda: daemon.session.state is State.IDLE, "sign-in from the console")


async def two_items(app, pilot, daemon) -> None:
    await sign_in(app, pilot, daemon)
    daemon.manager.device("scanner").scan(RICE)
    daemon.manager.device("scanner").scan(WATER)
    await until(lambda: daemon.till.sale is not None and len(daemon.till.sale.lines) == 2, "two scans")
    await pilot.pause()


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path, api={"enabled": False})
    prepared(settings)
    return settings


def test_the_sale_screen_shows_the_cart_totals_member_and_state(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        seen["text"] = screen_text(app)

    console(settings, tmp_path, scenario)
    text = seen["text"]
    assert "Operator: Cashier | in sale" in text
    assert re.search(r"1 东北大米 5kg\s+1\s+39\.90", text)
    assert re.search(r"2 农夫山泉 550ml\s+1\s+2\.00", text)
    assert "Total 41.90  Saved 0.00  Member: none" in text
    assert "Printer: ok" in text


def test_a_sale_by_console_keys_alone_with_a_split_cash_payment_and_a_quick_amount(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await sign_in(app, pilot, daemon)
        await keys(app, pilot, "2", "asterisk")  # 2, QTY on the numeric block
        daemon.manager.device("scanner").scan(WATER)
        await until(lambda: daemon.till.sale is not None, "the scan")
        await keys(app, pilot, "plus")  # SUBTOTAL
        assert daemon.session.state is State.TENDERING
        seen["tender"] = screen_text(app)
        await keys(app, pilot, "1", ".", "5", "f5")  # 1.50 cash: a part payment
        assert [p.amount for p in daemon.till.sale.payments] == [150]
        await keys(app, pilot, "f1")
        seen["menu"] = screen_text(app)
        await keys(app, pilot, "2", "enter")  # the next 10 up: 10.00
        await until(lambda: daemon.session.state is State.RECEIPT, "the sale paid")
        seen["after"] = screen_text(app)

    daemon, _ = console(settings, tmp_path, scenario)
    assert "Payment: To pay 4.00  Paid 0.00" in seen["tender"]
    assert "Quick cash (MENU): 1. exact 4.00  2. 10.00  3. 50.00  4. 100.00" in seen["tender"]
    assert "1. Cash, exact 2.50" in seen["menu"] and "2. Cash 10.00" in seen["menu"]
    assert "change 7.50" in seen["after"]
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT sum(quantity) FROM sale_lines") == 2000
        assert store.scalar("SELECT group_concat(amount) FROM payments") == "150,250"  # the 10.00 note paid the 2.50 left, 7.50 back


def test_a_refusal_is_shown_in_red_and_the_pin_is_never_shown(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await keys(app, pilot, *CASHIER[0], "enter", "1", "2")
        seen["entry"] = screen_text(app)
        await keys(app, pilot, "escape", "escape")  # CLEAR the PIN, then CLEAR again: "back" is refused when locked
        seen["message"] = app.sale_screen.query_one("#message")

    console(settings, tmp_path, scenario)
    assert "Entry: **_" in seen["entry"] and "Entry: 12" not in seen["entry"]
    assert seen["message"].has_class("refused")
    assert "sign in first" in str(seen["message"].render())


def test_the_status_bar_shows_the_printer_out_of_paper(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        daemon.manager.device("printer").paper = "out"
        await app.refresh_status()
        await pilot.pause()
        seen["text"] = screen_text(app)
        seen["alarm"] = app.sale_screen.query_one("#status").has_class("alarm")

    console(settings, tmp_path, scenario)
    assert "Printer: PAPER OUT | Reader: ok | Net: no host | Uploads: " in seen["text"]
    assert seen["alarm"]


def test_the_status_bar_tells_the_operator_when_head_office_is_behind_or_failing(tmp_path):
    from appliance.sync.outbox import SyncState

    # A head office that does not answer, and an alert threshold the seeded journal already passes.
    settings = make_settings(tmp_path, api={"enabled": False},
                             sync={"url": "http://127.0.0.1:9", "outbox_alert": 5})  # fmt: skip
    prepared(settings)
    state = SyncState.beside(settings.database_path)
    seen = {}

    async def scenario(app, pilot, daemon):
        state.success("2026-11-24T08:00:00+00:00", 3)
        state.error("2026-11-24T09:30:00+00:00", "head office did not answer: connection refused")
        await app.refresh_status()
        await pilot.pause()
        seen["behind"] = screen_text(app)
        app.daemon.settings = make_settings(tmp_path, api={"enabled": False},
                                            sync={"url": "http://127.0.0.1:9", "outbox_alert": 10**6})
        await app.refresh_status()
        await pilot.pause()
        seen["failing"] = screen_text(app)

    console(settings, tmp_path, scenario, size=(120, 24))
    assert re.search(r"\d+ events wait for head office \(alert at 5\): check the network; selling goes on",
                     seen["behind"])  # fmt: skip
    assert "Head office sync failing (last success 2026-11-24 08:00): head office did not answer" in seen["failing"]


def power_supply(folder: Path, capacity: str, status: str) -> Path:
    (folder / "AC").mkdir(parents=True)
    (folder / "AC" / "type").write_text("Mains\n")
    battery = folder / "BAT0"
    battery.mkdir()
    (battery / "type").write_text("Battery\n")
    (battery / "capacity").write_text(f"{capacity}\n")
    (battery / "status").write_text(f"{status}\n")
    return folder


def test_the_portable_layout_shows_the_battery_and_the_transactions_waiting(settings, tmp_path):
    seen = {}
    supplies = power_supply(tmp_path / "power", "42", "Charging")

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        await keys(app, pilot, "f4")
        await app.refresh_status()
        await pilot.pause()
        seen["text"] = screen_text(app)
        with Store(settings.database_path) as store:
            seen["waiting"] = store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")

    console(settings, tmp_path, scenario, size=(40, 20), language="zh", profile="portable", power_supply=supplies)
    text = seen["text"]
    assert seen["waiting"] > 0
    assert f"离线: {seen['waiting']} 笔待传" in text
    assert "电量 42% 充电中" in text
    assert "无钱箱: 现金收入收款袋" in text and "现金快捷" not in text  # no drawer: no quick cash amounts
    assert "付款中" in text


def test_a_delivery_order_is_loaded_by_its_barcode_and_marked_paid(settings, tmp_path):
    with Store(settings.database_path) as store, store.atomic():
        apply_orders.apply(store, settings, [Item("1001", 1, {"order_no": "1001", "total": 600, "paid": False,
                                                              "items": [{"sku": "WATER550", "qty": 3}]})], "2026-11-24")
    results = []

    def paid() -> list:
        with Store(settings.database_path) as store:
            return [(o.paid, o.receipt_no) for o in delivery_orders.orders(store.conn)]

    async def scenario(app, pilot, daemon):
        daemon.results.append(results.append)
        await sign_in(app, pilot, daemon)
        daemon.manager.device("scanner").scan("ORD1001")
        await until(lambda: app.order is not None, "the order loaded")
        assert [(l.sku, l.quantity) for l in daemon.till.sale.lines] == [("WATER550", 3000)]
        assert "Delivery order 1001: 6.00" in screen_text(app)
        await keys(app, pilot, "f4", "f5")
        await until(lambda: paid() == [(True, "T01-000001")], "the order marked paid")
        daemon.manager.device("scanner").scan("ORD1001")
        await until(lambda: "already paid" in app.message, "the second scan refused")

    console(settings, tmp_path, scenario, profile="portable", size=(40, 20))
    assert not any("ORD1001" in r.message and "no product" in r.message for r in results)


def test_a_return_through_the_menu_refunds_the_chosen_line(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        await keys(app, pilot, "f4", "f5", "f12")  # exact cash, done
        await until(lambda: daemon.session.state is State.IDLE, "the sale done")
        await keys(app, pilot, "slash", "1", "enter", "1", "enter")  # menu, returns, receipt 1 of this till
        seen["dialog"] = screen_text(app)
        await keys(app, pilot, "2", "enter", "f4")  # line 2 (the water), refund
        await until(lambda: not isinstance(app.screen, KeypadDialog), "the dialog closed")
        seen["after"] = screen_text(app)

    console(settings, tmp_path, scenario)
    assert "T01-000001" in seen["dialog"] and "2. 农夫山泉 550ml  left 1" in seen["dialog"]
    assert "T01-000002: refunded 2.00" in seen["after"]
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT group_concat(sku) FROM sale_lines l JOIN sales s ON s.id = l.sale_id "
                            "WHERE s.kind = 'return'") == "WATER550"


def test_member_lookup_by_phone_digits_attaches_the_member(settings, tmp_path):
    with Store(settings.database_path) as store:
        members.add(store, PHONE, "Li Lei", at=START)

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        await keys(app, pilot, "f1", "2", "enter", *PHONE[-4:], "enter")
        assert "1. Li Lei  138****8000" in screen_text(app)
        await keys(app, pilot, "1", "enter")
        await until(lambda: daemon.till.sale is not None and daemon.till.sale.member_name == "Li Lei", "the member")
        await pilot.pause()
        assert "Member: Li Lei" in screen_text(app)

    console(settings, tmp_path, scenario)


def test_suspend_and_resume_from_the_list(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        await keys(app, pilot, "f10")
        assert daemon.session.state is State.IDLE and daemon.till.sale is None
        await keys(app, pilot, "f1", "3", "enter")
        seen["list"] = screen_text(app)
        await keys(app, pilot, "1", "enter")
        await until(lambda: daemon.session.state is State.IN_SALE, "the sale resumed")
        seen["lines"] = len(daemon.till.sale.lines)

    console(settings, tmp_path, scenario)
    assert re.search(r"1\. 2 items  41\.90", seen["list"])
    assert seen["lines"] == 2


def test_x_report_z_close_and_a_new_shift_from_the_menu(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await sign_in(app, pilot, daemon)
        await keys(app, pilot, "f1", "5", "enter")
        await until(lambda: isinstance(app.screen, KeypadDialog), "the X report")
        seen["x"] = screen_text(app)
        await keys(app, pilot, "enter", "f1", "6", "enter", "1", "0", "0", "enter")
        await until(lambda: daemon.session.state is State.OVERRIDE, "the supervisor asked for")
        await keys(app, pilot, *SUPERVISOR[0], "enter", *SUPERVISOR[1], "enter")  # approval on the same keys
        await until(lambda: daemon.till.shifts.current() is None, "the Z close")
        await until(lambda: isinstance(app.screen, KeypadDialog), "the Z report")
        seen["z"] = screen_text(app)
        await keys(app, pilot, "escape", "f1", "4", "enter", "5", "0", "enter")
        await until(lambda: daemon.till.shifts.current() is not None, "the new shift")
        seen["float"] = daemon.till.shifts.current().opening_float

    console(settings, tmp_path, scenario, size=(80, 60))
    assert "X 报表 X REPORT" in seen["x"]
    assert "Z 报表 Z REPORT #1" in seen["z"]
    assert seen["float"] == 5000


def test_chinese_labels_by_configuration(tmp_path):
    settings = make_settings(tmp_path, console={"language": "zh"}, api={"enabled": False})
    prepared(settings)
    seen = {}

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        seen["text"] = screen_text(app)

    console(settings, tmp_path, scenario, language=None)
    assert "收银员: Cashier | 销售中" in seen["text"] and "合计 41.90" in seen["text"]


@pytest.mark.parametrize(("due", "expected"), [
    (4190, [4190, 5000, 10000]),  # 50 is also the next 10 up: listed once
    (5000, [5000, 10000]),
    (12, [12, 1000, 5000, 10000]),
])
def test_quick_amounts_are_exact_then_the_next_notes_up(due, expected):
    assert quick_amounts(due, 2) == expected


def test_the_console_and_the_keypad_share_one_entry(settings, tmp_path):
    async def scenario(app, pilot, daemon):
        await sign_in(app, pilot, daemon)
        await keys(app, pilot, "3")  # typed on the console...
        daemon.manager.device("keypad").press("QTY")  # ...completed on the keypad
        await until(lambda: daemon.keys.quantity == 3000, "the keypad's QTY")
        daemon.manager.device("scanner").scan(WATER)
        await until(lambda: daemon.till.sale is not None, "the scan")
        assert daemon.till.sale.lines[0].quantity == 3000

    console(settings, tmp_path, scenario)


def test_the_physical_keypad_opens_the_menu_and_works_its_dialogs(settings, tmp_path):
    seen = {}

    async def scenario(app, pilot, daemon):
        await two_items(app, pilot, daemon)
        keypad = daemon.manager.device("keypad")
        keypad.press("SUSPEND")
        await until(lambda: daemon.session.state is State.IDLE, "the sale suspended from the keypad")
        keypad.press("MENU")
        await until(lambda: "Menu" in screen_text(app), "the menu opened by the keypad's MENU key")
        keypad.press("3", "ENTER")  # resume a suspended sale
        await until(lambda: "2 items" in screen_text(app), "the suspended list")
        keypad.press("1", "ENTER")
        await until(lambda: daemon.session.state is State.IN_SALE, "the sale resumed from the keypad")
        seen["lines"] = len(daemon.till.sale.lines)

    console(settings, tmp_path, scenario)
    assert seen["lines"] == 2


def test_with_digital_receipts_the_finished_sale_shows_its_qr_code(tmp_path):
    settings = make_settings(tmp_path, api={"enabled": False}, receipt={"digital": True},
                             sync={"url": "https://ho.example.com"})
    prepared(settings)
    seen = {}

    async def scenario(app, pilot, daemon):
        await sign_in(app, pilot, daemon)
        daemon.manager.device("scanner").scan(WATER)
        await until(lambda: daemon.till.sale is not None, "the scan")
        await keys(app, pilot, "plus", "f5")  # SUBTOTAL, CASH exactly
        await until(lambda: daemon.session.state is State.RECEIPT, "the sale paid")
        seen["paid"] = screen_text(app)
        seen["link"] = app.e_receipt
        await keys(app, pilot, "f12")  # DONE: the next customer must not scan this one's receipt
        seen["done"] = screen_text(app)

    console(settings, tmp_path, scenario, size=(100, 34))  # a QR code of up to 45 x 45 modules and its caption
    link = seen["link"]
    with Store(settings.database_path) as store:
        assert link == "https://ho.example.com/r/T01/T01-000001/" + key_for(store.conn, "T01-000001")
    assert "Customer: scan for the e-receipt" in seen["paid"]
    drawn = [line.strip() for line in seen["paid"].splitlines() if {"▀", "▄", "█"} & set(line)]
    assert drawn == [row.strip() for row in half_blocks(qr_matrix(link)) if row.strip()]  # the printed code's modules
    assert "▀" not in seen["done"] and "no sale" in seen["done"]
