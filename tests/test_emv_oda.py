"""Offline data authentication (EMV Book 2 5-6): SDA and DDA against certificates from the test keys."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.emv import apdu
from appliance.emv.apdu import Channel
from appliance.emv.oda import OdaError, ca_key, recover, recover_icc_key, recover_issuer_key, verify_dda, verify_sda
from appliance.emv.records import gpo, read_afl
from appliance.emv.tlv import encode
from tests.emv.card import EmvCard
from tests.emv.keys import APPROVE, MASTERCARD
from tests.emv.personalise import (CA_INDEX, MASTERCARD_AID, VISA_AID, application, key, modulus, record,
                                   test_terminal_config)
from tests.emv.scripted import ScriptedTransport, in_process

CONFIG = test_terminal_config()
TODAY = date(2026, 11, 23)
TERMINAL = {0x9F37: bytes.fromhex("DEADBEEF")}


def read(app, aid: bytes = VISA_AID):
    """Select, GPO and read records as the kernel does: (channel, card tags, static data, AIP)."""
    card = EmvCard([app])
    channel = Channel(in_process(card))
    channel.exchange(apdu.select(aid))
    processing = gpo(channel, b"", {})
    data = read_afl(channel, processing.afl)
    return channel, {**data.tags, 0x82: processing.aip}, data.static_data, processing.aip, card


def test_sda_verifies_real_certificates():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda"))
    verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)


def test_sda_for_mastercard_uses_the_ca_key_under_its_rid():
    _, tags, static, aip, _ = read(application(MASTERCARD, aid=MASTERCARD_AID, oda="sda"), MASTERCARD_AID)
    verify_sda(CONFIG, MASTERCARD_AID, tags, static, aip, today=TODAY)
    only_visa = test_terminal_config(ca_keys=CONFIG.ca_keys[:1])
    with pytest.raises(OdaError, match="no CA key 92 for RID A000000004"):
        verify_sda(only_visa, MASTERCARD_AID, tags, static, aip, today=TODAY)


def test_sda_fails_on_a_tampered_record():
    app = application(APPROVE, oda="sda")
    signed = app.records[(2, 1)]
    at = signed.index(bytes.fromhex("5F2403")) + 3  # the expiry date inside the signed record
    app.records[(2, 1)] = signed[:at] + b"\x39" + signed[at + 1:]
    _, tags, static, aip, _ = read(app)
    with pytest.raises(OdaError, match="signed static data hash does not match"):
        verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)


def test_sda_fails_when_the_aip_differs_from_the_signed_one():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda"))
    with pytest.raises(OdaError, match="hash does not match"):
        verify_sda(CONFIG, VISA_AID, tags, static, b"\x40\x00", today=TODAY)


def test_unknown_ca_index():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda", ca_index=0x99))
    with pytest.raises(OdaError, match="no CA key 99 for RID A000000003"):
        verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)


def test_expired_ca_key_is_not_used():
    expired = [k.__class__(k.rid, k.index, k.modulus, k.exponent, expiry="251231") for k in CONFIG.ca_keys]
    with pytest.raises(OdaError, match="has expired"):
        ca_key(test_terminal_config(ca_keys=tuple(expired)), VISA_AID, {0x8F: bytes([CA_INDEX])}, TODAY)


def test_expired_issuer_certificate():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda", issuer_expiry="1025"))
    with pytest.raises(OdaError, match="issuer certificate expired at the end of 10/25"):
        verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)
    verify_sda(CONFIG, VISA_AID, tags, static, aip, today=date(2025, 10, 31))  # valid to the end of its month


def test_issuer_certificate_for_another_issuer():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda"))
    tags[0x5A] = bytes.fromhex("5413330089010418")
    with pytest.raises(OdaError, match="another issuer"):
        recover_issuer_key(CONFIG.ca_keys[0], tags, today=TODAY)


def test_missing_certificate_is_icc_data_missing():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda"))
    del tags[0x93]
    with pytest.raises(OdaError) as raised:
        verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)
    assert raised.value.missing and raised.value.code == "icc_data_missing"
    del tags[0x92]
    with pytest.raises(OdaError, match="remainder"):
        recover_issuer_key(CONFIG.ca_keys[0], tags, today=TODAY)


def test_static_data_tag_list_may_only_name_the_aip():
    _, tags, static, aip, _ = read(application(APPROVE, oda="sda", extra={0x9F4A: b"\x5a"}))
    with pytest.raises(OdaError, match="only 82 is allowed"):
        verify_sda(CONFIG, VISA_AID, tags, static, aip, today=TODAY)


def test_recover_refuses_wrong_sizes_and_framing():
    n = modulus(key("ca"))
    with pytest.raises(OdaError, match="is 3 bytes"):
        recover(b"\x01\x02\x03", n, 3, "test block")
    with pytest.raises(OdaError, match="not a valid signature"):
        recover(b"\xff" * len(n), n, 3, "test block")
    with pytest.raises(OdaError, match="header 6A and trailer BC"):
        recover(b"\x00" * (len(n) - 1) + b"\x02", n, 3, "test block")


def test_dda_verifies_the_cards_signature_over_the_default_ddol():
    channel, tags, static, aip, card = read(application(APPROVE, oda="dda"))
    issuer = recover_issuer_key(CONFIG.ca_keys[0], tags, today=TODAY)
    icc = recover_icc_key(issuer, tags, static, aip, today=TODAY)
    assert icc == (modulus(key("icc")), 65537)
    verify_dda(channel, CONFIG, VISA_AID, tags, static, aip, TERMINAL, today=TODAY)
    assert card.received[-1] == bytes.fromhex("0088000004DEADBEEF00")  # 9F37 04: the unpredictable number


def test_dda_uses_the_cards_ddol():
    channel, tags, static, aip, card = read(application(APPROVE, oda="dda", extra={0x9F49: bytes.fromhex("9F3704")}))
    tags[0x9F49] = bytes.fromhex("9F37049F0206")  # only the terminal reads it; the card signs whatever it gets
    verify_dda(channel, CONFIG, VISA_AID, tags, static, aip, {**TERMINAL, 0x9F02: bytes(5) + b"\x01"}, today=TODAY)
    assert card.received[-1] == bytes.fromhex("008800000ADEADBEEF00000000000100")


def test_dda_wrong_signature():
    app = application(APPROVE, oda="dda")
    app.bad_dda_signature = True
    channel, tags, static, aip, _ = read(app)
    with pytest.raises(OdaError, match="signed dynamic data hash does not match"):
        verify_dda(channel, CONFIG, VISA_AID, tags, static, aip, TERMINAL, today=TODAY)


def test_dda_with_a_tampered_signed_record_fails_at_the_icc_certificate():
    app = application(APPROVE, oda="dda")
    app.records[(1, 1)] = record({0x57: bytes.fromhex("4761739001010119D2912201"),
                                  0x5F20: b"MALLORY/M"})
    channel, tags, static, aip, _ = read(app)
    with pytest.raises(OdaError, match="ICC certificate hash does not match"):
        verify_dda(channel, CONFIG, VISA_AID, tags, static, aip, TERMINAL, today=TODAY)


def test_icc_certificate_for_another_pan():
    _, tags, static, aip, _ = read(application(APPROVE, oda="dda"))
    issuer = recover_issuer_key(CONFIG.ca_keys[0], tags, today=TODAY)
    tags[0x5A] = bytes.fromhex("4761739001010127")
    with pytest.raises(OdaError, match="another card"):
        recover_icc_key(issuer, tags, static, aip, today=TODAY)


def test_dda_answer_without_signature_is_icc_data_missing():
    _, tags, static, aip, _ = read(application(APPROVE, oda="dda"))
    script = ScriptedTransport([("0088", encode(0x77, encode(0x9F36, b"\x00\x01")).hex() + "9000")])
    with pytest.raises(OdaError) as raised:
        verify_dda(script.channel(), CONFIG, VISA_AID, tags, static, aip, TERMINAL, today=TODAY)
    assert raised.value.missing
