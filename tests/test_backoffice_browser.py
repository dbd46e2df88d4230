"""The back office end to end in a real headless Chromium against a real daemon on simulated devices."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from appliance import config
from appliance.core import reorder
from appliance.core.clock import ManualClock
from appliance.core.till import Till
from appliance.store.db import Store
from tests.backoffice_browser import CHARTS_DRAWN, Office, browser, new_page, sign_in, until  # noqa: F401 - a fixture
from tests.conftest import CASHIER, MANAGER, START, WATER

BAD_CATALOG = (
    "sku,name,unit,price\n"
    "NEW1,新品一号,piece,5.00\n"
    "NEW2,新品二号,box,6.00\n"  # line 3: no such unit
    "NEW3,新品三号,piece,7.00\n"
)


@pytest.fixture
def office(tmp_path):
    """The daemon on a real configuration file, as a provisioned till has (the settings page edits it)."""
    path = tmp_path / "shop.toml"
    path.write_text('# written by provisioning\n[shop]\nname = "演示便利店 Demo Mart"\n', encoding="utf-8")
    running = Office(config.load(path), tmp_path).start()
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
    page.click("a[href=\"#/reports/sales-product\"]")
    page.locator("#report table").wait_for()
    assert "农夫山泉 550ml" in page.locator("#report table").inner_text()
    with page.expect_download() as download:
        page.click("text=Download CSV")
    raw = open(download.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbfsku,")  # with a BOM: Excel on Chinese Windows reads it as UTF-8
    assert "WATER550" in raw.decode("utf-8") and "4.00" in raw.decode("utf-8")

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


PAGES = ("#/dashboard", "#/catalog", "#/catalog/~new", "#/catalog/~import", "#/catalog/WATER550", "#/stock",
         "#/stock/receive", "#/stock/adjust", "#/stock/count", "#/stock/reorder", "#/members", "#/members/~segments",
         "#/reports", "#/reports/trend", "#/reports/peak-hours", "#/reports/~shifts", "#/settings",
         "#/settings/operators", "#/settings/promotions", "#/settings/devices")  # fmt: skip


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_every_page_draws_without_an_error_in_both_languages(office, browser, locale):  # noqa: F811
    page = new_page(browser, office, locale=locale)
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()
    for address in PAGES:
        page.evaluate(f"location.hash = {address!r}")
        until(page, "!document.querySelector('#page .loading') && document.querySelector('#page h1')")
        errors = page.locator("#page .notice.error")
        assert errors.count() == 0, f"{address}: {errors.first.inner_text()}"
        text = page.locator("#page").inner_text()
        assert not re.search(r"\b(stock|members|settings|dash|catalog)\.[a-z_.]+\b", text), f"{address}: {text[:300]}"
    assert page.errors == []


def test_stock_members_and_settings_work_from_the_browser(office, browser):  # noqa: F811
    page = new_page(browser, office)
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()

    # A delivery booked in the browser moves the stock.
    page.evaluate("location.hash = '#/stock/receive'")
    page.locator("input[name=sku]").first.fill("RICE5KG")
    page.locator("input[name=quantity]").first.fill("3")
    page.locator("input[name=unit_cost]").first.fill("40.00")
    page.click("text=Book in")
    page.locator("#receive-status .notice.ok").wait_for()
    levels = {row["sku"]: row for row in office.api("GET", "/stock")[1]}
    assert levels["RICE5KG"]["on_hand"] == 3000

    # A member added at the till is found, and their profile shows.
    status, member = office.api("POST", "/members", {"phone": "13800138000", "name": "王芳", "consent": True})
    assert status == 201
    page.evaluate("location.hash = '#/members'")
    page.fill("#page input[type=search]", "8000")  # the last digits, as a customer says them
    page.locator("tr.link", has_text="王芳").click()
    page.locator("#member-profile").wait_for()
    assert "王芳" in page.locator("#page").inner_text()

    # A new cashier added in settings can sign in at the till.
    page.evaluate("location.hash = '#/settings/operators'")
    form = page.locator("#add-operator")
    form.locator("input[name=code]").fill("1002")
    form.locator("input[name=name]").fill("张伟")
    form.locator("select[name=role]").select_option("cashier")
    form.locator("input[name=pin]").fill("4321")
    form.locator("input[name=pin2]").fill("4321")
    form.locator("button[type=submit]").click()
    page.locator("#operators", has_text="张伟").wait_for()
    assert office.api("POST", "/till/sign-in", {"code": "1002", "pin": "4321"})[0] == 200
    assert page.errors == []


def test_amounts_typed_as_people_type_them_become_exact_integers(office, browser):  # noqa: F811
    page = new_page(browser, office)
    page.goto("/office/")
    parsed = page.evaluate("""import('/office/money.js').then(m => [
        ['12.5', 2], ['2,000', 3], ['１２．５０', 2], ['12。5', 2], ['0.1', 2], ['12.345', 2], ['-1', 2], ['abc', 2],
        ['', 2], ['99999999999', 2]].map(([text, exp]) => m.parseAmount(text, exp)))""")
    assert parsed == [1250, 2_000_000, 1250, 1250, 10, None, None, None, None, None]
    shown = page.evaluate("import('/office/money.js').then(m => [m.formatAmount(123456789, 2), m.formatAmount(-5, 2), "
                          "m.formatAmount(7, 0), m.formatQuantity(1500, 'kg'), m.formatBp(1234)])")
    assert shown == ["1,234,567.89", "-0.05", "7", "1.500 kg", "12.34%"]


def test_a_catalog_saved_in_gbk_is_refused_with_what_to_do(office, browser):  # noqa: F811
    page = new_page(browser, office)
    sign_in(page, *MANAGER)
    page.locator(".figure").first.wait_for()
    page.evaluate("location.hash = '#/catalog/~import'")
    gbk = "sku,name,unit,price\nGBK1,可口可乐,piece,3.50\n".encode("gbk")
    page.set_input_files("input[type=file]", files=[{"name": "excel.csv", "mimeType": "text/csv", "buffer": gbk}])
    page.click("form button[type=submit]")
    page.locator("#import-result .notice.error").wait_for()
    assert 'save it as "CSV UTF-8"' in page.locator("#import-result").inner_text()
    assert office.api("GET", "/products/GBK1")[0] == 404
    assert page.errors == []
