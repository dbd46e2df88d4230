"""Catalog CSV import and export against a real store (appliance.core.catalog_csv)."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources

import pytest

from appliance.core.barcode import gtin_check_digit
from appliance.core.catalog import Catalog
from appliance.core.catalog_csv import MAX_ERRORS, RowError, export_csv, import_csv
from appliance.errors import InputError
from tests.conftest import COLA, rules_of

AT = "2026-11-24T01:00:00.000Z"
HEADER = "sku,name,name_en,barcodes,plu,unit,price,cost,tax_class,category,active"
GOOD = "GOOD1,好东西,Good thing,6900000000014,,piece,3.50,2.10,standard,drinks,1"
DEMO = resources.files("appliance").joinpath("data/demo_catalog.csv").read_bytes()


def ean(body: str) -> str:
    return body + str(gtin_check_digit(body))


def file_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode("utf-8")


@pytest.fixture
def load(store, settings):
    """Import bytes (or text) into the test store; keyword arguments go to import_csv."""

    def load(data: bytes | str, **kwargs):
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return import_csv(store, io.BytesIO(raw), rules_of(settings), at=AT, **kwargs)

    return load


@pytest.fixture
def catalog(store, settings):
    return Catalog(store.conn, settings.barcode.instore)


@pytest.fixture
def demo(load):
    result = load(DEMO)
    assert result.applied == 25 and not result.errors
    return result


def snapshot(store):
    """Everything an import could touch."""
    q = store.conn.execute
    return (
        q("SELECT * FROM products ORDER BY sku").fetchall(),
        q("SELECT * FROM barcodes ORDER BY code").fetchall(),
        q("SELECT count(*) FROM journal").fetchone()[0],
        q("SELECT count(*) FROM outbox").fetchone()[0],
    )


def journal_of(store, kind="catalog.imported"):
    rows = store.conn.execute("SELECT seq, ref, payload FROM journal WHERE kind = ? ORDER BY seq", (kind,))
    return [(seq, ref, json.loads(payload)) for seq, ref, payload in rows]


def export_text(catalog, exponent=2) -> str:
    out = io.StringIO()
    export_csv(catalog, out, exponent)
    return out.getvalue()


# --- a good file


def test_demo_catalog_applies_every_row(store, catalog, demo):
    assert demo.rows == 25 and demo.applied == 25 and demo.skipped_lines == []
    assert catalog.count() == 25
    cola = catalog.by_barcode(COLA)
    assert cola is not None and cola.sku == "COLA330" and cola.name == "可口可乐 330ml"
    assert (cola.price, cola.cost, cola.unit, cola.tax_class, cola.active) == (350, 210, "piece", "standard", True)
    assert catalog.by_barcode("69012341").sku == "COLA330"
    assert catalog.barcodes_of("COLA330") == ["6900000000014", "69012341"]
    assert catalog.by_plu("10002").sku == "BANANA" and catalog.by_plu("10002").price == 698
    assert catalog.by_sku("APPLE").weighed


def test_a_good_import_is_one_journal_entry_and_one_outbox_row(store, demo):
    entries = journal_of(store)
    assert len(entries) == 1
    seq, ref, payload = entries[0]
    assert ref == demo.sha256[:16]
    assert payload == {"file": "upload", "sha256": demo.sha256, "rows": 25, "applied": 25, "skipped_lines": []}
    outbox = store.conn.execute("SELECT seq, topic, queued_at, sent_at FROM outbox").fetchall()
    assert outbox == [(seq, "catalog.imported", AT, None)]


def test_a_path_is_read_and_its_name_journaled(store, settings, tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(DEMO)
    result = import_csv(store, path, rules_of(settings), at=AT)
    assert result.applied == 25
    assert journal_of(store)[0][2]["file"] == "products.csv"


def test_optional_columns_take_their_defaults(load, catalog):
    result = load(file_of("P1,Plain,piece,1", header="sku,name,unit,price"))
    assert result.applied == 1
    p = catalog.by_sku("P1")
    assert (p.name_en, p.cost, p.tax_class, p.category, p.plu, p.active) == ("", 0, "standard", "", None, True)


def test_cells_are_trimmed_and_words_read_loosely(load, catalog):
    result = load(file_of(" P1 , Padded , , 6900000000014 | 69012341 , ,  KG , 1.5 , ,reduced, , No "))
    assert result.applied == 1
    p = catalog.by_sku("P1")
    assert (p.name, p.unit, p.price, p.tax_class, p.active) == ("Padded", "kg", 150, "reduced", False)
    assert catalog.barcodes_of("P1") == ["6900000000014", "69012341"]


def test_header_names_ignore_case_and_spaces_and_order(load, catalog):
    result = load(file_of("3.00,P1,piece,Name", header=" Price ,SKU,Unit, NAME"))
    assert result.applied == 1 and catalog.by_sku("P1").price == 300


def test_upc_a_barcodes_are_stored_as_ean13(load, catalog):
    assert load(file_of("P1,Upc,,036000291452,,piece,1,,,,")).applied == 1
    assert catalog.barcodes_of("P1") == ["0036000291452"]


def test_plu_is_stored_without_leading_zeros(load, catalog):
    # Excel turns 00123 into 123; the label scale prints 00123: both must be item 123.
    assert load(file_of("P1,Weighed,,,00123,kg,1,,,,")).applied == 1
    assert catalog.by_sku("P1").plu == "123"
    assert catalog.by_plu("00123").sku == "P1"


# --- bad rows: each reported with its line, its column and a reason


BAD_ROWS = [
    ("bad sku,Name,,,,piece,1,,,,", "sku", "must be 1-32 letters"),
    ("-SKU,Name,,,,piece,1,,,,", "sku", "starting with a letter or digit"),
    ("S" * 33 + ",Name,,,,piece,1,,,,", "sku", "must be 1-32"),
    (",Name,,,,piece,1,,,,", "sku", "must be 1-32"),
    ("P1,,,,,piece,1,,,,", "name", "must be 1-64 characters"),
    ("P1,   ,,,,piece,1,,,,", "name", "must be 1-64 characters"),
    ("P1," + "名" * 65 + ",,,,piece,1,,,,", "name", "must be 1-64 characters"),
    ("P1,Name," + "e" * 65 + ",,,piece,1,,,,", "name_en", "at most 64"),
    ("P1,Name,,,,box,1,,,,", "unit", "'box' must be 'piece' or 'kg'"),
    ("P1,Name,,,,,1,,,,", "unit", "must be 'piece' or 'kg'"),
    ("P1,Name,,,,piece,1.005,,,,", "price", "more than 2 decimal places"),
    ("P1,Name,,,,piece,-1.00,,,,", "price", "must not be negative"),
    ("P1,Name,,,,piece,abc,,,,", "price", "is not a number"),
    ("P1,Name,,,,piece,NaN,,,,", "price", "is not a number"),
    ("P1,Name,,,,piece,,,,,", "price", "is empty"),
    ("P1,Name,,,,piece,1e3,,,,", "price", "is not a number"),
    ("P1,Name,,,,piece,10000000000.00,,,,", "price", "too large"),  # 10**12 fen: beyond any shelf price
    ("P1,Name,,,,piece,1,-0.50,,,", "cost", "must not be negative"),
    ("P1,Name,,,,piece,1,x,,,", "cost", "is not a number"),
    ("P1,Name,,,,piece,1,,luxury,,", "tax_class", "'luxury' is not a configured tax class"),
    ("P1,Name,,,,piece,1,,," + "c" * 65 + ",", "category", "at most 64"),
    ("P1,Name,,,12a,kg,1,,,,", "plu", "must be 1-6 digits"),
    ("P1,Name,,,1234567,kg,1,,,,", "plu", "must be 1-6 digits"),
    ("P1,Name,,,１２３,kg,1,,,,", "plu", "must be 1-6 digits"),  # full-width digits
    ("P1,Name,,,,piece,1,,,,maybe", "active", "'maybe' must be 1/0, true/false or yes/no"),
    ("P1,Name,,6900000000015,,piece,1,,,,", "barcodes", "expected 4"),
    ("P1,Name,,69000000000,,piece,1,,,,", "barcodes", "has 11 digits"),
    ("P1,Name,,036000291453,,piece,1,,,,", "barcodes", "UPC-A barcode '036000291453' has check digit 3, expected 2"),
    ("P1,Name,,69000000000X4,,piece,1,,,,", "barcodes", "digits only"),
    ("P1,Name,,6.9E+12,,piece,1,,,,", "barcodes", "digits only"),  # what Excel makes of a barcode
    (f"P1,Name,,{ean('21' + '30001' + '02500')},,piece,1,,,,", "barcodes", "in-store label range"),
    (f"P1,Name,,{ean('22' + '10001' + '00500')},,piece,1,,,,", "barcodes", "in-store label range"),
    ("P1,Name,,6900000000021|6900000000021,,piece,1,,,,", "barcodes", "listed twice"),
    ("P1,Name,,036000291452|0036000291452,,piece,1,,,,", "barcodes", "listed twice"),  # UPC-A = EAN-13
]


@pytest.mark.parametrize("row, column, reason", BAD_ROWS, ids=[f"{c}-{r}" for _, c, r in BAD_ROWS])
def test_a_bad_row_is_reported_and_nothing_is_applied(store, load, row, column, reason):
    before = snapshot(store)
    result = load(file_of(GOOD, row))
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason
    assert str(error) == f"line 3, column {column}: {error.reason}"
    assert result.rows == 2 and result.applied == 0 and result.skipped_lines == [3]
    assert snapshot(store) == before  # the good row on line 2 was not applied either


def test_a_row_with_the_wrong_number_of_fields(load):
    result = load(file_of(GOOD, "P1,Name,piece,1", "P2,Name,,,,piece,1,,,,,extra"))
    assert [(e.line, e.column) for e in result.errors] == [(3, "*"), (4, "*")]
    assert "has 4 fields, the header has 11" in result.errors[0].reason
    assert "has 12 fields" in result.errors[1].reason
    assert result.applied == 0


def test_every_bad_row_is_reported_not_only_the_first(load):
    result = load(file_of("bad sku,N,,,,piece,1,,,,", GOOD, "P2,N,,,,box,1,,,,", "P3,N,,,,piece,x,,,,"))
    assert [(e.line, e.column) for e in result.errors] == [(2, "sku"), (4, "unit"), (5, "price")]


def test_duplicate_sku_names_the_first_line(load):
    result = load(file_of(GOOD, "P2,Other,,,,piece,1,,,,", "GOOD1,Again,,,,piece,2,,,,"))
    assert result.errors == [RowError(4, "sku", "GOOD1 is already on line 2")]


def test_duplicate_barcode_across_rows_names_the_first_line(load):
    result = load(file_of(GOOD, "P2,Other,,69012341|6900000000014,,piece,1,,,,"))
    assert result.errors == [RowError(3, "barcodes", "6900000000014 is already on line 2")]


def test_duplicate_plu_names_the_first_line(load):
    result = load(file_of("A1,Apples,,,10001,kg,1,,,,", "A2,Pears,,,10001,kg,1,,,,"))
    assert result.errors == [RowError(3, "plu", "10001 is already on line 2")]


def test_plus_that_differ_only_in_leading_zeros_are_duplicates(load):
    result = load(file_of("A1,Apples,,,123,kg,1,,,,", "A2,Pears,,,00123,kg,1,,,,"))
    assert [(e.line, e.column) for e in result.errors] == [(3, "plu")]


def test_barcode_owned_by_a_product_not_in_the_file(store, load, demo):
    before = snapshot(store)
    result = load(file_of(f"NEW1,New,,{COLA},,piece,1,,,,"))
    assert result.errors == [RowError(2, "barcodes", f"{COLA} already belongs to product COLA330")]
    assert snapshot(store) == before


def test_plu_owned_by_a_product_not_in_the_file(store, load, demo):
    before = snapshot(store)
    result = load(file_of("NEW1,New,,,10001,kg,1,,,,"))
    assert result.errors == [RowError(2, "plu", "10001 already belongs to product APPLE")]
    assert snapshot(store) == before


def test_an_over_long_field_is_a_file_error_not_a_crash(load):
    with pytest.raises(InputError) as info:
        load(file_of(GOOD, "P2," + "x" * 200_000 + ",,,,piece,1,,,,"))
    assert info.value.where == "line 3"


# --- file-level errors


@pytest.mark.parametrize(
    "data, where, message",
    [
        (b"", "line 1", "the file is empty"),
        (b"\xef\xbb\xbf", "line 1", "the file is empty"),
        (file_of(GOOD, header=HEADER + ",colour"), "line 1", "unknown column 'colour'"),
        (file_of("P1,N,1", header="sku,name,price"), "line 1", "missing column 'unit'"),
        (file_of("P1,N,1", header="name,unit,price"), "line 1", "missing column 'sku'"),
        (file_of("P1,N,piece,1,2", header="sku,name,unit,price,Price"), "line 1", "a column is named twice"),
    ],
)
def test_unusable_files_raise_input_error(store, load, data, where, message):
    before = snapshot(store)
    with pytest.raises(InputError, match=message) as info:
        load(data)
    assert info.value.where == where
    assert snapshot(store) == before


# What a spreadsheet saved as plain "CSV" (ANSI) on a Chinese Windows holds; the bad bytes open
# the line, so a line count that forgets the BOM's three bytes stops before the newline.
GBK_ROW = "你好,Name,,,,piece,1,,,,".encode("gbk")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_non_utf8_bytes_name_their_line(store, load, bom):
    before = snapshot(store)
    data = bom + file_of(GOOD, "P3,Fine,,,,piece,1,,,,") + GBK_ROW + b"\n"
    with pytest.raises(InputError, match="not UTF-8") as info:
        load(data)
    assert info.value.where == "line 4"
    assert snapshot(store) == before


# --- what spreadsheets write


def test_utf8_with_bom_from_excel_is_accepted(load, catalog):
    result = load(b"\xef\xbb\xbf" + file_of(GOOD).replace(b"\n", b"\r\n"))
    assert result.applied == 1 and not result.errors
    assert catalog.by_sku("GOOD1").name == "好东西"


def test_quoted_fields_may_hold_commas_quotes_and_newlines(load, catalog):
    result = load(file_of(
        '"Q1","Rice, 5kg","Rice,\n5 kg bag","6900000000113|\n6900000000120",,piece,"39.90",,,"grocery, dry",1',
        '"Q2","Say ""cheese""",,,,piece,1,,,,',
    ))
    assert result.rows == 2 and result.applied == 2, result.errors
    q1 = catalog.by_sku("Q1")
    assert (q1.name, q1.name_en, q1.category, q1.price) == ("Rice, 5kg", "Rice,\n5 kg bag", "grocery, dry", 3990)
    assert catalog.barcodes_of("Q1") == ["6900000000113", "6900000000120"]
    assert catalog.by_sku("Q2").name == 'Say "cheese"'


