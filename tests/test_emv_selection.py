"""Application selection (EMV Book 1 12): PSE directory, AID list with next occurrence, priorities, PPSE."""

from __future__ import annotations

import pytest

from appliance.emv.apdu import Channel
from appliance.emv.model import AidConfig
from appliance.emv.selection import NoApplication, SelectionCancelled, match, select_application
from appliance.emv.tlv import encode
from tests.emv.card import EmvCard
from tests.emv.personalise import MASTERCARD_AID, VISA_AID, application, test_terminal_config
from tests.emv.keys import APPROVE, MASTERCARD
from tests.emv.scripted import ScriptedCardholder, ScriptedTransport, in_process

CONFIG = test_terminal_config()
SELECT_PSE = "00A404000E315041592E5359532E4444463031"
SELECT_PPSE = "00A404000E325041592E5359532E4444463031"


def select(card: EmvCard, cardholder: ScriptedCardholder | None = None, **options):
    return select_application(Channel(in_process(card)), options.pop("config", CONFIG),
                              cardholder or ScriptedCardholder(), **options)


def fci(aid: bytes, label: bytes = b"", priority: int | None = None, pdol: bytes = b"") -> str:
    proprietary = encode(0x50, label) if label else b""
    proprietary += encode(0x87, bytes([priority])) if priority is not None else b""
    proprietary += encode(0x9F38, pdol) if pdol else b""
    return encode(0x6F, encode(0x84, aid) + encode(0xA5, proprietary)).hex()


def test_pse_lists_two_applications_sorted_by_priority_and_the_cardholder_chooses():
    card = EmvCard([application(MASTERCARD, aid=MASTERCARD_AID, label="MC TEST", priority=2),
                    application(APPROVE, priority=1)])
    cardholder = ScriptedCardholder(choice=1)
    selected = select(card, cardholder)
    assert [c.aid for c in cardholder.offered[0]] == [VISA_AID, MASTERCARD_AID]
    assert [c.priority for c in cardholder.offered[0]] == [1, 2]
    assert selected.aid == MASTERCARD_AID and selected.label == "MC TEST"
    assert selected.aid_config.aid == MASTERCARD_AID
    assert card.received[-1] == bytes.fromhex("00A4040007") + MASTERCARD_AID + b"\x00"  # the FINAL SELECT


def test_no_priority_sorts_after_every_priority():
    card = EmvCard([application(APPROVE, priority=None),
                    application(MASTERCARD, aid=MASTERCARD_AID, label="MC", priority=15)])
    cardholder = ScriptedCardholder(choice=0)
    assert select(card, cardholder).aid == MASTERCARD_AID
    assert [c.priority for c in cardholder.offered[0]] == [15, 0]


def test_single_application_is_taken_without_asking():
    cardholder = ScriptedCardholder(choice=None)  # would cancel if asked
    assert select(EmvCard([application(APPROVE, priority=1)]), cardholder).aid == VISA_AID
    assert cardholder.offered == []


def test_single_application_needing_confirmation_is_confirmed_or_cancelled():
    confirming = ScriptedCardholder(choice=0)
    assert select(EmvCard([application(APPROVE, priority=0x81)]), confirming).aid == VISA_AID
    assert confirming.offered[0][0].needs_confirmation
    with pytest.raises(SelectionCancelled) as raised:
        select(EmvCard([application(APPROVE, priority=0x81)]), ScriptedCardholder(choice=None))
    assert raised.value.code == "cancelled"


def test_without_pse_the_terminal_list_is_searched_with_partial_match_and_next_occurrence():
    card = EmvCard([application(APPROVE, aid=VISA_AID + b"\x01", label="VISA ONE"),
                    application(APPROVE, aid=VISA_AID + b"\x02", label="VISA TWO")], pse=False)
    cardholder = ScriptedCardholder(choice=VISA_AID + b"\x02")
    selected = select(card, cardholder)
    assert selected.aid == VISA_AID + b"\x02" and selected.label == "VISA TWO"
    assert [c.label for c in cardholder.offered[0]] == ["VISA ONE", "VISA TWO"]
    p2 = [apdu[3] for apdu in card.received if apdu[1] == 0xA4]
    # PSE, Visa first, Visa next, Visa next (6A82: no more), Mastercard, final select
    assert p2 == [0x00, 0x00, 0x02, 0x02, 0x00, 0x00]


def test_partial_match_off_refuses_a_longer_card_aid():
    config = test_terminal_config(aids=(AidConfig(VISA_AID, "VISA", partial_match=False),))
    card = EmvCard([application(APPROVE, aid=VISA_AID + b"\x01")], pse=False)
    with pytest.raises(NoApplication):
        select(card, config=config)


def test_blocked_application_is_skipped_in_the_list():
    blocked = application(MASTERCARD, aid=MASTERCARD_AID, label="MC")
    blocked.blocked = True
    card = EmvCard([application(APPROVE), blocked], pse=False)
    cardholder = ScriptedCardholder(choice=None)
    assert select(card, cardholder).aid == VISA_AID
    assert cardholder.offered == []  # only one candidate left


