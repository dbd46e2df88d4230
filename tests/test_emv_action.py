"""Terminal action analysis (EMV Book 3 10.7): denial, online, default, absent IACs."""

from __future__ import annotations

from appliance.emv.action import AAC, ARQC, TC, analyse, default_action, matched
from appliance.emv.model import AidConfig
from appliance.emv.tvr import tvr
from tests.emv.personalise import VISA_AID

ZERO = bytes(5)
AID = AidConfig(VISA_AID, "VISA", tac_denial=ZERO, tac_online=ZERO, tac_default=ZERO)
IACS = {0x9F0E: ZERO, 0x9F0F: ZERO, 0x9F0D: ZERO}


def bits(*set_bits):
    value = tvr()
    for byte, bit in set_bits:
        value.set(byte, bit)
    return value


def test_nothing_set_approves_offline():
    assert analyse(bits(), IACS, AID, online_capable=True).cryptogram == TC


def test_tac_denial_declines():
    aid = AidConfig(VISA_AID, "VISA", tac_denial=bytes.fromhex("0040000000"), tac_online=ZERO, tac_default=ZERO)
    decision = analyse(bits((2, 7)), IACS, aid, online_capable=True)
    assert decision == analyse(bits((2, 7), (4, 8)), IACS, aid, online_capable=True)
    assert decision.cryptogram == AAC and decision.reason == "expired application"


def test_iac_denial_declines_and_denial_wins_over_online():
    decision = analyse(bits((3, 6), (4, 8)), {**IACS, 0x9F0E: bytes.fromhex("0000200000"),
                                              0x9F0F: b"\xff" * 5}, AID, online_capable=True)
    assert decision.cryptogram == AAC and decision.reason == "PIN try limit exceeded"


def test_online_codes_ask_for_an_arqc():
    aid = AidConfig(VISA_AID, "VISA", tac_denial=ZERO, tac_online=bytes.fromhex("0000008000"), tac_default=ZERO)
    assert analyse(bits((4, 8)), IACS, aid, online_capable=True).cryptogram == ARQC
    decision = analyse(bits((1, 7)), {**IACS, 0x9F0F: bytes.fromhex("4000000000")}, AID, online_capable=True)
    assert decision.cryptogram == ARQC and decision.reason == "SDA failed"


def test_merchant_forced_online():
    decision = analyse(bits(), IACS, AID, online_capable=True, force_online=True)
    assert decision.cryptogram == ARQC and decision.reason == "merchant forced online"


def test_offline_only_terminal_uses_the_default_codes():
    online_bits = {**IACS, 0x9F0F: b"\xff" * 5}
    assert analyse(bits((4, 8)), online_bits, AID, online_capable=False).cryptogram == TC
    decision = analyse(bits((4, 8)), {**online_bits, 0x9F0D: bytes.fromhex("0000008000")}, AID, online_capable=False)
    assert decision.cryptogram == AAC and decision.reason == "transaction exceeds floor limit"


def test_absent_iacs_take_the_book_defaults():
    # no IAC-Denial: zeros (nothing declines); no IAC-Online: ones (any bit goes online); no IAC-Default: ones
    assert analyse(bits(), {}, AID, online_capable=True).cryptogram == TC
    assert analyse(bits((2, 4)), {}, AID, online_capable=True).cryptogram == ARQC
    assert default_action(bits((2, 4)), {}, AID).cryptogram == AAC
    assert default_action(bits(), {}, AID).cryptogram == TC


def test_unable_to_go_online_default():
    aid = AidConfig(VISA_AID, "VISA", tac_default=bytes.fromhex("FC50BCA000"))
    assert default_action(bits((4, 8)), IACS, aid).cryptogram == AAC
    assert default_action(bits((4, 4)), IACS, aid).cryptogram == TC


def test_matched_names_the_bits_in_any_code():
    assert matched(bits((1, 8), (5, 7)), bytes.fromhex("8000000000"), bytes.fromhex("0000000040")) == [
        "offline data authentication was not performed", "issuer authentication failed"]