def test_line_numbers_count_physical_lines_through_multiline_records(load):
    result = load(file_of(
        'Q1,"two\nlines",,,,piece,1,,,,',  # lines 2-3
        "Q2,Name,,,,box,1,,,,",  # line 4
        'Q3,"three\nline\nname",,,,piece,x,,,,',  # lines 5-7: reported where it starts
    ))
    assert [(e.line, e.column) for e in result.errors] == [(4, "unit"), (5, "price")]


def test_blank_lines_are_ignored_but_counted(load, catalog):
    result = load(file_of("", GOOD, "", "  ,  ,,,,,,,,,", "P2,Name,,,,box,1,,,,", ""))
    assert result.rows == 2
    assert [(e.line, e.column) for e in result.errors] == [(6, "unit")]


def test_chinese_names_survive_import_and_export(load, catalog):
    name = "东北五常大米（稻花香）5kg·特级"
    assert load(file_of(f"RICE,{name},,,,piece,59.90,,reduced,粮油,1")).applied == 1
    assert catalog.by_sku("RICE").name == name
    row = next(csv.DictReader(io.StringIO(export_text(catalog))))
    assert (row["name"], row["category"]) == (name, "粮油")


# --- all or nothing, and skip_bad


def test_one_bad_row_changes_nothing_even_updates(store, load, demo, catalog):
    before = snapshot(store)
    result = load(file_of(
        "COLA330,Cola new name,,6900000000021,,piece,9.99,,,,",  # would steal SPRITE's code...
        "SPRITE330,Sprite,,,,piece,3.50,,,,",  # ...which SPRITE gives up
        "NEW1,New,,,,piece,1,,,,",
        "NEW2,New,,,,piece,-1,,,,",  # the one bad row
    ))
    assert result.skipped_lines == [5] and result.applied == 0
    assert snapshot(store) == before
    assert catalog.by_sku("COLA330").name == "可口可乐 330ml" and catalog.by_sku("NEW1") is None