def test_final_select_refused_drops_the_candidate_and_offers_the_rest():
    blocked = application(APPROVE, priority=1)
    blocked.blocked = True  # listed in the PSE, but SELECT answers 6283
    card = EmvCard([blocked, application(MASTERCARD, aid=MASTERCARD_AID, label="MC", priority=2)])
    cardholder = ScriptedCardholder(choice=0)
    assert select(card, cardholder).aid == MASTERCARD_AID
    assert len(cardholder.offered) == 1  # the second round has one candidate: taken without asking


def test_only_blocked_applications_is_no_application():
    blocked = application(APPROVE)
    blocked.blocked = True
    with pytest.raises(NoApplication, match="no application this terminal accepts"):
        select(EmvCard([blocked], pse=False))


def test_blocked_or_empty_pse_falls_back_to_the_list():
    script = ScriptedTransport([
        (SELECT_PSE, "6283"),
        ("00A4040007A000000003101000", fci(VISA_AID, b"VISA") + "9000"),
        ("00A4040007A000000004101000", "6A82"),
        ("00A4040007A000000003101000", fci(VISA_AID, b"VISA") + "9000"),
    ])
    assert select_application(script.channel(), CONFIG, ScriptedCardholder()).aid == VISA_AID
    assert script.finished
    empty_directory = ScriptedTransport([
        (SELECT_PSE, encode(0x6F, encode(0x84, b"1PAY.SYS.DDF01") + encode(0xA5, encode(0x88, b"\x01"))).hex()
         + "9000"),
        ("00B2010C00", encode(0x70, encode(0x61, encode(0x4F, bytes.fromhex("A0000000999999")))).hex() + "9000"),
        ("00B2020C00", "6A83"),
        ("00A4040007A000000003101000", "6A82"),
        ("00A4040007A000000004101000", fci(MASTERCARD_AID) + "9000"),
        ("00A4040007A000000004101000", fci(MASTERCARD_AID, pdol=bytes.fromhex("9F0206")) + "9000"),
    ])
    selected = select_application(empty_directory.channel(), CONFIG, ScriptedCardholder())
    assert selected.aid == MASTERCARD_AID and selected.label == "MASTERCARD"  # the terminal's label: none on card
    assert selected.pdol == bytes.fromhex("9F0206")
    assert empty_directory.finished


def test_card_blocked_answer_to_pse_ends_selection():
    script = ScriptedTransport([(SELECT_PSE, "6A81")])
    with pytest.raises(NoApplication) as raised:
        select_application(script.channel(), CONFIG, ScriptedCardholder())
    assert raised.value.code == "card_blocked"


def test_excluded_aid_is_not_a_candidate():
    card = EmvCard([application(APPROVE), application(MASTERCARD, aid=MASTERCARD_AID, label="MC")])
    assert select(card, exclude=frozenset({VISA_AID})).aid == MASTERCARD_AID


def test_contactless_takes_the_highest_priority_from_the_ppse_without_asking():
    entries = (encode(0x61, encode(0x4F, MASTERCARD_AID) + encode(0x50, b"MC") + encode(0x87, b"\x02"))
               + encode(0x61, encode(0x4F, VISA_AID) + encode(0x50, b"VISA") + encode(0x87, b"\x01")))
    ppse = encode(0x6F, encode(0x84, b"2PAY.SYS.DDF01") + encode(0xA5, encode(0xBF0C, entries)))
    script = ScriptedTransport([
        (SELECT_PPSE, ppse.hex() + "9000"),
        ("00A4040007A000000003101000", "6A82"),  # the first choice fails: the next one is taken
        ("00A4040007A000000004101000", fci(MASTERCARD_AID, b"MC", pdol=bytes.fromhex("9F6604")) + "9000"),
    ])
    cardholder = ScriptedCardholder(choice=None)
    selected = select_application(script.channel(), CONFIG, cardholder, contactless=True)
    assert selected.aid == MASTERCARD_AID and selected.pdol == bytes.fromhex("9F6604")
    assert cardholder.offered == [] and script.finished


def test_contactless_without_ppse_is_no_application():
    with pytest.raises(NoApplication, match="PPSE"):
        select_application(ScriptedTransport([(SELECT_PPSE, "6A82")]).channel(), CONFIG, ScriptedCardholder(),
                           contactless=True)


@pytest.mark.parametrize(("card_aid", "expected"), [
    (VISA_AID, VISA_AID), (VISA_AID + b"\x07", VISA_AID), (bytes.fromhex("A0000000032020"), None),
    (bytes.fromhex("A000000003"), None),
])
def test_match_exact_or_longer_card_aid(card_aid: bytes, expected: bytes | None):
    found = match(card_aid, CONFIG.aids)
    assert (found.aid if found else None) == expected


def test_match_prefers_the_longest_terminal_aid():
    aids = (AidConfig(bytes.fromhex("A000000003"), "any visa"), AidConfig(VISA_AID, "visa credit"))
    assert match(VISA_AID + b"\x01", aids).label == "visa credit"
