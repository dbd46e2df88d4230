"""The till's state machine: every input legal or refused with what to do, keypad-only sales, supervisor override."""

from __future__ import annotations

import pytest

from appliance.core.session import LEGAL, REFUSALS, Action, KeyEntry, Session, State
from appliance.errors import InputError
from tests.conftest import CASHIER, RICE, SUPERVISOR, WATER

ALL_ACTIONS = sorted(set().union(*LEGAL.values()))


@pytest.fixture
def session(till):
    return Session(till)


def keys(session: Session, entry: KeyEntry, *pressed: str):
    """Press keys in order; returns the result of the last action completed."""
    result = None
    for key in pressed:
        action = entry.press(key)
        if action is not None:
            result = session.handle(action)
    return result


def test_a_signed_in_till_starts_idle_and_a_scan_starts_the_sale(session):
    assert session.state is State.IDLE
    result = session.handle(Action.of("scan", code=RICE))
    assert result.ok and session.state is State.IN_SALE
    assert result.display == ("item", session.till.sale.lines[0].name, 3990, 3990)


def test_every_input_in_every_state_is_legal_or_refused_with_a_reason(session):
    refused = 0
    for state in State:
        for name in ALL_ACTIONS:
            if name in LEGAL[state]:
                continue
            session.state = state
            result = session.handle(Action.of(name))
            assert not result.ok and result.signal == "error", (state, name)
            assert result.message == REFUSALS[state] and session.state is state, (state, name)
            refused += 1
    assert refused > 100  # most inputs are illegal somewhere: each was tried


def test_a_locked_till_only_takes_a_sign_in(till):
    till.sign_out()
    session = Session(till)
    assert session.state is State.LOCKED
    assert session.handle(Action.of("scan", code=RICE)).message == "sign in first (operator code, then PIN)"
    assert not session.handle(Action.of("sign_in", code=CASHIER[0], pin="0000")).ok  # wrong PIN: refused, still locked
    assert session.state is State.LOCKED
    assert session.handle(Action.of("sign_in", code=CASHIER[0], pin=CASHIER[1])).ok
    assert session.state is State.IDLE


def test_a_whole_sale_by_keypad_alone(session, till):
    entry = KeyEntry(2)
    keys(session, entry, *RICE, "ENTER")
    keys(session, entry, "2", "QTY", *WATER, "ENTER")
    assert [line.quantity for line in till.sale.lines] == [1000, 2000]
    keys(session, entry, "VOID")  # the last line
    assert len([line for line in till.sale.lines]) == 1
    result = keys(session, entry, "SUBTOTAL")
    assert session.state is State.TENDERING and result.message == "to pay 39.90"
    result = keys(session, entry, "5", "0", "CASH")
    assert result.ok and session.state is State.RECEIPT and result.message == "change 10.10"
    assert result.document["kind"] == "sale" and result.display == ("change", 1010)
    keys(session, entry, "DONE")
    assert session.state is State.IDLE


def test_a_scan_on_the_receipt_screen_starts_the_next_sale(session):
    session.handle(Action.of("scan", code=WATER))
    session.handle(Action.of("subtotal"))
    session.handle(Action.of("tender", kind="cash"))
    assert session.state is State.RECEIPT
    assert session.handle(Action.of("scan", code=RICE)).ok and session.state is State.IN_SALE


def test_scans_during_tendering_land_in_the_active_sale(session, till):
    session.handle(Action.of("scan", code=WATER))
    session.handle(Action.of("subtotal"))
    assert session.handle(Action.of("scan", code=RICE)).ok
    assert len(till.sale.lines) == 2 and session.state is State.TENDERING


def test_going_back_from_tendering_is_refused_once_payments_were_taken(session):
    session.handle(Action.of("scan", code=RICE))
    session.handle(Action.of("subtotal"))
    session.handle(Action.of("tender", kind="cash", amount=1000))
    result = session.handle(Action.of("back"))
    assert not result.ok and "remove them" in result.message
    assert session.handle(Action.of("remove_payment", index=0)).ok
    assert session.handle(Action.of("back")).ok and session.state is State.IN_SALE