def test_skip_bad_applies_the_good_rows_and_lists_the_bad(store, load, catalog):
    result = load(
        file_of(GOOD, "P2,Name,,,,box,1,,,,", "P3,Three,,,,piece,3,,,,", "GOOD1,Dup,,,,piece,1,,,,"),
        skip_bad=True,
    )
    assert result.applied == 2 and result.rows == 4
    assert result.skipped_lines == [3, 5]
    assert [p.sku for p in catalog.iter_products()] == ["GOOD1", "P3"]
    assert catalog.by_sku("GOOD1").name == "好东西"  # the first GOOD1, not the duplicate
    [(_, _, payload)] = journal_of(store)
    assert payload["applied"] == 2 and payload["skipped_lines"] == [3, 5]


def test_skip_bad_with_a_barcode_clash_against_the_database(load, demo, catalog):
    result = load(file_of(f"NEW1,New,,{COLA},,piece,1,,,,", "NEW2,Fine,,,,piece,1,,,,"), skip_bad=True)
    assert result.skipped_lines == [2] and result.applied == 1
    assert catalog.by_sku("NEW1") is None and catalog.by_barcode(COLA).sku == "COLA330"


def test_skip_bad_does_not_let_a_good_row_take_from_a_dropped_row(store, load, demo, catalog):
    # COLA330 is bad (it claims APPLE's PLU and APPLE is not in the file), so it is dropped and
    # keeps its barcode; NEW1, which wanted to take that barcode from it, must then be refused
    # too instead of crashing the import on the barcodes table's primary key.
    result = load(
        file_of(
            "COLA330,Cola,,,10001,piece,3.50,,,,",
            f"NEW1,New cola,,{COLA},,piece,3.00,,,,",
            "NEW2,Fine,,,,piece,1,,,,",
        ),
        skip_bad=True,
    )
    assert result.skipped_lines == [2, 3]
    assert [(e.line, e.column) for e in result.errors] == [(2, "plu"), (3, "barcodes")]
    assert "COLA330" in result.errors[1].reason
    assert result.applied == 1 and catalog.by_sku("NEW2") is not None
    assert catalog.by_barcode(COLA).sku == "COLA330" and catalog.by_sku("COLA330").name == "可口可乐 330ml"


