"""`appliance card queue|send|batch` and the card batch printed with the Z report, against the reference acquirer."""

from __future__ import annotations

import io
import sys
from datetime import datetime

import pytest

from appliance import config
from appliance.core.clock import ManualClock
from appliance.emv.model import AidConfig
from appliance.store.db import Store
from tests.card_till import Bank, Counter, card_till, chip
from tests.conftest import RICE, SUPERVISOR, ZONE
from tests.emv.personalise import MASTERCARD_AID, VISA_AID, card_pse_sda, test_terminal_config
from tests.test_cli import Cli, write_config


@pytest.fixture
def shop(tmp_path, monkeypatch, capsys, bank) -> Cli:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "seal.pem").write_bytes(bank.public_key)
    path = write_config(tmp_path / "etc", f'[payments]\nhost = "tcp://{bank.host}:{bank.port}"\nseal_key = "seal.pem"\n'
                                          "offline_limit = 10000\n")
    return Cli(path, monkeypatch, capsys)


def pay_by_card(shop: Cli, bank: Bank, cards: int) -> None:
    settings = config.load(shop.config)
    emv = test_terminal_config(aids=(AidConfig(VISA_AID, "VISA", tac_default=bytes(5)),
                                     AidConfig(MASTERCARD_AID, "MASTERCARD", tac_default=bytes(5))))
    with Store(settings.database_path) as store:
        counter = Counter()
        till = card_till(settings, store, ManualClock(datetime.now(ZONE)), bank, counter, emv=emv)
        for _ in range(cards):
            counter.cards.append(chip(card_pse_sda()))
            till.scan(RICE)
            till.pay("card")


def test_queue_send_and_batch(shop, bank):
    bank.down()
    pay_by_card(shop, bank, 1)  # the bank is down: approved offline
    queued = shop("card", "queue")
    assert queued.code == 0 and "offline payments waiting: 1 (39.90)" in queued.out
    assert "Offline payments at risk" in queued.out
    refused = shop("card", "send")
    assert refused.code == 1 and "cannot connect" in refused.err
    batch = shop("card", "batch")
    assert batch.code == 1 and "not yet received 1 offline payment" in batch.err
    bank.up()
    waiting = shop("card", "send")
    # The failed try set a backoff: sending again at once finds nothing due yet, and says what still waits.
    assert waiting.code == 0 and "sent 0; still waiting: 0 reversal(s), 1 offline payment(s)" in waiting.out
    shop.query("UPDATE host_queue SET next_attempt_at = '2000-01-01T00:00:00.000Z'")  # the backoff has passed
    sent = shop("card", "send")
    assert sent.code == 0 and "sent 1; still waiting: 0 reversal(s), 0 offline payment(s)" in sent.out
    assert bank.ledger.entries[-1].kind == "advice"


def test_shift_close_prints_the_card_batch_under_the_z_report(shop, bank):
    pay_by_card(shop, bank, 2)
    closed = shop("shift", "close", "--operator", SUPERVISOR[0], "--counted", "0", pin=SUPERVISOR[1])
    assert closed.code == 0, closed.err
    assert "Z REPORT" in closed.out and "CARD BATCH #1" in closed.out and "79.80" in closed.out
    assert "in balance" in closed.out
    assert shop.query("SELECT count(*) FROM card_auths WHERE batch = 1") == [(2,)]


def test_a_card_command_without_an_acquirer_says_so(tmp_path, monkeypatch, capsys):
    cli = Cli(write_config(tmp_path / "etc"), monkeypatch, capsys)
    cli("shift", "x", "--operator", "x")  # creates nothing useful; the store must exist for `card send`
    result = cli("card", "send")
    assert result.code == 2 and "[payments] host" in result.err
