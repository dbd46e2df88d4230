"""The reference acquirer: ARQC checks with real cryptograms, ARPCs, rules, ledger state, and its CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from psec import des, pinblock
from pyemv import cvn

from acquirer import rules
from acquirer.issuer import CryptogramError, IssuerKeys, KeyFileError, check_arqc
from acquirer.server import Acquirer, StateFileError
from appliance.emv import tlv
from appliance.emv.host import HostClient
from tests.emv.keys import APPROVE, DECLINE, EXPIRED, IMK_AC, IMK_SMC, IMK_SMI, MASTERCARD, REFERRAL

ROOT = Path(__file__).resolve().parent.parent
KEYS = IssuerKeys(IMK_AC, IMK_SMI, IMK_SMC, pin_key=bytes.fromhex("0123456789ABCDEF0123456789ABCDEF"))
VISA_IAD = bytes.fromhex("06010A03A00000")  # length 06, DKI 01, CVN 10, CVR 03 A0 00 00
MC_IAD = bytes.fromhex("0110A00003220000") + bytes(10)  # DKI 01, CVN 16, CVR, DAC, counters


def card_icc_data(pan: str, amount: int, *, psn: str = "01", tamper: bool = False, **override: bytes) -> bytes:
    """Field 55 as a chip card would fill it for its first GENERATE AC, with a real ARQC (pyemv, the card's side)."""
    mastercard = pan.startswith("5")
    data = {
        "tag_9f02": bytes.fromhex(f"{amount:012d}"),
        "tag_9f03": bytes(6),
        "tag_9f1a": bytes.fromhex("0250"),
        "tag_95": bytes.fromhex("0000008000"),
        "tag_5f2a": bytes.fromhex("0978"),
        "tag_9a": bytes.fromhex("250314"),
        "tag_9c": b"\x00",
        "tag_9f37": bytes.fromhex("CAFEBABE"),
        "tag_82": bytes.fromhex("3900" if mastercard else "1800"),
        "tag_9f36": bytes.fromhex("0042"),
    }
    if mastercard:
        card = cvn.MasterCardCVN16(IMK_AC, IMK_SMI, IMK_SMC, pan, psn)
        arqc, iad, aid = card.generate_ac(cvr=MC_IAD[2:8], **data), MC_IAD, "A0000000041010"
    else:
        card = cvn.VisaCVN10(IMK_AC, IMK_SMI, IMK_SMC, pan, psn)
        arqc, iad, aid = card.generate_ac(cvr=VISA_IAD[3:7], **data), VISA_IAD, "A0000000031010"
    if tamper:
        data["tag_9f02"] = bytes.fromhex(f"{amount + 1:012d}")  # the amount changed after the card signed it
    tags = {0x9F26: arqc, 0x9F27: b"\x80", 0x9F10: iad, 0x84: bytes.fromhex(aid)}
    tags.update({int(name[4:], 16): value for name, value in data.items()})
    tags.update({int(name[4:], 16): value for name, value in override.items()})
    return b"".join(tlv.encode(tag, value) for tag, value in tags.items())


def expected_arpc(pan: str, arqc: bytes, code: str, psn: str = "01") -> bytes:
    scheme = cvn.MasterCardCVN16 if pan.startswith("5") else cvn.VisaCVN10
    return scheme(IMK_AC, IMK_SMI, IMK_SMC, pan, psn).generate_arpc(arqc, code.encode()) + code.encode()


def request(pan: str, amount: int = 1000, stan: str = "000001", **extra) -> dict:
    return {"t": "0100", "2": pan, "3": "000000", "4": f"{amount:012d}", "7": "0314101010", "11": stan,
            "23": "001", "41": "TERM0001", "42": "MERCHANT0000001", "49": "978", **extra}  # fmt: skip


def issuer_auth_data(reply: dict) -> bytes:
    return tlv.find(tlv.decode(reply["55"]), 0x91).value


@pytest.mark.parametrize("pan", [APPROVE, MASTERCARD])
def test_a_real_arqc_is_approved_with_an_arpc_the_card_can_check(pan):
    icc = card_icc_data(pan, 1000)
    reply = Acquirer(KEYS).handle(request(pan, 1000, **{"55": icc}))
    assert reply["t"] == "0110" and reply["39"] == "00" and len(reply["38"]) == 6
    arqc = tlv.find(tlv.decode(icc), 0x9F26).value
    assert issuer_auth_data(reply) == expected_arpc(pan, arqc, "00")


def test_check_arqc_names_the_cryptogram_version():
    assert check_arqc(KEYS, APPROVE, "01", card_icc_data(APPROVE, 5)).scheme == "Visa CVN 10"
    assert check_arqc(KEYS, MASTERCARD, "01", card_icc_data(MASTERCARD, 5)).scheme == "Mastercard CVN 16"


@pytest.mark.parametrize("pan", [APPROVE, MASTERCARD])
def test_a_tampered_arqc_is_declined_05_without_an_arpc(pan):
    acquirer = Acquirer(KEYS)
    reply = acquirer.handle(request(pan, 1000, **{"55": card_icc_data(pan, 1000, tamper=True)}))
    assert reply["39"] == "05" and "55" not in reply and "38" not in reply
    assert acquirer.ledger.entries[-1].response_code == "05"


def test_an_arqc_from_another_card_or_sequence_number_is_declined():
    icc = card_icc_data(APPROVE, 1000)
    assert Acquirer(KEYS).handle(request(APPROVE, 1000, **{"55": icc, "23": "002"}))["39"] == "05"
    with pytest.raises(CryptogramError, match="does not verify"):
        check_arqc(KEYS, "4761739001010200", "01", icc)


def test_missing_cryptogram_data_or_unknown_versions_are_reported():
    with pytest.raises(CryptogramError, match="tag 9F02 is missing"):
        check_arqc(KEYS, APPROVE, "01", tlv.encode(0x9F26, bytes(8)) + tlv.encode(0x9F10, VISA_IAD))
    with pytest.raises(CryptogramError, match="not supported"):
        check_arqc(KEYS, APPROVE, "01", card_icc_data(APPROVE, 5, tag_84=bytes.fromhex("A0000000651010")))
    with pytest.raises(CryptogramError, match="not TLV"):
        check_arqc(KEYS, APPROVE, "01", b"\x9f\x26\x09")


def test_the_issuer_declines_with_an_arpc_carrying_the_decline_code():
    icc = card_icc_data(DECLINE, 1000)
    reply = Acquirer(KEYS).handle(request(DECLINE, 1000, **{"55": icc}))
    assert reply["39"] == "05"
    assert issuer_auth_data(reply) == expected_arpc(DECLINE, tlv.find(tlv.decode(icc), 0x9F26).value, "05")


@pytest.mark.parametrize(
    ("pan", "amount", "code"),
    [(APPROVE, 1000, "00"), (DECLINE, 1000, "05"), (REFERRAL, 1000, "01"), (EXPIRED, 1000, "54"),
     (MASTERCARD, 1000, "00"), (APPROVE, rules.DECLINE_ABOVE, "00"), (APPROVE, rules.DECLINE_ABOVE + 1, "51"),
     ("4000000000000002", 1000, "00")],
)  # fmt: skip
def test_rule_table(pan, amount, code):
    assert Acquirer().handle(request(pan, amount))["39"] == code


def test_online_pin_is_checked_against_the_pin_key():
    def block(pin: str) -> bytes:
        return des.encrypt_tdes_ecb(KEYS.pin_key, pinblock.encode_pinblock_iso_0(pin, APPROVE))

    acquirer = Acquirer(KEYS)
    assert acquirer.handle(request(APPROVE, **{"52": block("1234")}))["39"] == "00"
    assert acquirer.handle(request(APPROVE, **{"52": block("4321")}))["39"] == "55"
    assert acquirer.handle(request(APPROVE, **{"52": bytes(8)}))["39"] == "55"  # not a block under this key
    assert Acquirer().handle(request(APPROVE, **{"52": block("1234")}))["39"] == "96"  # host without a PIN key


def test_the_ledger_survives_a_restart_and_holds_no_full_pan(tmp_path):
    state = tmp_path / "ledger.json"
    Acquirer(KEYS, state).handle(request(APPROVE, 700))
    again = Acquirer(KEYS, state)
    assert [(e.stan, e.amount, e.masked_pan) for e in again.ledger.entries] == [("000001", 700, "476173******0119")]
    assert APPROVE not in state.read_text()
    assert again.handle(request(APPROVE, 1, stan="000002"))["37"] == "000000000002"  # RRNs keep counting


def test_a_damaged_state_file_is_reported(tmp_path):
    state = tmp_path / "ledger.json"
    state.write_text("{not json")
    with pytest.raises(StateFileError, match="ledger.json"):
        Acquirer(None, state)


def test_key_files_are_checked(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"imk_ac": IMK_AC.hex(), "imk_smi": IMK_SMI.hex(), "imk_smc": IMK_SMC.hex()}))
    assert IssuerKeys.load(path) == IssuerKeys(IMK_AC, IMK_SMI, IMK_SMC)
    for bad, message in (({"imk_ac": "zz"}, "imk_ac is not hex"), ({"imk_ac": "00"}, "16 bytes"),
                         ({"imk_smi": None, "oops": "00"}, "unknown key")):  # fmt: skip
        data = {"imk_ac": IMK_AC.hex(), "imk_smi": IMK_SMI.hex(), "imk_smc": IMK_SMC.hex(), **bad}
        path.write_text(json.dumps(data))
        with pytest.raises(KeyFileError, match=message):
            IssuerKeys.load(path)


def test_the_cli_serves_on_the_port_it_prints_and_stops_on_sigterm(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"imk_ac": IMK_AC.hex(), "imk_smi": IMK_SMI.hex(), "imk_smc": IMK_SMC.hex()}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "acquirer-sim", "--port", "0", "--keys", str(keys), "--state",
         str(tmp_path / "state.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        match = re.search(r"listening on ([\d.]+):(\d+)", line)
        assert match, line + proc.stderr.read()
        client = HostClient(match[1], int(match[2]), timeout=5, terminal_id="TERM0001", merchant_id="MERCHANT0000001")
        reply = client.echo()
        assert reply.mti == "0810" and reply.approved
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "stopped" in out
    assert "<- 0800" in err and "-> 0810" in err  # every message is logged


def test_the_cli_refuses_a_bad_key_file(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text("[]")
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "acquirer-sim", "--port", "0", "--keys", str(keys)],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "JSON object" in result.stderr
