"""No full PAN, track data or PIN block at rest: every card flow runs, then every byte the till wrote is searched.

The flows cover each interface and each path that writes something: chip approved
online with online and offline PIN, tap (both kernels), swipe, bank decline, no answer
(reversal), card pulled after approval, offline approval (sealed advice) uploaded and
declined later, refund, post-void, batch close. Everything runs with DEBUG logging into
a file beside the database; afterwards the data folder (database, WAL, logs, printed
receipts, the acquirer's ledger) is searched for each test PAN in every encoding a
careless line of code could write: ASCII digits, BCD, track 2 text and the chip's 57.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.display.receipt import receipt_context
from appliance.core import card_batch, host_queue
from appliance.core.clock import ManualClock
from appliance.core.returns import post_void, return_with_receipt
from appliance.display.document import render_text
from appliance.display.escpos import to_escpos
from appliance.display.receipt import receipt
from appliance.emv.model import AidConfig
from appliance.errors import DomainError
from appliance.store.db import Store
from tests.card_till import Bank, Counter, card_till, chip, swipe, tap
from tests.conftest import RICE, START, SUPERVISOR, WATER, make_settings
from tests.emv import keys
from tests.emv.contactless_cards import MastercardCard, VisaCard, tap_config
from tests.emv.personalise import (MASTERCARD_AID, VISA_AID, card_declined, card_no_pse_dda_offline_pin,
                                   card_online_pin, card_pse_sda)

TEST_PANS = (keys.APPROVE, keys.DECLINE, keys.REFERRAL, keys.MASTERCARD, keys.EXPIRED, keys.PIN_BLOCKED)
SWIPED = b";4761739001010119=29121010000000000000?"


def forms(pan: str) -> list[bytes]:
    """Every way a PAN or its track could land in a file."""
    bcd = bytes.fromhex(pan + "F" * (len(pan) % 2))
    return [pan.encode(), bcd, f"{pan}=".encode(), f"{pan}D".encode(), pan.encode("utf-16-le"),
            pan[6:].encode()]  # the hidden middle digits with the last four would betray the mask too


def run_every_flow(folder: Path, bank: Bank) -> tuple[list[str], bytes]:
    """All the card flows, each writing what it would in a shop; returns the receipts as text and printer bytes."""
    settings = make_settings(folder, payments={"tips": "prompt", "offline_limit": 10000, "fallback_to_swipe": True})
    printed: list[str] = []
    printer = bytearray()
    offline_capable = tap_config(aids=(AidConfig(VISA_AID, "VISA", tac_default=bytes(5), contactless_limit=100_000),
                                       AidConfig(MASTERCARD_AID, "MASTERCARD", contactless_limit=100_000)))
    with Store(settings.database_path) as store:
        clock = ManualClock(START)
        counter = Counter()
        till = card_till(settings, store, clock, bank, counter, emv=offline_capable, timeout=0.3)

        def sale(card, *, pins=(), tip=0, barcode=RICE):
            counter.cards.append(card)
            counter.pins.extend(pins)
            counter.tips.append(tip)
            till.scan(barcode)
            doc = till.pay("card")
            keep(doc)
            return doc

        def keep(doc):
            elements = receipt(doc, settings, receipt_context(till, doc))
            printed.append("\n".join(render_text(elements, 48)))
            printer.extend(to_escpos(elements, columns=48, dots=576, chinese=True))

        def refused(card, **options):
            with pytest.raises(DomainError):
                sale(card, **options)
            till.cancel("card refused")

        first = sale(chip(card_no_pse_dda_offline_pin()), pins=["1234"], tip=200)
        sale(chip(card_online_pin()), pins=["1234"])
        sale(tap(VisaCard()))
        sale(tap(MastercardCard()))
        refused(chip(card_declined()))
        refused(swipe(b";4761739001010119=29122010000000000000?"))  # chip card swiped: use the chip
        sale(swipe(SWIPED), barcode=WATER)
        bank.server.set_faults(slow=1.0, fail_next=1)
        refused(chip(card_pse_sda()))  # no answer: reversal queued
        refused(chip(card_no_pse_dda_offline_pin(pull_at="EXTERNAL AUTHENTICATE")), pins=["1234"])
        bank.down()
        sale(chip(card_pse_sda()), barcode=WATER)  # approved offline, sealed advice
        sale(chip(card_declined()), barcode=WATER)  # approved offline, the issuer declines it later
        bank.up()
        clock.advance(hours=1)
        host_queue.drain(store, bank.link(), now=clock.now())
        counter.cards.append(chip(card_no_pse_dda_offline_pin()))
        counter.pins.append("1234")
        refund = return_with_receipt(till, first["receipt_no"], [(1, 1000)], reason="faulty")
        keep(refund)
        voided = sale(chip(card_pse_sda()))
        post_void(till, voided["receipt_no"], approver=till.approve(*SUPERVISOR), reason="wrong item")
        host_queue.drain(store, bank.link(), now=clock.now())
        card_batch.close(store, bank.link(), at=clock.now())
        store.checkpoint()
    return printed, bytes(printer)


def test_no_card_number_or_track_is_written_anywhere(tmp_path, caplog):
    folder = tmp_path / "till"
    folder.mkdir()
    log_file = folder / "appliance.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    bank = Bank(folder)
    try:
        printed, printer_bytes = run_every_flow(folder, bank)
    finally:
        bank.down()
        root.removeHandler(handler)
        handler.close()
    (folder / "receipts.txt").write_text("\n\n".join(printed), encoding="utf-8")
    (folder / "receipts.escpos").write_bytes(printer_bytes)
    (folder / "acquirer-ledger.json").write_text(repr(bank.ledger), encoding="utf-8")
    (folder / "captured.log").write_text("\n".join(r.getMessage() for r in caplog.records), encoding="utf-8")

    files = [path for path in folder.rglob("*") if path.is_file()]
    assert {p.suffix for p in files} >= {".db", ".log", ".txt"}
    assert log_file.stat().st_size > 0 and len(printed) >= 9
    found = [(path.name, pan, form) for path in files for pan in TEST_PANS for form in forms(pan)
             if form in path.read_bytes()]
    assert not found, f"card data at rest: {found}"
    # The check looks in the right places: the masked PANs are there.
    everything = b"".join(path.read_bytes() for path in files)
    assert b"476173******0119" in everything and b"541333******0418" in everything
