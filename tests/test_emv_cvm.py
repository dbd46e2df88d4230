"""Cardholder verification (EMV Book 3 10.5, Annex C3): each method, each condition, PIN retries and bypass."""

from __future__ import annotations

import pytest

from appliance.emv import cvm
from appliance.emv.model import Transaction
from appliance.emv.tvr import tvr
from appliance.native.secret import Secret
from tests.emv.personalise import test_terminal_config
from tests.emv.scripted import ScriptedCardholder, ScriptedTransport

CONFIG = test_terminal_config()
PTC = "9F170103"  # GET DATA answer: 3 tries left
GET_PTC = "80CA9F17"
VERIFY_1234 = "0020008008241234FFFFFFFFFF"


def run(rules: str, script=(), pins=(), *, x: int = 0, y: int = 0, txn=Transaction(amount=1000), config=CONFIG,
        aip=b"\x10\x00", tags=None):
    cvm_list = x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes.fromhex(rules)
    transport = ScriptedTransport(list(script))
    cardholder = ScriptedCardholder(pins=list(pins))
    bits = tvr()
    result = cvm.verify(transport.channel(), {0x8E: cvm_list, 0x9F42: b"\x01\x56", **(tags or {})}, aip, txn,
                        config, cardholder, bits)
    assert transport.finished, "the card script was not used up"
    return result, bits, cardholder


def test_card_without_cvm_support_is_not_performed():
    result, bits, _ = run("1E03", aip=b"\x00\x00")
    assert (result.method, result.results, result.performed) == ("CVM not performed", bytes.fromhex("3F0000"), False)
    assert bits.hex() == "0000000000"


def test_no_cvm_list_is_icc_data_missing():
    bits = tvr()
    result = cvm.verify(ScriptedTransport([]).channel(), {}, b"\x10\x00", Transaction(amount=1), CONFIG,
                        ScriptedCardholder(), bits)
    assert not result.performed and bits.describe() == ["ICC data missing"]


def test_signature():
    result, bits, _ = run("1E03")
    assert (result.method, result.results, result.signature) == ("signature", bytes.fromhex("1E0300"), True)
    assert bits.hex() == "0000000000"


def test_no_cvm_required():
    result, _, _ = run("1F03")
    assert (result.method, result.results, result.signature) == ("no CVM", bytes.fromhex("1F0302"), False)


def test_offline_plaintext_pin():
    result, bits, cardholder = run("4103", [(GET_PTC, PTC + "9000"), (VERIFY_1234, "9000")], ["1234"])
    assert (result.method, result.results) == ("offline plaintext PIN", bytes.fromhex("410302"))
    assert cardholder.pin_requests == [(False, 3)]
    assert bits.hex() == "0000000000"


def test_wrong_pin_is_asked_again_with_the_tries_left():
    result, bits, cardholder = run("0100", [(GET_PTC, PTC + "9000"), ("0020008008241111", "63C2"),
                                            (VERIFY_1234, "9000")], ["1111", "1234"])
    assert result.method == "offline plaintext PIN"
    assert cardholder.pin_requests == [(False, 3), (False, 2)]
    assert "wrong PIN, 2 tries left" in result.notes


def test_pin_blocked_by_wrong_tries_then_the_next_rule():
    script = [(GET_PTC, PTC + "9000"), ("0020008008241111", "63C2"), ("0020008008241111", "63C1"),
              ("0020008008241111", "63C0")]
    result, bits, _ = run("41031E03", script, ["1111"] * 3)
    assert result.method == "signature"
    assert bits.describe() == ["PIN try limit exceeded"]


def test_pin_blocked_without_a_next_rule_fails():
    result, bits, _ = run("01001E03", [(GET_PTC, PTC + "9000"), (VERIFY_1234, "6983")], ["1234"])
    assert (result.method, result.results) == ("failed", bytes.fromhex("010001"))
    assert bits.describe() == ["cardholder verification was not successful", "PIN try limit exceeded"]
    assert not result.signature


def test_try_counter_zero_sends_no_verify():
    result, bits, cardholder = run("0100", [(GET_PTC, "9F1701009000")])
    assert result.method == "failed" and cardholder.pin_requests == []
    assert bits.is_set(3, 6) and bits.is_set(3, 8)


def test_try_counter_unavailable_still_asks():
    _, _, cardholder = run("0100", [(GET_PTC, "6A88"), (VERIFY_1234, "9000")], ["1234"])
    assert cardholder.pin_requests == [(False, None)]


def test_pin_bypass_goes_to_the_next_rule():
    result, bits, _ = run("41031F03", [(GET_PTC, PTC + "9000")], [None])
    assert result.method == "no CVM"
    assert bits.describe() == ["PIN entry required, PIN pad present, but PIN was not entered"]


def test_a_pin_that_is_not_4_to_12_digits_is_not_sent_to_the_card():
    result, bits, _ = run("41031F03", [(GET_PTC, PTC + "9000")], ["12"])
    assert result.method == "no CVM" and bits.is_set(3, 4)


