"""Digital receipts on the terminal: the head-office link from a real sale's journal entry, on paper and display."""

from __future__ import annotations

import re

import pytest

from appliance.core.returns import post_void, return_with_receipt
from appliance.core.session import State
from appliance.display import escpos_render
from appliance.display.document import Qr
from appliance.display.escpos import to_escpos
from appliance.display.qr import qr_matrix
from appliance.display.receipt import receipt, receipt_context
from appliance.errors import NotFound
from appliance.store import documents, journal
from appliance.store.db import Store
from appliance.sync.receipt_link import KEY_DIGITS, key_for, key_matches, receipt_key, receipt_url
from tests.conftest import COLA, RICE, WATER, make_settings
from tests.test_daemon import prepared, run_daemon, signed_in, until

HQ = "https://ho.example.com/hq"


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, receipt={"digital": True}, sync={"url": HQ + "/"})


def entry_hash(till, kind: str, doc_id: str) -> bytes:
    """The oracle: the hash of the journal entry of this kind that recorded the document."""
    return till.store.conn.execute("SELECT hash FROM journal WHERE kind = ? AND ref = ?", (kind, doc_id)).fetchone()[0]


def qr_links(elements) -> list[str]:
    return [element.data for element in elements if isinstance(element, Qr)]


def printed(till, doc) -> list[str]:
    return qr_links(receipt(doc, till.settings, receipt_context(till, doc)))


def qr_on_paper(data: bytes, link: str) -> list[list[bool]]:
    """The modules of the QR code the printer was sent, read at the centre of each module of `link`'s code."""
    [raster] = [item for item in escpos_render.parse(data).items if isinstance(item, escpos_render.Raster)]
    size = len(qr_matrix(link))
    dot = raster.width // size
    return [[raster.dark(c * dot + dot // 2, r * dot + dot // 2) for c in range(size)] for r in range(size)]


def sell(till, *codes: str) -> dict:
    for code in codes:
        till.scan(code)
    return till.pay("cash", 10000)


def test_the_key_is_the_start_of_the_sales_journal_hash(till):
    doc = sell(till, COLA)
    digest = entry_hash(till, "sale.completed", doc["id"])
    assert journal.verify(till.store.conn).hash == digest  # the chain's head: the entry is the real, verified one
    key = key_for(till.store.conn, doc["receipt_no"])
    assert key == digest.hex()[:24] == receipt_key(digest)
    assert re.fullmatch(r"[0-9a-f]{24}", key) and KEY_DIGITS == 24


def test_the_printed_receipt_carries_the_head_office_link(till):
    doc = sell(till, COLA, WATER)
    link = f"{HQ}/r/T01/{doc['receipt_no']}/{receipt_key(entry_hash(till, 'sale.completed', doc['id']))}"
    assert printed(till, doc) == [link]
    # On paper: the QR code's modules are exactly those of the link.
    data = to_escpos(receipt(doc, till.settings, receipt_context(till, doc)), columns=48, dots=576, chinese=True)
    assert qr_on_paper(data, link) == qr_matrix(link)
    assert "扫码查看电子小票 Scan for your e-receipt" in "\n".join(escpos_render.to_text(data, 48))


def test_without_digital_receipts_no_link_is_printed(tmp_path, till):
    doc = sell(till, COLA)
    plain = make_settings(tmp_path)
    assert qr_links(receipt(doc, plain, receipt_context(till, doc))) == []  # the default: no QR code at all
    own_page = make_settings(tmp_path, receipt={"qr_url": "https://shop.example/{receipt_no}"})
    assert qr_links(receipt(doc, own_page, receipt_context(till, doc))) == [f"https://shop.example/{doc['receipt_no']}"]


def test_a_reprint_gives_the_same_link(till):
    doc = sell(till, COLA)
    first = printed(till, doc)
    sell(till, WATER)  # the chain grows: the sale's own entry, and so its key, stays as it was
    again = documents.load(till.store.conn, receipt_no=doc["receipt_no"])
    assert printed(till, again) == first


def test_a_return_and_a_void_get_links_of_their_own_and_a_cancellation_none(till, supervisor):
    sale = sell(till, COLA, WATER)
    refund = return_with_receipt(till, sale["receipt_no"], [(1, 1000)], reason="test")
    other = sell(till, RICE)
    void = post_void(till, other["receipt_no"], approver=supervisor, reason="test")
    till.scan(COLA)
    cancelled = till.cancel("changed mind")
    links = {}
    for doc, kind in ((sale, "sale.completed"), (refund, "sale.returned"), (void, "sale.voided")):
        [links[kind]] = printed(till, doc)
        assert links[kind] == f"{HQ}/r/T01/{doc['receipt_no']}/{receipt_key(entry_hash(till, kind, doc['id']))}"
    assert len(set(links.values())) == 3
    assert printed(till, cancelled) == []


def test_the_link_quotes_its_parts_so_none_adds_a_path_segment():
    assert receipt_url("https://ho.example.com/", "T01", "T01-000001", "ab" * 12) == \
        "https://ho.example.com/r/T01/T01-000001/" + "ab" * 12
    assert receipt_url("https://ho.example.com", "A/B", "1?x=2", "k") == "https://ho.example.com/r/A%2FB/1%3Fx%3D2/k"


def test_head_office_checks_a_key_against_the_hash_it_holds(till):
    doc = sell(till, COLA)
    digest = entry_hash(till, "sale.completed", doc["id"])
    key = key_for(till.store.conn, doc["receipt_no"])
    assert key_matches(key, digest)
    assert not key_matches(key[:-1] + ("0" if key[-1] != "0" else "1"), digest)
    assert not key_matches(key[:-1], digest) and not key_matches(digest.hex(), digest)
    assert not key_matches("é" * 24, digest)  # whatever a link holds: refused, never an exception
    with pytest.raises(ValueError, match="32 bytes, not 12"):
        receipt_key(digest[:12])


def test_a_receipt_the_store_does_not_hold_has_no_key(till):
    with pytest.raises(NotFound, match="receipt T01-999999 is not in this store"):
        key_for(till.store.conn, "T01-999999")


def test_the_daemon_prints_the_link_and_the_customer_display_points_to_it(tmp_path, settings):
    prepared(settings)

    async def scenario(daemon, systemd):
        keypad, scanner = await signed_in(daemon)
        scanner.scan(WATER)
        await until(lambda: daemon.session.state is State.IN_SALE, "the scan")
        keypad.press("SUBTOTAL", "5", "CASH")
        await until(lambda: daemon.session.state is State.RECEIPT, "the payment")

    daemon, _ = run_daemon(settings, scenario, tmp_path)
    assert daemon.manager.device("display").frames[-1] == ("CHANGE          3.00", " SCAN QR: E-RECEIPT ")
    with Store(settings.database_path) as store:
        sale_id = documents.load(store.conn, receipt_no="T01-000001")["id"]
        digest = store.conn.execute("SELECT hash FROM journal WHERE kind = 'sale.completed' AND ref = ?",
                                    (sale_id,)).fetchone()[0]
    link = f"{HQ}/r/T01/T01-000001/{receipt_key(digest)}"
    assert qr_on_paper(bytes(daemon.manager.device("printer").output), link) == qr_matrix(link)
