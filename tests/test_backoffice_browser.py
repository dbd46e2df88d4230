"""The back office end to end in a real headless Chromium against a real daemon on simulated devices."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from appliance.core import reorder
from appliance.core.clock import ManualClock
from appliance.core.till import Till
from appliance.store.db import Store
from tests.backoffice_browser import CHARTS_DRAWN, Office, browser, new_page, sign_in, until  # noqa: F401 - a fixture
from tests.conftest import CASHIER, MANAGER, START, WATER, make_settings

BAD_CATALOG = (
    "sku,name,unit,price\n"
    "NEW1,新品一号,piece,5.00\n"
    "NEW2,新品二号,box,6.00\n"  # line 3: no such unit
    "NEW3,新品三号,piece,7.00\n"
)


@pytest.fixture
def office(tmp_path):
    running = Office(make_settings(tmp_path), tmp_path).start()
    yield running
    running.stop()


def water_runs_low_below(settings, minimum: int) -> None:
    """A reorder minimum on the water, as `appliance stock rule WATER550 --minimum` sets it."""
    with Store(settings.database_path) as store:
        till = Till(settings, store, ManualClock(START))
        reorder.set_rule(store, "WATER550", {"minimum": minimum}, operator=till.operators.get(MANAGER[0]), at=START)


def sell_water(office: Office, count: int) -> dict:
    """A sale at the till made through the API, as the keypad would: sign in, scan, pay cash."""
    assert office.api("POST", "/till/sign-in", {"code": CASHIER[0], "pin": CASHIER[1]})[0] == 200
    for _ in range(count):
        status, body = office.api("POST", "/till/scan", {"code": WATER})
        assert status == 200, body
    assert office.api("POST", "/till/subtotal", {})[0] == 200
    status, body = office.api("POST", "/till/tender", {"kind": "cash", "amount": 10000})
    assert status == 200 and body["state"] == "receipt", body
    assert office.api("POST", "/till/done", {})[0] == 200
    return body["document"]


def figure(page, title: str) -> str:
    return page.locator(".figure", has_text=title).locator("strong").inner_text()


def test_a_manager_runs_the_shop_from_the_browser(office, tmp_path, browser):  # noqa: F811
    water_runs_low_below(office.settings, 5000)
    status, _ = office.api("POST", "/stock/receive", {"lines": [{"sku": "WATER550", "quantity": 6000,
                                                                 "unit_cost": 90}]})  # fmt: skip
    assert status == 201
    page = new_page(browser, office)

    # A cashier is not let in; the manager is, and lands on the dashboard.
    sign_in(page, *CASHIER)
    page.get_by_role("alert").wait_for()
    assert "for a manager" in page.get_by_role("alert").inner_text()
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()
    assert figure(page, "Net sales today") == "0.00"
    assert "Nothing is running low." in page.locator("#alerts").inner_text()

    # A catalog file with one bad row: nothing imported, the row and the reason shown.
    page.click("text=Catalog")
    page.click("text=Import CSV")
    page.set_input_files("input[type=file]", files=[{"name": "new.csv", "mimeType": "text/csv",
                                                      "buffer": BAD_CATALOG.encode()}])  # fmt: skip
    page.click("form button[type=submit]")
    page.locator("#import-result .notice.error").wait_for()
    result = page.locator("#import-result").inner_text()
    assert "nothing imported: 1 of 3 rows are bad" in result
    assert "line 3, column unit: 'box' must be 'piece' or 'kg'" in result
    assert office.api("GET", "/products/NEW1")[0] == 404

    # A sale at the till shows on the dashboard, and the water falls below its minimum.
    doc = sell_water(office, 2)
    assert doc["total"] == 400
    page.click("text=Dashboard")
    page.locator(".figure").first.wait_for()
    until(page, "document.querySelector('.figure strong').textContent !== '0.00'")
    assert figure(page, "Net sales today") == "4.00"
    assert figure(page, "Baskets today") == "1"
    alerts = page.locator("#alerts").inner_text()
    assert "农夫山泉 550ml" in alerts and re.search(r"\b4\b", alerts)
    charts = page.locator("img.chart")
    assert charts.count() == 2
    until(page, CHARTS_DRAWN)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

    # The sale in a report, with its chart and its CSV.
    page.click("text=Reports")
    page.click("text=sales-product")
    page.locator("#report table").wait_for()
    assert "农夫山泉 550ml" in page.locator("#report table").inner_text()
    with page.expect_download() as download:
        page.click("text=Download CSV")
    csv_text = open(download.value.path(), encoding="utf-8").read()
    assert csv_text.startswith("sku,") and "WATER550" in csv_text and "4.00" in csv_text

    # The price changes in the browser; the till charges it on the next scan.
    page.click("text=Catalog")
    page.fill("input[type=search]", "WATER")
    page.locator("tr.link", has_text="WATER550").click()
    page.fill("input[name=price]", "2.50")
    page.click("form.card button[type=submit]")
    page.locator("#save-status .notice.ok").wait_for()
    assert "2.50" in page.locator("#save-status").inner_text()
    assert office.api("GET", "/products/WATER550")[1]["price"] == 250
    assert sell_water(office, 1)["total"] == 250
    assert page.errors == []
    with Image.open(tmp_path / "dashboard.png") as shot:
        assert shot.width == 1200 and shot.height > 900  # the whole page, charts included


def test_chinese_is_the_default_for_a_chinese_browser(office, browser):  # noqa: F811
    page = new_page(browser, office, locale="zh-CN", width=390, height=844)  # a phone
    page.goto("/office/")
    assert page.locator("h1").inner_text() == "后台管理"
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()
    assert page.locator(".figure span").first.inner_text() == "今日净销售额"
    assert page.locator("nav a[data-page=catalog]").inner_text() == "商品"
    page.click("text=English")
    page.locator(".figure").first.wait_for()
    assert page.locator(".figure span").first.inner_text() == "Net sales today"
    assert page.errors == []


def test_signing_out_ends_the_session_for_pages_and_the_api(office, browser):  # noqa: F811
    page = new_page(browser, office)
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()
    assert page.request.get(office.url + "/dashboard").status == 200
    page.click("text=Sign out")
    page.locator("input[name=pin]").wait_for()
    assert page.request.get(office.url + "/dashboard").status == 401
    page.goto("/office/#/catalog")
    page.locator("input[name=pin]").wait_for()  # back to sign-in, no page without a session
    assert page.errors == []
