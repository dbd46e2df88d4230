"""The terminal's sync client against the real head office: enrol, sell, drain, resend; every event once, chain whole."""

from __future__ import annotations

from appliance.core.clock import iso
from appliance.sync.client import enroll, read_secret
from appliance.sync.drain import Target, drain
from appliance.sync.outbox import SyncState
from tests.conftest import RICE, WATER


def sell(till, *codes: str) -> None:
    for code in codes:
        till.scan(code)
    till.pay("cash")


def test_a_terminal_enrols_and_delivers_its_journal_to_head_office_exactly_once(tmp_path, hq, till, store, clock):
    secret_file = tmp_path / "device.secret"
    enroll(hq.url, hq.storage.new_enrollment_code(), "T01", secret_file)
    sell(till, RICE, WATER)
    sell(till, WATER)
    target = Target(hq.url, "T01", read_secret(secret_file), batch_max_events=3, timeout_s=5)
    state = SyncState.beside(tmp_path / "appliance.db")
    result = drain(store, state, target, now=lambda: iso(clock.now()))
    journal = store.scalar("SELECT max(seq) FROM journal")
    assert result.error is None and result.sent == journal and result.batches >= 2
    held = hq.storage.query("SELECT count(*), count(DISTINCT seq), max(seq) FROM events WHERE device = 'T01'")
    assert held == [(journal, journal, journal)] and hq.storage.query("SELECT count(*) FROM chain_problems") == [(0,)]
    # Everything is confirmed: unmark it as if the answers had been lost, and send again.
    store.conn.execute("UPDATE outbox SET sent_at = NULL")
    again = drain(store, state, target, now=lambda: iso(clock.now()))
    assert again.error is None and again.sent == journal
    assert hq.storage.query("SELECT count(*) FROM events") == [(journal,)]  # nothing twice
    status, answer = hq.status("T01")
    assert status == 200 and answer["last_seq"] == journal and answer["problems"] == []


def test_the_cli_enrols_and_sends_to_head_office(tmp_path, hq, monkeypatch, capsys):
    import io
    import sys

    from tests.test_cli import CASHIER, Cli, write_config

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    cli = Cli(write_config(tmp_path / "etc", f'[sync]\nurl = "{hq.url}"\ndevice_secret_file = "device.secret"\n'),
              monkeypatch, capsys)
    assert cli("sync", "enroll", "--code", "not-a-code").code == 1
    enrolled = cli("sync", "enroll", "--code", hq.storage.new_enrollment_code())
    assert enrolled.code == 0, enrolled.err
    assert "enrolled" in enrolled.out and (tmp_path / "etc" / "device.secret").stat().st_mode & 0o777 == 0o600
    added = cli("operator", "add", "--code", CASHIER[0], "--name", "Boss", "--role", "manager", new_pin=CASHIER[1])
    assert added.code == 0
    sent = cli("sync", "now")
    assert sent.code == 0, sent.err
    journal = cli.query("SELECT max(seq) FROM journal")[0][0]
    assert hq.status("T01")[1]["last_seq"] == journal


def test_the_receipt_qr_opens_the_receipt_page_once_the_sale_is_at_head_office(tmp_path, hq, till, store, clock):
    import urllib.error
    import urllib.request

    from appliance.display.receipt import e_receipt_link
    from tests.conftest import make_settings

    secret_file = tmp_path / "device.secret"
    enroll(hq.url, hq.storage.new_enrollment_code("shop-1"), "T01", secret_file)
    till.scan(RICE)
    doc = till.pay("cash")
    number = doc["receipt_no"]
    settings = make_settings(tmp_path, receipt={"digital": True}, sync={"url": hq.url})
    link = e_receipt_link(store.conn, settings, doc)
    assert link.startswith(f"{hq.url}/r/T01/{number}/")

    def fetch(url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    status, page = fetch(link)
    assert status == 404 and "will appear" in page  # not sent yet: the customer is told to wait
    target = Target(hq.url, "T01", read_secret(secret_file), batch_max_events=50, timeout_s=5)
    assert drain(store, SyncState.beside(tmp_path / "appliance.db"), target, now=lambda: iso(clock.now())).error is None
    status, page = fetch(link)
    assert status == 200 and number in page and doc["lines"][0]["name"] in page
    wrong_key = fetch(link[:-1] + ("0" if link[-1] != "0" else "1"))
    assert wrong_key[0] == 404 and "will appear" in wrong_key[1]  # as if not sent: nothing learnt