def test_more_bad_rows_than_are_reported_are_still_all_skipped(load, catalog):
    owners = [f"OLD{i},Old,,{ean(f'690100{i:06d}')},,piece,1,,,," for i in range(MAX_ERRORS + 5)]
    assert load(file_of(*owners)).applied == len(owners)
    # Every row but the last takes a barcode from a product that is not in the file.
    thieves = [f"NEW{i},New,,{ean(f'690100{i:06d}')},,piece,1,,,," for i in range(MAX_ERRORS + 5)]
    result = load(file_of(*thieves, "FINE,Fine,,,,piece,1,,,,"), skip_bad=True)
    assert len(result.errors) == MAX_ERRORS and result.errors_truncated
    assert len(result.skipped_lines) == MAX_ERRORS + 5
    assert result.applied == 1
    assert catalog.count() == len(owners) + 1 and catalog.by_sku(f"NEW{MAX_ERRORS + 4}") is None


def test_without_skip_bad_the_journal_is_untouched(store, load):
    load(file_of("P2,Name,,,,box,1,,,,"))
    assert journal_of(store) == []


# --- re-import


def test_reimport_updates_by_sku_and_replaces_barcodes(store, load, demo, catalog):
    result = load(file_of("COLA330,Coke,Coke,6900000000045,,piece,3.80,2.20,reduced,soda,0",
                          "TEA500,Tea,,,,piece,3.00,,,,"))
    assert result.applied == 2 and not result.errors
    cola = catalog.by_sku("COLA330")
    assert (cola.name, cola.price, cola.cost, cola.tax_class, cola.category, cola.active) == (
        "Coke", 380, 220, "reduced", "soda", False)
    assert catalog.barcodes_of("COLA330") == ["6900000000045"]  # took TEA500's, which gave it up
    assert catalog.barcodes_of("TEA500") == []
    assert catalog.by_barcode(COLA) is None and catalog.by_barcode("69012341") is None
    assert catalog.count() == 25  # products not in the file stay as they were
    assert catalog.by_sku("SPRITE330").price == 350
    assert len(journal_of(store)) == 2


