"""What a scanned or typed code resolves to, and catalog search (appliance.core.catalog)."""

from __future__ import annotations

import io
from importlib import resources

import pytest

from appliance.core.barcode import gtin_check_digit
from appliance.core.catalog import Catalog, Scan
from appliance.core.catalog_csv import import_csv
from appliance.errors import InputError, NotFound
from tests.conftest import COLA, MILK, rules_of

AT = "2026-11-24T01:00:00.000Z"
HEADER = "sku,name,name_en,barcodes,plu,unit,price,cost,tax_class,category,active"
EXTRA = [
    "UPC1,Imported cereal,,0036000291452,,piece,25.00,,,grocery,1",  # an EAN-13 that starts with 0
    "UPC2,Imported soup,,012345678905,,piece,9.00,,,grocery,1",  # given in UPC-A form
    "12345678,Digits-only SKU,,,,piece,1.00,,,,1",  # 8 digits, not a valid EAN-8
    "12345670,Digits-only SKU that is a valid EAN-8,,,,piece,2.00,,,,1",
    "OLD,停售商品,Discontinued,6900000000205,,piece,1.00,,,,0",
    "OLDKG,停售散装,Discontinued loose,,40001,kg,1.00,,,,0",
    "CHEESE,奶酪,Cheese by weight,,00123,kg,98.00,,,dairy,1",  # the label prints item 00123
    "TEA_GREEN,绿茶 100%,Green tea,,,piece,5.00,,,drinks,1",
]


def ean(body: str) -> str:
    return body + str(gtin_check_digit(body))


def weight_label(item: str, grams: int) -> str:
    return ean(f"22{item}{grams:05d}")


def price_label(item: str, minor: int) -> str:
    return ean(f"21{item}{minor:05d}")


@pytest.fixture
def catalog(store, settings) -> Catalog:
    """The demo catalog plus a few products for the corners."""
    rules = rules_of(settings)
    demo = resources.files("appliance").joinpath("data/demo_catalog.csv").read_bytes()
    assert import_csv(store, io.BytesIO(demo), rules, at=AT).applied == 25
    extra = "\n".join([HEADER, *EXTRA]).encode()
    result = import_csv(store, io.BytesIO(extra), rules, at=AT)
    assert result.applied == len(EXTRA), result.errors
    return Catalog(store.conn, settings.barcode.instore)


# --- GTINs


def test_by_ean13(catalog):
    scan = catalog.resolve(COLA)
    assert scan == Scan(catalog.by_sku("COLA330"), COLA)
    assert scan.quantity is None and scan.price is None


def test_by_ean8(catalog):
    scan = catalog.resolve("69012341")
    assert scan.product.sku == "COLA330" and scan.code == "69012341"


def test_scanner_suffixes_are_trimmed(catalog):
    assert catalog.resolve(f"  {MILK}\r\n").product.sku == "MILK1L"


def test_upc_a_finds_the_product_stored_as_ean13(catalog):
    scan = catalog.resolve("036000291452")
    assert scan.product.sku == "UPC1"
    assert scan.code == "0036000291452"  # the canonical form, whichever the scanner sent


def test_ean13_finds_the_product_imported_as_upc_a(catalog):
    assert catalog.resolve("0012345678905").product.sku == "UPC2"
    assert catalog.resolve("012345678905").product.sku == "UPC2"


def test_a_wrong_check_digit_is_an_input_error_naming_the_expected_digit(catalog):
    with pytest.raises(InputError, match="expected 4"):
        catalog.resolve("6900000000015")


def test_unknown_barcode_is_not_found(catalog):
    code = ean("690000009999")
    with pytest.raises(NotFound, match=code):
        catalog.resolve(code)


def test_not_found_and_input_error_are_builtin_kinds(catalog):
    with pytest.raises(LookupError):
        catalog.resolve(ean("690000009999"))
    with pytest.raises(ValueError):
        catalog.resolve("")


# --- SKUs typed by hand


def test_by_sku(catalog):
    scan = catalog.resolve("COLA330")
    assert scan.product.name == "可口可乐 330ml" and scan.code == "COLA330"


def test_sku_is_exact(catalog):
    with pytest.raises(NotFound):
        catalog.resolve("cola330")
    with pytest.raises(NotFound):
        catalog.resolve("COLA")


def test_an_all_digit_sku_with_a_barcode_length_is_still_found(catalog):
    # 12345678 is not a valid EAN-8 (its check digit would be 0), but it is a SKU.
    assert catalog.resolve("12345678").product.name == "Digits-only SKU"
    assert catalog.resolve("12345670").product.sku == "12345670"  # a valid EAN-8 nobody has


def test_a_bad_check_digit_that_is_no_sku_either_reports_the_check_digit(catalog):
    with pytest.raises(InputError, match="expected 0"):
        catalog.resolve("12345679")


# --- in-store labels


def test_weight_label_gives_the_quantity(catalog):
    label = weight_label("10001", 532)
    scan = catalog.resolve(label)
    assert scan.product.sku == "APPLE"
    assert (scan.code, scan.quantity, scan.price) == (label, 532, None)


