"""The console's parts without a screen: delivery orders file, battery files, labels, the keyboard map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual import events

from appliance.core.delivery_orders import OrderItem, OrderSource, is_order_code
from appliance.core.session import KeyEntry
from appliance.display.console.keys import KEYMAP, keypad_key
from appliance.display.console.labels import LABELS, Labels
from appliance.display.console.status import Battery, battery
from appliance.errors import DomainError, InputError, NotFound


def write_orders(folder: Path, orders: list) -> OrderSource:
    (folder / "delivery_orders.json").write_text(json.dumps(orders), encoding="utf-8")
    return OrderSource(folder)


ORDER = {"order_no": "A77", "items": [{"sku": "COLA330", "qty": 2}, {"sku": "WATER550", "qty": 1}], "total": 900,
         "paid": False}


@pytest.mark.parametrize("code", ["ORDA77", "ordA77", " ORDA77 ", "A77"])
def test_an_order_is_found_by_its_slip_barcode(tmp_path, code):
    order = write_orders(tmp_path, [ORDER]).find(code)
    assert order.order_no == "A77" and order.total == 900 and not order.paid
    assert order.items == (OrderItem("COLA330", 2), OrderItem("WATER550", 1))


def test_order_codes_are_told_from_product_barcodes():
    assert is_order_code("ORD1001") and is_order_code("ord9")
    assert not is_order_code("6900000000014")


def test_paying_an_order_marks_it_paid_and_a_second_scan_is_refused(tmp_path):
    source = write_orders(tmp_path, [ORDER, {**ORDER, "order_no": "B1"}])
    source.mark_paid("A77", "T01-000009")
    saved = json.loads(source.path.read_text(encoding="utf-8"))
    assert saved[0]["paid"] and saved[0]["receipt_no"] == "T01-000009" and not saved[1]["paid"]
    with pytest.raises(DomainError, match="already paid .receipt T01-000009"):
        source.find("ORDA77")
    assert source.find("ORDB1").order_no == "B1"
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed over the old one


def test_unknown_orders_and_a_missing_file(tmp_path):
    source = OrderSource(tmp_path)
    assert source.orders() == []
    with pytest.raises(NotFound, match="no delivery order ORD5"):
        source.find("ORD5")


@pytest.mark.parametrize("bad", [
    "not json",
    json.dumps({"order_no": "1"}),
    json.dumps([{"order_no": "1", "items": [], "total": 0, "paid": False}]),
    json.dumps([{"order_no": "1", "items": [{"sku": "X"}], "total": 0, "paid": False}]),
    json.dumps([{"order_no": "1", "items": [{"sku": "X", "qty": 0}], "total": 0, "paid": False}]),
])
def test_a_broken_orders_file_is_an_input_error_naming_the_file(tmp_path, bad):
    (tmp_path / "delivery_orders.json").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match="delivery_orders.json"):
        OrderSource(tmp_path).orders()


@given(st.lists(st.tuples(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True), st.integers(1, 99)), min_size=1,
                max_size=5), st.integers(0, 10**7))
def test_any_well_formed_order_reads_back_as_written(items, total):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        raw = {"order_no": "X1", "items": [{"sku": s, "qty": q} for s, q in items], "total": total, "paid": False}
        order = write_orders(Path(folder), [raw]).find("ORDX1")
    assert order.items == tuple(OrderItem(s, q) for s, q in items) and order.total == total


# --- battery


def supply(folder: Path, name: str, kind: str, capacity: str = "", status: str = "") -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "type").write_text(kind + "\n")
    if capacity:
        (folder / name / "capacity").write_text(capacity + "\n")
        (folder / name / "status").write_text(status + "\n")


def test_the_battery_is_read_from_the_power_supply_folder(tmp_path):
    supply(tmp_path, "AC", "Mains")
    supply(tmp_path, "BAT1", "Battery", "87", "Discharging")
    assert battery(tmp_path) == Battery(87, "Discharging")


def test_no_battery_on_a_mains_board_and_broken_files_are_skipped(tmp_path):
    assert battery(tmp_path / "absent") is None
    supply(tmp_path, "AC", "Mains")
    supply(tmp_path, "BAT0", "Battery", "garbage", "Charging")
    assert battery(tmp_path) is None
    supply(tmp_path, "BAT1", "Battery", "140", "Full")
    assert battery(tmp_path) == Battery(100, "Full")  # a gauge reading past 100 % is shown as full


# --- labels and keys


def test_every_label_is_in_both_languages_and_a_bad_language_is_refused():
    assert all(zh and en and zh != "" for zh, en in LABELS.values())
    assert Labels("zh")("total") == "合计" and Labels("en")("total") == "Total"
    with pytest.raises(ValueError, match="zh, en"):
        Labels("fr")


def test_the_keyboard_reaches_every_keypad_key():
    keypad_keys = {"ENTER", "QTY", "VOID", "SUBTOTAL", "CASH", "CARD", "WALLET", "SV", "CLEAR", "CANCEL", "SUSPEND",
                   "MEMBER", "DONE"}
    assert keypad_keys | {"MENU"} == set(KEYMAP.values())
    entry = KeyEntry(2)
    for key in keypad_keys - {"ENTER", "MEMBER", "QTY"}:  # these want an entry first
        entry.press(key)  # KeyEntry knows every name the keyboard sends: none raises "does nothing here"
    assert keypad_key(events.Key("7", "7")) == "7" and keypad_key(events.Key("full_stop", ".")) == "."
    assert keypad_key(events.Key("f5", None)) == "CASH" and keypad_key(events.Key("z", "z")) is None