def test_a_barcode_moves_between_products_in_one_file(load, demo, catalog):
    result = load(file_of("SPRITE330,Sprite,,6900000000021|69012341,,piece,3.50,,,,",
                          f"COLA330,Cola,,{COLA},,piece,3.50,,,,"))
    assert result.applied == 2, result.errors
    assert catalog.by_barcode("69012341").sku == "SPRITE330"
    assert catalog.barcodes_of("COLA330") == [COLA]


def test_two_products_swap_barcodes(load, demo, catalog):
    result = load(file_of(f"SPRITE330,Sprite,,{COLA},,piece,3.50,,,,",
                          "COLA330,Cola,,6900000000021,,piece,3.50,,,,"))
    assert result.applied == 2, result.errors
    assert catalog.by_barcode(COLA).sku == "SPRITE330"
    assert catalog.by_barcode("6900000000021").sku == "COLA330"


def test_a_plu_moves_and_plus_swap_in_one_file(load, demo, catalog):
    result = load(file_of("APPLE,Apples,,,10002,kg,12.80,,,,",
                          "BANANA,Bananas,,,10001,kg,6.98,,,,",
                          "ORANGE,Oranges,,,,kg,9.90,,,,",
                          "TOMATO,Tomatoes,,,10003,kg,5.60,,,,"))
    assert result.applied == 4, result.errors
    assert catalog.by_plu("10001").sku == "BANANA"
    assert catalog.by_plu("10002").sku == "APPLE"
    assert catalog.by_plu("10003").sku == "TOMATO"
    assert catalog.by_plu("10004") is None and catalog.by_sku("ORANGE").plu is None


