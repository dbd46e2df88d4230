"""Head office's receipt page from real till documents, as head office holds them; and drawn by a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from appliance.cli.demo import label
from appliance.core import vouchers
from appliance.core.returns import return_with_receipt
from hq.receipt_page import NotAReceipt, not_yet, render
from tests.conftest import CHIPS, COLA, MILK, SPRITE

SHOP = "演示便利店 Demo Mart"
ATTACK = "<script>alert(1)</script>"


def held(till, kind: str, doc_id: str) -> dict:
    """The event's payload as head office holds it: the journal's canonical JSON text, parsed."""
    text = till.store.conn.execute("SELECT payload FROM journal WHERE kind = ? AND ref = ?", (kind, doc_id)).fetchone()[0]
    return json.loads(text)


@pytest.fixture
def sale(till):
    vouchers.issue(till.store, "V20", 2000, at=till.clock.now())
    till.scan(COLA, quantity=2000)
    till.scan(SPRITE)
    till.scan(label("22", "10001", 1234))  # 1.234 kg of apples
    till.scan(CHIPS, quantity=3000)
    till.scan(MILK)
    till.pay("voucher", reference="V20")
    doc = till.pay("cash", 10000)
    return held(till, "sale.completed", doc["id"])


def text_of(page: str) -> str:
    """The page's text as a person reads it: tags dropped, one space between cells."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))


def test_the_page_shows_the_sale_as_the_paper_receipt_does(sale):
    page = render(sale, shop=SHOP, zone="Asia/Shanghai")
    assert "<title>销售 SALE T01-000001 · 演示便利店 Demo Mart</title>" in page
    text = text_of(page)
    for expected in (
        "演示便利店 Demo Mart 销售 SALE",
        "小票号 Receipt T01-000001", "时间 Time 2026-11-24 09:00:00 +08:00", "收银台 Till T01",
        "可口可乐 330ml 2 x 3.50 7.00 饮料任选3件9元 Any 3 drinks 9.00 -1.00",
        "红富士苹果 1.234 kg x 12.80/kg 15.80",
        "乐事薯片 70g 3 x 7.50 22.50 薯片买二送一 Chips 2+1 free -7.50",
        "小计 Subtotal 61.60 优惠 Discounts -11.00 合计 TOTAL 50.60",
        "代金券 Voucher 20.00 券号 Code V20 现金 Cash 100.00 找零 Change 69.40",
        "税率 Rate 不含税 Net 税额 Tax 9% 24.41 2.19 13% 21.23 2.77",
    ):
        assert expected in text, expected
    assert "税 Tax -" not in text and "税 Tax 4.96" not in text  # prices include the tax: only the tax table shows it


def test_without_a_zone_the_time_is_utc_and_says_so(sale):
    assert "2026-11-24 01:00:00 +00:00" in text_of(render(sale))


def test_a_return_is_a_refund_page_of_its_own(till, sale):
    refund = return_with_receipt(till, sale["receipt_no"], [(1, 1000)], reason="口味不对 wrong flavour")
    page = render(held(till, "sale.returned", refund["id"]), shop=SHOP)
    assert f"<title>退货 RETURN {refund['receipt_no']} · {SHOP}</title>" in page
    text = text_of(page)
    assert "应退 REFUND" in text and "合计 TOTAL" not in text
    assert "小计 Subtotal -3.50" in text and "退 " in text  # money going back, signed as on paper
    assert "原因 Reason: 口味不对 wrong flavour" in text


def test_of_a_card_only_the_masked_number_is_shown(sale):
    sale["payments"][-1].update(kind="card", masked_pan="476173******0119", auth_code="654321",
                                card_token="9f86d081884c7d659a2feaa0c55ad015")
    text = text_of(render(sale))
    assert "银行卡 Card" in text and "476173******0119 授权 Auth 654321" in text
    assert "9f86d081" not in text  # the keyed token is for matching refunds, not for the customer
    sale["payments"][-1]["masked_pan"] = "4761730000000119"  # a number that was never masked: never shown
    text = text_of(render(sale))
    assert "4761730000000119" not in text and "**** 授权 Auth 654321" in text


def test_every_value_is_escaped(sale):
    sale["lines"][0]["name"] = ATTACK
    sale["lines"][0]["promotion"] = '"><img src=x onerror=alert(1)>'
    sale["reason"] = "</p><iframe src=//evil.example>"
    page = render(sale, shop="<b>Shop</b> & Co")
    assert "<script" not in page and "<img" not in page and "<iframe" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<title>销售 SALE T01-000001 · &lt;b&gt;Shop&lt;/b&gt; &amp; Co</title>" in page
    assert "&lt;script&gt;" in not_yet(ATTACK) and "<script" not in not_yet(ATTACK)


def test_the_page_needs_nothing_from_anywhere_else(sale):
    for page in (render(sale, shop=SHOP), not_yet("T01-000001")):
        assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
        assert not re.search(r"<script|<link|<img|src=|url\(|@import|https?://", page)


def test_a_receipt_not_yet_sent_says_when_it_will_be_there():
    page = not_yet("T01-000042")
    assert "<title>电子小票 E-receipt T01-000042</title>" in page
    assert '<meta http-equiv="refresh" content="60">' in page
    assert "usually within minutes" in page and "通常几分钟内" in page


def test_an_event_that_is_not_a_receipt_is_refused(till, supervisor, sale):
    till.shifts.close(supervisor, 20000, at=till.clock.now())
    shift = till.store.conn.execute("SELECT payload FROM journal WHERE kind = 'shift.closed'").fetchone()[0]
    with pytest.raises(NotAReceipt, match="the event is not a receipt: it has no kind, receipt_no"):
        render(json.loads(shift))
    with pytest.raises(NotAReceipt, match="its kind is 'refund'") as caught:
        render({**sale, "kind": "refund"})
    assert isinstance(caught.value, ValueError) and caught.value.where == "payload.kind"


def test_a_real_browser_draws_the_page_on_a_phone_sized_screen(tmp_path, sale):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make test-system` installs it")
    sale["lines"][1]["name"] = ATTACK  # in a browser too, a name stays text
    page = tmp_path / "receipt.html"
    page.write_text(render(sale, shop=SHOP, zone="Asia/Shanghai"), encoding="utf-8")
    # --no-sandbox: the tests may run as root, where chromium's sandbox refuses to start.
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<title>销售 SALE T01-000001 · 演示便利店 Demo Mart</title>" in dom
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "红富士苹果" in dom and "50.60" in dom
    shot = tmp_path / "receipt.png"
    subprocess.run([*flags, "--window-size=360,1000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
    image = Image.open(shot).convert("L")
    assert image.size == (360, 1000)
    inked = sum(image.histogram()[:128])
    assert inked > 5_000, "hardly any text was drawn"
    right_edge = image.crop((300, 0, 345, 1000))  # the amounts column, inside a 360-pixel-wide phone screen
    assert right_edge.getextrema()[0] < 128, "the amounts are not on screen"
