"""The console's parts without a screen: battery files, labels, the keyboard map."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from appliance.core.session import KeyEntry
from appliance.display.console.keys import KEYMAP, keypad_key
from appliance.display.console.labels import LABELS, Labels
from appliance.display.console.status import Battery, battery


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
