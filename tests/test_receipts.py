"""Receipts and Z reports as printed: golden files at 32 and 48 columns, and their invariants.

Set UPDATE_GOLDEN=1 to rewrite tests/fixtures/*.txt after an intended layout change, then
read the diff: it is what the customer will see.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.cli.demo import label
from appliance.core import members, vouchers
from appliance.core.returns import post_void, return_with_receipt
from appliance.display.document import render_text
from appliance.display.receipt import receipt, receipt_context
from appliance.display.report import shift_report
from appliance.display.text import width
from tests.conftest import CHIPS, COLA, MILK, RICE, SPRITE, make_settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def settings(tmp_path):
    """A shop that prints a link under each receipt: the golden files hold its QR code."""
    return make_settings(tmp_path, receipt={"qr_url": "https://receipt.example.com/{receipt_no}"})


def _golden(name: str, lines: list[str]) -> None:
    path = FIXTURES / name
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_GOLDEN=1 to accept"


@pytest.fixture
def day(till, supervisor):
    member = members.add(till.store, "13800138000", "张伟 Zhang Wei", at=till.clock.now())
    members.top_up(till.store, member.id, 5000, at=till.clock.now(), ref="t")
    vouchers.issue(till.store, "V20", 2000, at=till.clock.now())
    till.scan(COLA, quantity=2000)
    till.scan(SPRITE)
    till.scan(label("22", "10001", 1234))
    till.scan(CHIPS, quantity=3000)
    till.scan(MILK)
    till.attach_member(member.phone)
    till.pay("stored_value", 2000)
    till.pay("voucher", reference="V20")
    sale = till.pay("cash", 10000)
    till.clock.advance(minutes=5)
    till.scan(RICE)
    other = till.pay("cash", 5000)
    till.clock.advance(minutes=5)
    refund = return_with_receipt(till, sale["receipt_no"], [(1, 1000), (3, 1234)], reason="wrong item")
    void = post_void(till, other["receipt_no"], approver=supervisor, reason="rang twice")
    z = till.shifts.close(supervisor, 20000, at=till.clock.now())
    return till, sale, refund, void, z, other


@pytest.mark.parametrize("cells", [32, 48])
def test_receipts_and_z_report_match_the_golden_files(day, cells):
    till, sale, refund, void, z, other = day
    docs = {"sale": (sale, ""), "return": (refund, sale["receipt_no"]), "void": (void, other["receipt_no"])}
    for name, (doc, original) in docs.items():
        lines = render_text(receipt(doc, till.settings, receipt_context(till, doc, original)), cells)
        assert all(width(line) == cells for line in lines), name
        _golden(f"{name}_{cells}.txt", lines)
    _golden(f"z_report_{cells}.txt", render_text(shift_report(z, till.settings), cells))


def test_the_receipt_shows_what_the_customer_must_see(day):
    till, sale, *_ = day
    text = "\n".join(render_text(receipt(sale, till.settings, receipt_context(till, sale)), 48))
    assert sale["receipt_no"] in text
    assert "饮料任选3件9元" in text and "薯片买二送一" in text  # promotions named
    assert "本单节省 You saved" in text
    assert "138****8000" in text and "13800138000" not in text  # member phone masked
    assert "1.234 kg x 12.80/kg" in text
    assert "券号 Code V20" in text
    assert "找零 Change" in text


def test_a_card_payment_prints_only_the_masked_pan(till):
    till.scan(RICE)
    doc = till.pay("cash", 5000)
    doc["payments"] = [dict(doc["payments"][0], kind="card", masked_pan="476173******0119", auth_code="654321")]
    doc["change"] = 0
    text = "\n".join(render_text(receipt(doc, till.settings), 32))
    assert "476173******0119" in text and "654321" in text
