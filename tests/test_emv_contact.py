"""The contact kernel end to end against the emulated cards (EMV Book 3 10), in process."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from appliance.emv import contact
from appliance.emv.apdu import Channel
from appliance.emv.model import AidConfig, Transaction
from appliance.emv.tlv import decode
from appliance.emv.tvr import tsi, tvr
from appliance.native.secret import Secret
from tests.emv.card import EmvCard, command_names
from tests.emv.issuer import TestIssuer, icc_tags
from tests.emv.keys import APPROVE, DECLINE, EXPIRED, MASTERCARD, PIN_BLOCKED
from tests.emv.personalise import (AIP_SDA, MASTERCARD_AID, VISA_AID, application, card_declined, card_expired,
                                   card_no_pse_dda_offline_pin, card_online_pin, card_pin_blocked, card_pse_sda,
                                   record, test_terminal_config, track2)
from tests.emv.scripted import ScriptedCardholder, in_process

CONFIG = test_terminal_config()
TXN = Transaction(amount=12_345, date="261123", time="101500")
NOW = datetime(2026, 11, 23, 10, 15)
PANS = (APPROVE, DECLINE, EXPIRED, MASTERCARD, PIN_BLOCKED)


def transact(card: EmvCard, *, pins=(), issuer: TestIssuer | None = None, config=CONFIG, txn=TXN, choice=0):
    issuer = issuer or TestIssuer()
    outcome = contact.run(Channel(in_process(card)), config, txn, ScriptedCardholder(choice, list(pins)), issuer,
                          rng=random.Random(7), now=NOW)
    text = "\n".join(outcome.trace) + outcome.reason + repr(outcome)
    for pan in PANS:  # never a full PAN or track data in the trace, the reason or the repr
        assert pan not in text
        assert track2(pan, "291231").hex().upper()[:16] not in text.upper()
    return outcome, issuer


def test_pse_sda_card_approved_online():
    card = card_pse_sda()
    outcome, issuer = transact(card)
    assert (outcome.decision, outcome.reason) == ("approved", "approved by the bank (00)")
    assert outcome.approved and outcome.auth_code == "A1B2C3" and outcome.response_code == "00"
    assert (outcome.aid, outcome.label) == (VISA_AID, "VISA TEST")
    assert (outcome.masked_pan, outcome.expiry, outcome.psn) == ("476173******0119", "2912", "01")
    assert outcome.pan == Secret(APPROVE.encode())
    assert (outcome.cvm, outcome.cvm_results, outcome.signature_required) == ("signature", bytes.fromhex("1E0300"), True)
    assert tvr(outcome.tvr).describe() == ["transaction exceeds floor limit"]
    assert tsi(outcome.tsi).describe() == ["offline data authentication was performed",
                                           "cardholder verification was performed",
                                           "card risk management was performed",
                                           "terminal risk management was performed"]
    assert outcome.cryptogram_type == "TC" and len(outcome.cryptogram) == 8
    # The online request: an ARQC the issuer could verify from field 55 alone
    assert issuer.arqc_checks == [True]
    request = issuer.requests[0]
    assert request.pan == Secret(APPROVE.encode()) and request.track2 == Secret(track2(APPROVE, "291231"))
    assert (request.psn, request.expiry, request.entry_mode, request.pin) == ("01", "2912", "051", None)
    online = icc_tags(request.icc_data)
    assert list(online) == [0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82,
                            0x9F1A, 0x9F03, 0x9F34, 0x9F33, 0x9F35, 0x84, 0x9F09, 0x5F34]
    assert online[0x9F27] == b"\x80" and online[0x9F02] == bytes.fromhex("000000012345")
    assert online[0x9F10][:3] == bytes.fromhex("06010A")
    final = icc_tags(outcome.icc_data)
    assert final[0x9F27] == b"\x40" and final[0x9F26] == outcome.cryptogram and final[0x9F36] == online[0x9F36]
    # no issuer authentication in the AIP: the ARPC went to the card inside the second GENERATE AC
    sent = command_names(card.received)
    assert sent[-2:] == ["GENERATE AC", "GENERATE AC"] and "EXTERNAL AUTHENTICATE" not in sent
    assert card.received[-1][5:7] == b"00"  # 8A first in CDOL2
    assert any("SDA ok" in line for line in outcome.trace)
    assert "TVR 0000008000: transaction exceeds floor limit" in outcome.trace


def test_no_pse_dda_offline_pin_with_issuer_authentication():
    card = card_no_pse_dda_offline_pin()
    outcome, issuer = transact(card, pins=["1234"])
    assert outcome.decision == "approved"
    assert (outcome.cvm, outcome.cvm_results) == ("offline plaintext PIN", bytes.fromhex("410302"))
    assert tsi(outcome.tsi).is_set(1, 5)  # issuer authentication was performed
    assert command_names(card.received) == [
        "SELECT", "SELECT", "SELECT", "SELECT", "GET PROCESSING OPTIONS", *["READ RECORD"] * 4, "INTERNAL AUTHENTICATE",
        "GET DATA", "VERIFY", "GET DATA", "GET DATA", "GENERATE AC", "EXTERNAL AUTHENTICATE", "GENERATE AC"]
    assert issuer.arqc_checks == [True]
    assert any(line == "DDA ok" for line in outcome.trace)


def test_declined_by_the_bank():
    card = card_declined()
    outcome, issuer = transact(card)
    assert (outcome.decision, outcome.reason, outcome.response_code) == ("declined", "declined by the bank (05)", "05")
    assert outcome.cryptogram_type == "AAC" and card.received[-1][2] == 0x00  # AAC asked in the 2nd GENERATE AC


def test_declined_by_the_card_at_the_first_generate_ac():
    app = application(APPROVE)
    app.decline = True
    outcome, issuer = transact(EmvCard([app]))
    assert (outcome.decision, outcome.reason, outcome.cryptogram_type) == ("declined", "declined by the card", "AAC")
    assert issuer.requests == []


def test_expired_card_declined_by_the_terminal():
    outcome, issuer = transact(card_expired())
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the terminal: expired application")
    assert issuer.requests == [] and outcome.cryptogram_type == "AAC"


def test_pin_blocked_card_declined():
    outcome, _ = transact(card_pin_blocked())
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the terminal: PIN try limit exceeded")
    assert outcome.cvm == "failed" and tvr(outcome.tvr).is_set(3, 6)


def test_online_pin_travels_in_the_request_and_a_wrong_one_is_declined():
    outcome, issuer = transact(card_online_pin(), pins=["1234"])
    assert outcome.decision == "approved" and issuer.requests[0].pin == Secret(b"1234")
    assert tvr(outcome.tvr).is_set(3, 3)
    outcome, issuer = transact(card_online_pin(), pins=["9999"])
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the bank (55)")


def test_unable_to_go_online_declines_by_default_action():
    card = card_pse_sda()
    outcome, _ = transact(card, issuer=TestIssuer(unreachable=True))
    assert outcome.decision == "declined_offline"
    assert outcome.reason == "declined offline: the bank could not be reached (transaction exceeds floor limit)"
    assert card.received[-1][5:7] == b"Z3" and outcome.cryptogram_type == "AAC"


def test_unable_to_go_online_approves_when_the_default_codes_allow():
    lenient = test_terminal_config(aids=(AidConfig(VISA_AID, "VISA", tac_default=bytes(5)),))
    card = card_pse_sda()
    outcome, _ = transact(card, issuer=TestIssuer(unreachable=True), config=lenient)
    assert (outcome.decision, outcome.cryptogram_type) == ("approved_offline", "TC")
    assert card.received[-1][5:7] == b"Y3"


def test_offline_approval_below_the_floor_limit():
    offline = test_terminal_config(aids=(AidConfig(VISA_AID, "VISA", floor_limit=50_000),))
    outcome, issuer = transact(card_pse_sda(), config=offline)
    assert (outcome.decision, outcome.reason, outcome.cryptogram_type) == ("approved_offline", "approved offline", "TC")
    assert issuer.requests == [] and outcome.tvr == bytes(5)


def test_issuer_authentication_failure_by_external_authenticate():
    outcome, _ = transact(card_no_pse_dda_offline_pin(), pins=["1234"], issuer=TestIssuer(tamper_arpc=True))
    assert tvr(outcome.tvr).describe() == ["transaction exceeds floor limit", "issuer authentication failed"]
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the card: issuer authentication failed")
    assert any("issuer authentication failed (6300)" in line for line in outcome.trace)


def test_issuer_authentication_failure_inside_the_second_generate_ac():
    outcome, _ = transact(card_pse_sda(), issuer=TestIssuer(tamper_arpc=True))
    assert (outcome.decision, outcome.reason) == ("declined", "declined by the card after the bank approved (00)")


def test_card_removed_at_generate_ac():
    outcome, issuer = transact(card_pse_sda(pull_at="GENERATE AC"))
    assert (outcome.decision, outcome.reason) == ("failed", "card removed")
    assert outcome.masked_pan == "476173******0119" and issuer.requests == []


def test_t0_card_with_61xx_and_6cxx():
    card = card_no_pse_dda_offline_pin(t0=True)
    outcome, _ = transact(card, pins=["1234"])
    assert outcome.decision == "approved"
    assert "GET RESPONSE" in command_names(card.received)
    reads = [apdu for apdu in card.received if apdu[1] == 0xB2]
    assert reads[0][4] == 0x00 and reads[1][4] != 0x00  # 6Cxx: the same READ RECORD again with the right Le


def test_gpo_refused_tries_the_next_application():
    refusing = application(APPROVE, priority=1)
    refusing.refuse_gpo = True
    card = EmvCard([refusing, application(MASTERCARD, aid=MASTERCARD_AID, label="MC", priority=2)])
    outcome, _ = transact(card)
    assert outcome.decision == "approved" and outcome.aid == MASTERCARD_AID
    assert any("GPO refused (6985)" in line for line in outcome.trace)
    only = application(APPROVE)
    only.refuse_gpo = True
    outcome, _ = transact(EmvCard([only]))
    assert outcome.decision == "failed" and "try another card or interface" in outcome.reason


def test_cardholder_cancels_the_choice():
    card = EmvCard([application(APPROVE), application(MASTERCARD, aid=MASTERCARD_AID, label="MC")])
    outcome, _ = transact(card, choice=None)
    assert outcome.decision == "cancelled"


def test_no_common_application():
    outcome, _ = transact(EmvCard([application(APPROVE, aid=bytes.fromhex("A0000000651010"))]))
    assert outcome.decision == "failed" and "no application this terminal accepts" in outcome.reason


def test_gpo_answer_without_afl_fails_before_reading_records():
    app = application(APPROVE)
    app.gpo_format, app.afl = 2, b""  # Book 3 6.5.8.4: a contact card's GPO answer must carry 94
    card = EmvCard([app])
    outcome, issuer = transact(card)
    assert (outcome.decision, outcome.reason) == ("failed", "the GET PROCESSING OPTIONS answer lacks 94 (AFL)")
    assert command_names(card.received)[-1] == "GET PROCESSING OPTIONS" and issuer.requests == []


def test_missing_mandatory_data_fails():
    app = application(APPROVE)
    data = {node.tag: node.value for node in decode(app.records[(2, 1)])[0].children if node.tag != 0x8D}
    app.records[(2, 1)] = record(data)
    outcome, _ = transact(EmvCard([app]))
    assert outcome.decision == "failed" and outcome.reason == "the card lacks mandatory data: 8D (CDOL2)"


def test_sda_failure_is_recorded_and_the_bank_decides():
    app = application(APPROVE)
    app.records[(1, 1)] = app.records[(1, 1)].replace(b"TEST/CARD", b"TEST/CARE")
    outcome, _ = transact(EmvCard([app]))
    assert tvr(outcome.tvr).describe() == ["SDA failed", "transaction exceeds floor limit"]
    assert outcome.decision == "approved"


def test_cda_only_card_is_not_authenticated_offline():
    outcome, _ = transact(EmvCard([application(APPROVE, oda=None, aip=bytes.fromhex("1901"))]))
    assert tvr(outcome.tvr).is_set(1, 8) and not tsi(outcome.tsi).is_set(1, 8)
    assert any("only CDA" in line for line in outcome.trace)


def test_card_may_not_upgrade_the_cryptogram():
    card = card_pse_sda()
    answer = card.transmit

    def upgrading(apdu: bytes):
        data, sw1, sw2 = answer(apdu)
        if apdu[1] == 0xAE and data[2] == 0x80:  # format 1: CID first; turn the ARQC into a TC
            data = data[:2] + b"\x40" + data[3:]
        return data, sw1, sw2

    card.transmit = upgrading
    outcome, _ = transact(card)
    assert outcome.decision == "failed" and "answered TC to a request for ARQC" in outcome.reason


def test_generate_ac_format_2_answers():
    app = application(APPROVE)
    app.gac_format = 2
    app.gpo_format = 2
    outcome, issuer = transact(EmvCard([app]))
    assert outcome.decision == "approved" and issuer.arqc_checks == [True]


def test_aip_without_risk_management_skips_it():
    outcome, _ = transact(EmvCard([application(APPROVE, aip=bytes([AIP_SDA[0] & ~0x08, 0]))]))
    assert not tsi(outcome.tsi).is_set(1, 4)
    assert outcome.decision == "approved_offline"  # nothing in the TVR asks to go online


def test_unpredictable_number_from_the_seeded_rng_or_the_transaction():
    first, _ = transact(card_pse_sda())
    again, _ = transact(card_pse_sda())
    assert icc_tags(first.icc_data)[0x9F37] == icc_tags(again.icc_data)[0x9F37]
    fixed, _ = transact(card_pse_sda(), txn=Transaction(amount=1, date="261123", unpredictable_number=b"\x01\x02\x03\x04"))
    assert icc_tags(fixed.icc_data)[0x9F37] == b"\x01\x02\x03\x04"


@pytest.mark.parametrize("pull_at", ["SELECT", "READ RECORD", "VERIFY", "EXTERNAL AUTHENTICATE"])
def test_card_removed_at_any_step_is_failed(pull_at: str):
    outcome, _ = transact(card_no_pse_dda_offline_pin(pull_at=pull_at), pins=["1234"])
    assert (outcome.decision, outcome.reason) == ("failed", "card removed")
