"""Processing restrictions (EMV Book 3 10.4): each TVR bit it can set."""

from __future__ import annotations

import pytest

from appliance.emv.model import AidConfig, Transaction
from appliance.emv.restrictions import CASH, CASHBACK, check, usage_allowed
from appliance.emv.tvr import tvr
from tests.emv.personalise import VISA_AID, test_terminal_config

CONFIG = test_terminal_config()
AID = AidConfig(VISA_AID, "VISA")
GOOD = {0x9F08: b"\x00\x8c", 0x9F07: b"\xff\x00", 0x5F28: b"\x01\x56", 0x5F25: bytes.fromhex("200101"),
        0x5F24: bytes.fromhex("291231")}


def run(tags: dict, txn: Transaction = Transaction(amount=100), date: str = "261123", config=CONFIG):
    bits = tvr()
    found = check({**GOOD, **tags}, date, txn, config, AID, bits)
    return bits, found


def test_a_good_card_sets_nothing():
    bits, found = run({})
    assert bits.hex() == "0000000000" and found == []


def test_different_application_versions():
    bits, found = run({0x9F08: b"\x00\x8d"})
    assert bits.describe() == ["ICC and terminal have different application versions"]
    assert "008D" in found[0]


def test_no_card_version_is_no_check():
    tags = dict(GOOD)
    del tags[0x9F08]
    bits = tvr()
    check(tags, "261123", Transaction(amount=1), CONFIG, AID, bits)
    assert bits.hex() == "0000000000"


def test_expired_and_not_yet_effective():
    assert run({0x5F24: bytes.fromhex("261122")})[0].describe() == ["expired application"]
    assert run({0x5F24: bytes.fromhex("261123")})[0].hex() == "0000000000"  # valid through its expiry day
    assert run({0x5F25: bytes.fromhex("261124")})[0].describe() == ["application not yet effective"]
    # the century window: 49 is 2049, 50 is 1950
    assert run({0x5F24: bytes.fromhex("491231")})[0].hex() == "0000000000"
    assert run({0x5F24: bytes.fromhex("501231")})[0].describe() == ["expired application"]


@pytest.mark.parametrize(("auc", "issuer_country", "txn_type", "allowed"), [
    ("FF00", "0156", 0x00, True),
    ("2100", "0156", 0x00, True),  # domestic goods only, domestic transaction
    ("2100", "0840", 0x00, False),  # ... abroad
    ("1100", "0840", 0x00, True),  # international goods
    ("0500", "0840", 0x00, True),  # international services: either is enough
    ("FE00", "0156", 0x00, False),  # not valid at terminals other than ATMs
    ("8100", "0156", CASH, True), ("4100", "0156", CASH, False), ("4100", "0840", CASH, True),
    ("2180", "0156", CASHBACK, True), ("2100", "0156", CASHBACK, False), ("1140", "0840", CASHBACK, True),
    ("0100", "0156", 0x20, True),  # refunds are not restricted
])
def test_application_usage_control(auc: str, issuer_country: str, txn_type: int, allowed: bool):
    bits, found = run({0x9F07: bytes.fromhex(auc), 0x5F28: bytes.fromhex(issuer_country)},
                      Transaction(amount=100, type=txn_type))
    assert bits.is_set(2, 5) is (not allowed)
    assert bool(found) is (not allowed)


def test_usage_control_at_an_atm():
    assert usage_allowed(b"\x82\x00", domestic=True, atm=True, txn_type=CASH)
    assert not usage_allowed(b"\x81\x00", domestic=True, atm=True, txn_type=CASH)
    atm = test_terminal_config(terminal_type=0x14)
    assert run({0x9F07: b"\x81\x00"}, Transaction(amount=1, type=CASH), config=atm)[0].is_set(2, 5)


def test_unknown_issuer_country_counts_as_international():
    tags = {**GOOD, 0x9F07: b"\x21\x00"}
    del tags[0x5F28]
    bits = tvr()
    check(tags, "261123", Transaction(amount=1), CONFIG, AID, bits)
    assert bits.is_set(2, 5)