def test_weight_label_item_with_leading_zeros(catalog):
    scan = catalog.resolve(weight_label("00123", 250))
    assert (scan.product.sku, scan.quantity) == ("CHEESE", 250)


def test_price_label_gives_the_line_price(catalog):
    label = price_label("30001", 2500)
    scan = catalog.resolve(label)
    assert scan.product.sku == "DELI"
    assert (scan.code, scan.price, scan.quantity) == (label, 2500, None)


def test_price_label_for_weighed_goods(catalog):
    # A label scale prints the price it computed from the weight.
    scan = catalog.resolve(price_label("20001", 1990))
    assert (scan.product.sku, scan.price) == ("PORK", 1990)


def test_weight_label_for_a_piece_product_is_refused(catalog):
    with pytest.raises(InputError, match="sold by the piece"):
        catalog.resolve(weight_label("30001", 500))


def test_zero_weight_label_is_refused(catalog):
    with pytest.raises(InputError, match="zero weight"):
        catalog.resolve(weight_label("10001", 0))


def test_label_with_unknown_item_code(catalog):
    label = weight_label("99999", 500)
    with pytest.raises(NotFound, match=f"item code 99999.*{label}"):
        catalog.resolve(label)


def test_label_with_bad_check_digit(catalog):
    label = weight_label("10001", 532)
    bad = label[:-1] + str((int(label[-1]) + 1) % 10)
    with pytest.raises(InputError, match="check digit"):
        catalog.resolve(bad)


def test_in_store_range_without_a_layout_is_an_ordinary_barcode(catalog):
    with pytest.raises(NotFound, match="no product with barcode"):
        catalog.resolve(ean("23" + "10001" + "00500"))


# --- inactive products and empty input


@pytest.mark.parametrize("code", ["6900000000205", "OLD", weight_label("40001", 500)])
def test_inactive_product_is_not_found_and_says_inactive(catalog, code):
    with pytest.raises(NotFound, match="inactive") as info:
        catalog.resolve(code)
    assert "no longer sold" in str(info.value)


@pytest.mark.parametrize("code", ["", "   ", "\r\n"])
def test_empty_code_is_an_input_error(catalog, code):
    with pytest.raises(InputError, match="empty code"):
        catalog.resolve(code)


# --- direct lookups


def test_direct_lookups(catalog):
    assert catalog.by_sku("NOPE") is None
    assert catalog.by_barcode("0000000000000") is None
    assert catalog.by_plu("10004").sku == "TOMATO"
    assert catalog.by_plu("123").sku == catalog.by_plu("00123").sku == "CHEESE"
    assert catalog.by_plu("99999") is None
    assert catalog.barcodes_of("COLA330") == [COLA, "69012341"]
    assert catalog.barcodes_of("APPLE") == []
    assert catalog.count() == 25 + len(EXTRA)


# --- search


def skus(products):
    return [p.sku for p in products]


def test_search_by_chinese_name(catalog):
    assert skus(catalog.iter_products("可乐")) == ["COLA330"]
    assert skus(catalog.iter_products("奶")) == ["CHEESE", "MILK1L", "YOGURT200"]


def test_search_by_english_name_ignores_ascii_case(catalog):
    assert skus(catalog.iter_products("coca-cola")) == ["COLA330"]


def test_search_by_part_of_a_sku(catalog):
    assert skus(catalog.iter_products("330")) == ["COLA330", "SPRITE330"]


def test_search_text_is_literal_not_a_like_pattern(catalog):
    assert skus(catalog.iter_products("_")) == ["TEA_GREEN"]
    assert skus(catalog.iter_products("100%")) == ["TEA_GREEN"]
    assert skus(catalog.iter_products("%")) == ["TEA_GREEN"]


def test_search_by_upc_a_finds_the_ean13(catalog):
    assert skus(catalog.iter_products("036000291452")) == ["UPC1"]
    assert skus(catalog.iter_products("0036000291452")) == ["UPC1"]


def test_search_by_whole_barcode(catalog):
    assert skus(catalog.iter_products("69012341")) == ["COLA330"]
    assert skus(catalog.iter_products(MILK)) == ["MILK1L"]
    assert skus(catalog.iter_products("690000000001")) == []  # part of a barcode is no match


def test_no_search_lists_everything_in_sku_order(catalog):
    listed = skus(catalog.iter_products())
    assert len(listed) == catalog.count() and listed == sorted(listed)
    assert "OLD" in listed  # inactive products are listed (the list shows them as inactive)


def test_limit(catalog):
    assert skus(catalog.iter_products(limit=3)) == sorted(skus(catalog.iter_products()))[:3]
    assert skus(catalog.iter_products("330", limit=1)) == ["COLA330"]
    assert list(catalog.iter_products(limit=0)) == []


def test_search_that_matches_nothing(catalog):
    assert list(catalog.iter_products("榴莲")) == []