# --- export


def test_export_writes_every_product_in_import_columns(catalog, demo):
    text = export_text(catalog)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == HEADER
    assert len(rows) == 25 and [r["sku"] for r in rows] == sorted(r["sku"] for r in rows)
    cola = next(r for r in rows if r["sku"] == "COLA330")
    assert cola == {
        "sku": "COLA330", "name": "可口可乐 330ml", "name_en": "Coca-Cola 330ml",
        "barcodes": "6900000000014|69012341", "plu": "", "unit": "piece", "price": "3.50", "cost": "2.10",
        "tax_class": "standard", "category": "drinks", "active": "1",
    }


def test_export_then_reimport_round_trips(catalog, load, demo):
    first = export_text(catalog)
    result = load(first)
    assert result.applied == 25 and not result.errors
    assert export_text(catalog) == first


def test_round_trip_of_awkward_values(catalog, load):
    rows = file_of(
        '"W1","Comma, ""quote"" and\nnewline","",,,kg,0.01,0,zero,,0',
        "W2,零元,,036000291452|69012341,7,piece,0,,,,yes",
    )
    assert load(rows).applied == 2
    first = export_text(catalog)
    assert load(first).applied == 2
    assert export_text(catalog) == first
    w1 = catalog.by_sku("W1")
    assert (w1.name, w1.price, w1.tax_class, w1.active) == ('Comma, "quote" and\nnewline', 1, "zero", False)


def test_export_count_and_exponent(catalog, load):
    load(file_of("P1,N,,,,piece,12.5,,,,"))
    out = io.StringIO()
    assert export_csv(catalog, out, 2) == 1
    assert "P1,N,,,,piece,12.50,0.00,standard,,1" in out.getvalue()
    assert "P1,N,,,,piece,1250,0,standard,,1" in export_text(catalog, exponent=0)  # yen-style


# --- volume


def test_twenty_thousand_rows(store, load, catalog):
    n = 20_000
    rows = [
        f"SKU{i:05d},商品 {i},Item {i},{ean(f'69{i:010d}')},{i if i % 4 == 0 else ''},"
        f"{'kg' if i % 4 == 0 else 'piece'},{i % 1000}.{i % 100:02d},,standard,cat{i % 50},1"
        for i in range(n)
    ]
    result = load(file_of(*rows))
    assert result.applied == n and not result.errors
    assert catalog.count() == n
    assert catalog.by_barcode(ean(f"69{12345:010d}")).sku == "SKU12345"
    assert catalog.by_plu("12344").sku == "SKU12344"
    assert len(journal_of(store)) == 1