def test_online_pin():
    result, bits, cardholder = run("4203", pins=["4321"])
    assert (result.method, result.results) == ("online PIN", bytes.fromhex("420300"))
    assert result.online_pin == Secret(b"4321") and "4321" not in repr(result)
    assert bits.describe() == ["online PIN entered"] and cardholder.pin_requests == [(True, None)]


def test_online_pin_bypassed_then_signature():
    result, bits, _ = run("42031E03", pins=[None])
    assert result.method == "signature" and result.online_pin is None
    assert bits.is_set(3, 4) and not bits.is_set(3, 3)


def test_no_pin_pad_fails_pin_methods():
    result, bits, _ = run("02001E00", config=test_terminal_config(pin_pad=False))
    assert result.method == "failed"
    assert bits.describe() == ["cardholder verification was not successful",
                               "PIN entry required and PIN pad not present or not working"]


def test_plaintext_pin_and_signature():
    result, _, _ = run("0300", [(GET_PTC, PTC + "9000"), (VERIFY_1234, "9000")], ["1234"])
    assert (result.method, result.results, result.signature) == (
        "offline plaintext PIN and signature", bytes.fromhex("030000"), True)


@pytest.mark.parametrize("method", ["44", "45"])
def test_enciphered_offline_pin_is_not_supported_so_the_next_rule_applies(method: str):
    result, bits, _ = run(method + "001E00")
    assert result.method == "signature" and not bits.is_set(3, 7)
    assert any("not supported" in note for note in result.notes)


def test_unsupported_method_without_bit_7_ends_in_failure():
    result, bits, _ = run("04001E00")
    assert (result.method, result.results) == ("failed", bytes.fromhex("040001"))
    assert bits.is_set(3, 8)


def test_unrecognised_method():
    result, bits, _ = run("50001F00")  # 0x10: not an EMV method
    assert result.method == "no CVM" and bits.describe() == ["unrecognised CVM"]


def test_fail_cvm_processing():
    result, bits, _ = run("00001F00")
    assert (result.method, result.results) == ("failed", bytes.fromhex("000001"))
    assert bits.is_set(3, 8)


def test_no_condition_met_fails_with_3f():
    result, bits, _ = run("1E05")  # cashback only, on a purchase
    assert (result.method, result.results) == ("failed", bytes.fromhex("3F0001"))
    assert bits.describe() == ["cardholder verification was not successful"]


def test_unknown_condition_is_skipped():
    result, _, _ = run("1E0A1F00")
    assert result.method == "no CVM"


UNATTENDED = test_terminal_config(terminal_type=0x25)


@pytest.mark.parametrize(("condition", "txn_type", "config", "met"), [
    (0x01, 0x01, UNATTENDED, True), (0x01, 0x01, CONFIG, False), (0x01, 0x00, UNATTENDED, False),
    (0x02, 0x00, CONFIG, True), (0x02, 0x01, CONFIG, False), (0x02, 0x09, CONFIG, False),
    (0x04, 0x01, CONFIG, True), (0x04, 0x01, UNATTENDED, False),
    (0x05, 0x09, CONFIG, True), (0x05, 0x00, CONFIG, False),
])
def test_transaction_type_conditions(condition: int, txn_type: int, config, met: bool):
    result, _, _ = run(f"1E{condition:02X}1F00", txn=Transaction(amount=1, type=txn_type), config=config)
    assert result.method == ("signature" if met else "no CVM")


def test_condition_3_is_terminal_support():
    no_signature = test_terminal_config(capabilities=bytes.fromhex("E0C8C8"))
    assert run("1E031F03")[0].method == "signature"
    assert run("1E031F03", config=no_signature)[0].method == "no CVM"


@pytest.mark.parametrize(("condition", "amount", "met"), [
    (0x06, 999, True), (0x06, 1000, False), (0x07, 1001, True), (0x07, 1000, False),
    (0x08, 4999, True), (0x08, 5000, False), (0x09, 5001, True), (0x09, 5000, False),
])
def test_amount_conditions_against_x_and_y(condition: int, amount: int, met: bool):
    result, _, _ = run(f"1E{condition:02X}1F00", x=1000, y=5000, txn=Transaction(amount=amount))
    assert result.method == ("signature" if met else "no CVM")


def test_amount_conditions_need_the_application_currency():
    result, _, _ = run("1E061F00", x=1000, txn=Transaction(amount=1), tags={0x9F42: b"\x08\x40"})
    assert result.method == "no CVM"


def test_pin_block():
    assert cvm.pin_block(b"1234") == bytes.fromhex("241234FFFFFFFFFF")
    assert cvm.pin_block(b"123456789012") == bytes.fromhex("2C123456789012FF")
    with pytest.raises(ValueError):
        cvm.pin_block(b"12a4")
