"""HostClient against the reference acquirer in process: decisions, every failure mode, idempotence, batch close."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest
from psec import des, pinblock

from acquirer.server import Acquirer, AcquirerServer
from appliance.emv import tlv
from appliance.emv.host import (
    RESPONSE_CODES, AuthRequest, HostClient, HostProtocolError, HostTimeout, HostUnreachable, response_text,
)  # fmt: skip
from appliance.emv.iso8583 import Totals
from appliance.native.secret import Secret
from tests.emv.keys import APPROVE, DECLINE, MASTERCARD, REFERRAL
from tests.test_acquirer import KEYS, card_icc_data, expected_arpc

WHEN = datetime(2025, 3, 14, 10, 11, 12)


@pytest.fixture
def host():
    server = AcquirerServer(("127.0.0.1", 0), Acquirer(KEYS)).start()
    yield server
    server.stop()


def client_for(server: AcquirerServer, timeout: float = 5.0) -> HostClient:
    host, port = server.address
    return HostClient(host, port, timeout=timeout, terminal_id="TERM0001", merchant_id="MERCHANT0000001")


def auth(pan: str, stan: int, amount: int = 1000, **extra) -> AuthRequest:
    return AuthRequest(
        stan=stan, amount=amount, currency="978", pan=Secret(pan.encode()), expiry="2912", local_time=WHEN,
        track2=Secret(f"{pan}=29122011234567800".encode()), psn="01", **extra,
    )  # fmt: skip


def test_approval_with_a_real_arqc_brings_back_the_arpc(host):
    icc = card_icc_data(APPROVE, 1000)
    reply = client_for(host).authorize(auth(APPROVE, 1, icc_data=icc))
    assert reply.mti == "0110" and reply.approved and reply.text == "approved"
    assert len(reply.auth_code) == 6 and len(reply.rrn) == 12
    assert reply.issuer_auth_data == expected_arpc(APPROVE, tlv.find(tlv.decode(icc), 0x9F26).value, "00")
    assert host.ledger.entries[-1].masked_pan == "476173******0119"


def test_financial_decline_and_referral(host):
    client = client_for(host)
    declined = client.financial(auth(DECLINE, 2))
    assert declined.mti == "0210" and declined.response_code == "05" and not declined.approved
    assert declined.auth_code == "" and declined.text == "do not honour"
    assert client.authorize(auth(REFERRAL, 3)).response_code == "01"
    assert client.authorize(auth(MASTERCARD, 4, icc_data=card_icc_data(MASTERCARD, 1000))).approved


def test_online_pin_right_and_wrong(host):
    def block(pin: str) -> Secret:
        return Secret(des.encrypt_tdes_ecb(KEYS.pin_key, pinblock.encode_pinblock_iso_0(pin, APPROVE)))

    client = client_for(host)
    assert client.authorize(auth(APPROVE, 5, pin_block=block("1234"))).approved
    wrong = client.authorize(auth(APPROVE, 6, pin_block=block("9999")))
    assert wrong.response_code == "55" and wrong.text == "incorrect PIN"


def test_tip_and_amount_reach_the_host(host):
    assert client_for(host).authorize(auth(APPROVE, 7, amount=1200, tip=200)).approved
    booked = host.ledger.entries[-1]
    assert booked.amount == 1200


def test_slow_host_times_out_and_the_reversal_undoes_what_it_booked(host):
    host.set_faults(slow=1.0, fail_next=1)
    client = client_for(host, timeout=0.3)
    with pytest.raises(HostTimeout) as err:
        client.authorize(auth(APPROVE, 8))
    assert APPROVE not in str(err.value) and "476173" not in str(err.value)
    client.timeout = 5.0
    reply = client.reverse(err.value.original, "no answer")
    assert reply.mti == "0410" and reply.approved
    assert host.ledger.entries[0].reversed
    assert host.ledger.reversals == [{"terminal": "TERM0001", "stan": "000008", "rrn": "000000000001", "reason": "no answer"}]


def test_a_dropped_connection_is_a_protocol_error(host):
    # The host closed without answering after reading the request: it may have booked it,
    # so this is HostProtocolError (decline and reverse), never HostUnreachable.
    host.set_faults(drop=True, fail_next=1)
    with pytest.raises(HostProtocolError, match="closed the connection"):
        client_for(host).authorize(auth(APPROVE, 9))
    assert client_for(host).echo().approved  # fail_next=1: the next request is answered


def test_garbage_and_a_wrong_stan_are_protocol_errors(host):
    client = client_for(host)
    host.set_faults(garbage=True)
    for stan in (10, 11):
        with pytest.raises(HostProtocolError, match="unreadable answer"):
            client.authorize(auth(APPROVE, stan))
    host.set_faults(wrong_stan=True, fail_next=1)
    with pytest.raises(HostProtocolError, match="STAN"):
        client.echo()
    assert client.echo().approved


def test_a_refused_connection_is_unreachable():
    with socket.socket() as probe:  # a port nobody listens on: bind, note it, close
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HostClient("127.0.0.1", port, timeout=1.0, terminal_id="TERM0001", merchant_id="MERCHANT0000001")
    with pytest.raises(HostUnreachable, match="cannot connect"):
        client.authorize(auth(APPROVE, 12))


def test_reversals_are_idempotent(host):
    client = client_for(host)
    approved = client.authorize(auth(APPROVE, 13, amount=500))
    for _ in range(3):
        assert client.reverse(approved.original, "card declined").approved
    assert len(host.ledger.reversals) == 1
    unknown = {**approved.original, "11": "999999"}
    assert client.reverse(unknown, "never sent").approved  # acknowledged, nothing to undo
    assert len(host.ledger.reversals) == 1
    assert host.ledger.totals("TERM0001") == Totals()


def test_advices_are_booked_once(host):
    client = client_for(host)
    offline = auth(APPROVE, 14, amount=300)
    for _ in range(2):
        reply = client.advice(offline, "Y1")
        assert reply.mti == "0230" and reply.approved
    assert [e.kind for e in host.ledger.entries] == ["advice"]
    assert host.ledger.totals("TERM0001") == Totals(1, 300, 0, 0)


def test_batch_close_in_and_out_of_balance(host):
    client = client_for(host)
    client.authorize(auth(APPROVE, 15, amount=1000))
    client.authorize(auth(APPROVE, 16, amount=250))
    client.authorize(auth(DECLINE, 17, amount=999))  # declined: not in the totals
    client.advice(auth(APPROVE, 18, amount=50))
    refund = client.authorize(auth(APPROVE, 19, amount=100, processing_code="200000"))
    assert refund.approved
    balanced = client.batch_close(1, Totals(3, 1300, 1, 100))
    assert balanced.mti == "0510" and balanced.response_code == "00"
    client.authorize(auth(APPROVE, 20, amount=700))
    off = client.batch_close(2, Totals(1, 1700, 0, 0))
    assert off.response_code == "95" and off.text == "reconciliation error"
    assert Totals.from_field(off.fields["63"]) == Totals(1, 700, 0, 0)  # the host's figures, for the operator
    assert [b["response_code"] for b in host.ledger.batches] == ["00", "95"]
    assert host.ledger.totals("TERM0001") == Totals()  # a new batch is open


def test_echo_and_response_texts(host):
    assert client_for(host).echo().mti == "0810"
    for code in ("00", "01", "05", "51", "54", "55", "91", "96", "Y1", "Y3", "Z1", "Z3"):
        assert RESPONSE_CODES[code]
    assert "XX" in response_text("XX")


def test_the_request_reveals_card_data_only_in_the_message():
    request = auth(APPROVE, 21, pin_block=Secret(bytes(8)))
    assert APPROVE not in repr(request)
    client = HostClient("127.0.0.1", 1, timeout=1, terminal_id="TERM0001", merchant_id="MERCHANT0000001")
    fields = client.message("0100", request)
    assert fields["2"] == APPROVE and fields["35"].startswith(APPROVE + "D") and fields["52"] == bytes(8)
    assert fields["23"] == "001" and fields["12"] == "101112" and fields["13"] == "0314"
