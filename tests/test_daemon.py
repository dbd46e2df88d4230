"""The daemon end to end on simulated devices: keypad sign-in, a sale by scanner and keypad, a card sale, systemd."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from appliance.core.clock import ManualClock
from appliance.core.session import State
from appliance.core.till import Till
from appliance.daemon import Daemon
from appliance.sdnotify import Notifier
from appliance.store.db import Store
from tests.conftest import CASHIER, RICE, START, WATER, make_settings, seed
from tests.emv.personalise import card_pse_sda, test_terminal_config

WAIT_S = 10.0


def prepared(settings) -> None:
    """The demo catalog, staff and an open shift in the daemon's database."""
    with Store(settings.database_path) as store:
        till = Till(settings, store, ManualClock(START))
        seed(till)
        till.shifts.open(till.sign_in(*CASHIER), 10000, at=till.clock.now())


class Systemd:
    """A notify socket standing in for systemd: collects what the daemon says."""

    def __init__(self, folder: Path):
        self.path = folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.setblocking(False)
        self.said: list[str] = []

    def read(self) -> list[str]:
        while True:
            try:
                self.said += self.sock.recv(4096).decode().splitlines()
            except BlockingIOError:
                return self.said


async def until(condition, what: str, seconds: float = WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def run_daemon(settings, scenario, tmp_path, **daemon_options):
    systemd = Systemd(tmp_path)
    daemon = Daemon(settings, clock=ManualClock(START), notifier=Notifier({"NOTIFY_SOCKET": str(systemd.path)}),
                    **daemon_options)

    async def main():
        running = asyncio.create_task(daemon.run())
        await until(lambda: "READY=1" in systemd.read(), "READY=1")
        try:
            await scenario(daemon, systemd)
        finally:
            daemon.stop()
            await asyncio.wait_for(running, WAIT_S)

    asyncio.run(main())
    return daemon, systemd


async def signed_in(daemon):
    """The cashier signed in on the keypad; returns the keypad and the scanner."""
    keypad, scanner = daemon.manager.device("keypad"), daemon.manager.device("scanner")
    keypad.press(*CASHIER[0], "ENTER", *CASHIER[1], "ENTER")
    await until(lambda: daemon.session.state is State.IDLE, "sign-in")
    return keypad, scanner


def test_a_sale_by_scanner_and_keypad_only(tmp_path):
    settings = make_settings(tmp_path)
    prepared(settings)

    async def scenario(daemon, systemd):
        keypad, scanner = await signed_in(daemon)
        scanner.scan(RICE)
        await until(lambda: daemon.session.state is State.IN_SALE, "the first scan")
        keypad.press("2", "QTY")
        await until(lambda: daemon.keys.quantity == 2000, "the quantity key")  # a cashier scans after pressing it
        scanner.scan(WATER)
        await until(lambda: daemon.till.sale is not None and len(daemon.till.sale.lines) == 2, "the second scan")
        done = []
        daemon.results.append(lambda result: result.document and done.append(result))
        keypad.press("SUBTOTAL", "1", "0", "0", "CASH")
        await until(lambda: done, "the payment's result")

    daemon, systemd = run_daemon(settings, scenario, tmp_path)
    frames = daemon.manager.device("display").frames
    assert any("39.90" in frame[0] for frame in frames)  # the rice, as scanned
    assert frames[-1][0].startswith("找零") or frames[-1][0].startswith("CHANGE")
    printed = bytes(daemon.manager.device("printer").output)
    assert b"T01-000001" in printed
    patterns = [p for _, p in daemon.manager.device("indicator").history]
    assert "ok" in patterns and "error" not in patterns
    said = systemd.read()
    assert said.index("READY=1") < said.index("STOPPING=1") and "WATCHDOG=1" in said
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT count(*) FROM sales WHERE kind = 'sale'") == 1
        assert store.scalar("SELECT sum(quantity) FROM sale_lines") == 3000


def test_inputs_that_make_no_sense_are_refused_with_an_error_signal(tmp_path):
    settings = make_settings(tmp_path)
    prepared(settings)

    async def scenario(daemon, systemd):
        results = []
        daemon.results.append(results.append)
        daemon.manager.device("scanner").scan(RICE)  # locked: nobody signed in
        await until(lambda: results, "the refusal")
        assert not results[0].ok and "sign in first" in results[0].message

    daemon, _ = run_daemon(settings, scenario, tmp_path)
    assert [p for _, p in daemon.manager.device("indicator").history][-1] == "error"


def test_a_card_sale_through_the_simulated_reader(tmp_path, bank):
    settings = make_settings(tmp_path, payments={"host": f"tcp://{bank.host}:{bank.port}"})
    prepared(settings)

    async def scenario(daemon, systemd):
        daemon.till.tenders["card"].emv = test_terminal_config()  # the test CA, for our emulated card
        keypad, scanner = await signed_in(daemon)
        scanner.scan(RICE)
        await until(lambda: daemon.session.state is State.IN_SALE, "the scan")
        keypad.press("SUBTOTAL", "CARD")
        await until(lambda: daemon.pinpad.waiting, "the reader's prompt")
        assert "INSERT" in " ".join(daemon.manager.device("display").current) or \
            "插卡" in " ".join(daemon.manager.device("display").current)
        scanner.scan(WATER)  # a scan while the card is being read: refused, not lost in the next sale
        done = []
        daemon.results.append(lambda result: result.document and done.append(result))
        daemon.manager.device("card_reader").insert(card_pse_sda())
        await until(lambda: done, "the card payment's result")

    daemon, _ = run_daemon(settings, scenario, tmp_path)
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT count(*) FROM card_auths WHERE decision = 'approved'") == 1
        assert store.scalar("SELECT count(*) FROM sale_lines") == 1
    assert bank.ledger.entries[-1].response_code == "00"


def test_a_restarted_daemon_resumes_the_sale_in_progress(tmp_path):
    settings = make_settings(tmp_path)
    prepared(settings)

    async def first(daemon, systemd):
        keypad, scanner = await signed_in(daemon)
        scanner.scan(RICE)
        scanner.scan(WATER)
        await until(lambda: daemon.till.sale is not None and len(daemon.till.sale.lines) == 2, "two scans")
        keypad.press("SUBTOTAL", "1", "0", "CASH")
        await until(lambda: daemon.till.sale.payments, "a partial cash payment")

    (tmp_path / "a").mkdir()
    run_daemon(settings, first, tmp_path / "a")

    async def second(daemon, systemd):
        results = []
        daemon.results.append(results.append)
        keypad = daemon.manager.device("keypad")
        assert daemon.till.sale is not None and len(daemon.till.sale.lines) == 2
        assert [p.amount for p in daemon.till.sale.payments] == [1000]
        keypad.press(*CASHIER[0], "ENTER", *CASHIER[1], "ENTER")
        await until(lambda: daemon.session.state is State.IN_SALE, "sign-in back into the sale")
        keypad.press("SUBTOTAL", "CASH")
        await until(lambda: any(r.document for r in results), "the rest paid")

    (tmp_path / "b").mkdir()
    run_daemon(settings, second, tmp_path / "b")
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT count(*) FROM sales WHERE kind = 'sale'") == 1
        assert store.scalar("SELECT group_concat(amount) FROM payments") == "1000,3190"  # 41.90 - 10.00


def test_a_card_sale_through_pcscd_and_an_emulated_card(tmp_path, bank, vpcd):
    kinds = ("scanner", "keypad", "stripe_reader", "scale", "printer", "drawer", "display", "indicator")
    devices = {kind: {"address": f"sim://{kind}"} for kind in kinds}
    devices["card_reader"] = {"address": f"pcsc://{vpcd.reader}"}  # the real PC/SC stack
    settings = make_settings(tmp_path, payments={"host": f"tcp://{bank.host}:{bank.port}"}, devices=devices)
    prepared(settings)

    async def scenario(daemon, systemd):
        daemon.till.tenders["card"].emv = test_terminal_config()
        keypad, scanner = await signed_in(daemon)
        scanner.scan(RICE)
        await until(lambda: daemon.session.state is State.IN_SALE, "the scan")
        done = []
        daemon.results.append(lambda result: result.document and done.append(result))
        keypad.press("SUBTOTAL", "CARD")
        await until(lambda: daemon.pinpad.waiting, "the reader's prompt")
        await asyncio.get_running_loop().run_in_executor(None, vpcd.insert, card_pse_sda())
        await until(lambda: done, "the card payment's result")

    run_daemon(settings, scenario, tmp_path)
    with Store(settings.database_path) as store:
        assert store.conn.execute("SELECT interface, decision FROM card_auths").fetchall() == [("contact", "approved")]


def test_wallet_payments_customer_and_merchant_presented(tmp_path):
    settings = make_settings(tmp_path, payments={"wallet": "sim://wallet"})
    prepared(settings)

    async def scenario(daemon, systemd):
        keypad, scanner = await signed_in(daemon)
        done = []
        daemon.results.append(lambda result: result.document and done.append(result))
        scanner.scan(WATER)
        await until(lambda: daemon.session.state is State.IN_SALE, "the scan")
        keypad.press("SUBTOTAL", *"283456789012345678", "WALLET")  # the code on the shopper's phone
        await until(lambda: len(done) == 1, "the customer-presented payment")
        keypad.press("DONE")
        await until(lambda: daemon.session.state is State.IDLE, "the next customer")
        scanner.scan(RICE)
        await until(lambda: daemon.session.state is State.IN_SALE, "the second scan")
        keypad.press("SUBTOTAL", "WALLET")  # no code: the till presents a QR
        provider = daemon.wallet_provider
        await until(lambda: any(o.status == "pending" for o in provider.orders.values()), "the QR order")
        assert "SCAN QR" in daemon.manager.device("display").current[0]
        order_no = next(no for no, order in provider.orders.items() if order.status == "pending")
        printer = daemon.manager.device("printer")  # the QR slip (the QR is a raster), printed after the display
        await until(lambda: b"Scan to pay" in bytes(printer.output), "the QR slip")
        provider.scan(order_no)  # the shopper's phone pays it
        await until(lambda: len(done) == 2, "the merchant-presented payment")

    daemon, _ = run_daemon(settings, scenario, tmp_path)
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT count(*) FROM wallet_payments") == 2


def test_the_daemon_delivers_its_journal_to_head_office(tmp_path):
    from appliance.sync.client import enroll
    from tests.hq_server import Server

    import json

    from hq import feeds

    hq = Server(tmp_path / "hq.sqlite")
    try:
        enroll(hq.url, hq.storage.new_enrollment_code(), "T01", tmp_path / "device.secret")
        hq.storage.publish("promotions", "", feeds.promotion_items(json.dumps([{
            "id": "HQ-WATER", "kind": "multi_price", "name": "两瓶3元", "params": {"skus": ["WATER550"], "n": 2,
                                                                                 "price": 300}}])))
        hq.storage.publish("catalog", "", feeds.catalog_items("sku,name,unit,price\nHQ1,总部新品,piece,9.90\n"))
        settings = make_settings(tmp_path, sync={"url": hq.url, "device_secret_file": "device.secret",
                                                 "batch_max_events": 1})
        prepared(settings)

        def held() -> int:
            return hq.status("T01")[1]["last_seq"]

        async def scenario(daemon, systemd):
            keypad, scanner = await signed_in(daemon)
            scanner.scan(RICE)
            await until(lambda: daemon.session.state is State.IN_SALE, "the scan")
            keypad.press("SUBTOTAL", "CASH")
            await until(lambda: daemon.session.state is State.RECEIPT, "the sale")
            journal = daemon.store.scalar("SELECT max(seq) FROM journal")
            await until(lambda: held() == journal, "head office holding the whole journal", seconds=30)
            # The feeds came down: the new product sells, the new promotion is in the till's memory.
            await until(lambda: any(p.id == "HQ-WATER" for p in daemon.till.promotions), "the promotion", seconds=30)
            assert daemon.till.catalog.by_sku("HQ1").name == "总部新品"

        run_daemon(settings, scenario, tmp_path)
        assert hq.status("T01")[1]["problems"] == []
    finally:
        hq.stop()