def test_a_price_override_waits_for_a_supervisor(session, till):
    session.handle(Action.of("scan", code=RICE))
    result = session.handle(Action.of("override_price", line_no=1, price=100, reason="damaged box"))
    assert not result.ok and result.signal == "attention" and session.state is State.OVERRIDE
    assert "supervisor code and PIN" in result.message
    assert session.handle(Action.of("scan", code=WATER)).message == REFUSALS[State.OVERRIDE]
    assert not session.handle(Action.of("approve", code=SUPERVISOR[0], pin="0000")).ok  # wrong PIN
    assert session.state is State.OVERRIDE
    approved = session.handle(Action.of("approve", code=SUPERVISOR[0], pin=SUPERVISOR[1]))
    assert approved.ok and approved.message.startswith("approved by Supervisor") and session.state is State.IN_SALE
    assert till.sale.lines[0].unit_price == 100


def test_an_override_can_be_abandoned(session, till):
    session.handle(Action.of("scan", code=RICE))
    session.handle(Action.of("override_price", line_no=1, price=100, reason="damaged box"))
    assert session.handle(Action.of("back")).message == "not approved: nothing changed"
    assert session.state is State.IN_SALE and till.sale.lines[0].unit_price == 3990


def test_suspend_and_resume_move_between_idle_and_in_sale(session, till):
    session.handle(Action.of("scan", code=RICE))
    assert session.handle(Action.of("suspend", label="back soon")).ok and session.state is State.IDLE
    sale_id = till.suspended()[0][0]
    assert session.handle(Action.of("resume", sale_id=sale_id)).ok and session.state is State.IN_SALE


def test_sign_out_is_refused_in_the_middle_of_a_sale(session):
    session.handle(Action.of("scan", code=RICE))
    assert session.handle(Action.of("sign_out")).message == REFUSALS[State.IN_SALE]


def test_bad_input_is_refused_not_raised(session):
    assert session.handle(Action.of("scan", code="0000000000000")).signal == "error"
    assert session.state is State.IDLE
    assert "incomplete" in session.handle(Action.of("scan")).message


def test_state_changes_are_reported(till):
    seen = []
    session = Session(till, on_change=seen.append)
    session.handle(Action.of("scan", code=RICE))
    session.handle(Action.of("subtotal"))
    session.handle(Action.of("tender", kind="cash"))
    assert seen == [State.IN_SALE, State.TENDERING, State.RECEIPT]


@pytest.mark.parametrize("pressed, message", [
    (["ENTER"], "type a code first"), (["1", "2", "QTY"], None), (["1", ".", "2", ".", "CASH"], "not a valid amount"),
    (["MEMBER"], "phone or card number first"), (["F13"], "does nothing here"),
])
def test_keypad_entry_errors_say_what_to_do(pressed, message):
    entry = KeyEntry(2)
    if message is None:
        for key in pressed:
            assert entry.press(key) is None
        assert entry.quantity == 12000
        return
    with pytest.raises(InputError, match=message):
        for key in pressed:
            entry.press(key)


def test_keypad_amounts_and_tenders():
    entry = KeyEntry(2)
    for key in "12.5":
        entry.press(key)
    assert entry.press("CASH") == Action.of("tender", kind="cash", amount=1250)
    assert entry.press("CARD") == Action.of("tender", kind="card", amount=None)
    for key in "2834567890123456":
        entry.press(key)
    assert entry.press("WALLET") == Action.of("tender", kind="wallet", reference="2834567890123456")
    assert entry.press("CLEAR") == Action.of("back")


def test_a_return_between_sales_gives_the_refund_slip(session, till):
    session.handle(Action.of("scan", code=RICE))
    session.handle(Action.of("subtotal"))
    sold = session.handle(Action.of("tender", kind="cash")).document
    result = session.handle(Action.of("return", receipt=sold["receipt_no"], items=[(1, 1000)], reason="broken"))
    assert result.ok and result.document["kind"] == "return" and session.state is State.IDLE
    session.handle(Action.of("scan", code=WATER))
    refused = session.handle(Action.of("return", receipt=sold["receipt_no"], items=[(1, 1000)]))
    assert not refused.ok and refused.message == REFUSALS[State.IN_SALE]
