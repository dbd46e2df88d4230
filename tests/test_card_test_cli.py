"""`appliance card-test` end to end: pyscard → the session's pcscd → vpcd → an emulated card, the real acquirer.

The command runs in process (appliance.cli.main) against "Virtual PCD 00 00" (contact) and
"Virtual PCD 00 01" (contactless) of the test pcscd, with a configuration file written
here and the reference acquirer (tests/card_till.Bank) on a loopback port. Its terminal
parameters are the configuration's (appliance.emv.defaults.default_aids with the scheme
TACs), not the test terminal of the kernel tests, so each case says why its outcome is
the right one for those parameters.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.cli import main
from tests.card_till import Bank
from tests.emv import keys
from tests.emv.contactless_cards import VisaCard
from tests.emv.personalise import (CA_INDEX, MASTERCARD_RID, VISA_RID, card_declined, card_no_pse_dda_offline_pin,
                                   card_pse_sda, exponent, key, modulus)
from tests.pcsc.fixtures import Vpcd

TEST_PANS = [value for name, value in vars(keys).items() if name.isupper() and isinstance(value, str)
             and value.isdigit() and len(value) >= 13]
# The Visa contact cards are the same account: this is what the receipt and the JSON may show of it.
MASKED_APPROVE = f"{keys.APPROVE[:6]}{'*' * (len(keys.APPROVE) - 10)}{keys.APPROVE[-4:]}"
WAIT = "5"  # seconds the command waits for the card; vpcd.insert returns once pcscd sees it, so this is slack


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


def write_config(folder: Path, host: str = "") -> Path:
    """A shop configuration with the test CA under the Visa and Mastercard RIDs (appliance/emv/defaults.py format)."""
    ca = key("ca")
    lines = [f"{rid.hex().upper()} {CA_INDEX:02X} {exponent(ca).hex().upper()} {modulus(ca).hex().upper()}"
             for rid in (VISA_RID, MASTERCARD_RID)]
    (folder / "ca-keys.txt").write_text("# test CA (tests/fixtures/emv/ca.pem)\n" + "\n".join(lines) + "\n",
                                        encoding="ascii")
    path = folder / "shop.toml"
    path.write_text(f'[paths]\ndata_dir = "data"\n[payments]\nhost = "{host}"\nca_keys = "ca-keys.txt"\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    bank = Bank(tmp_path)
    yield bank
    bank.down()


@pytest.fixture
def card_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """`appliance --config FILE card-test ARGS` in process; no acquirer in the file unless the test passes --host."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    config = write_config(tmp_path)

    def run(*argv: str) -> Run:
        code = main(["--config", str(config), "card-test", *argv])
        out, err = capsys.readouterr()
        for pan in TEST_PANS:  # the JSON and the messages hold what a receipt may hold, never a full PAN
            assert pan not in out and pan not in err, f"full test PAN {pan[:6]}... printed by card-test"
        return Run(code, out, err)
    return run


def host_of(bank: Bank) -> str:
    return f"tcp://{bank.host}:{bank.port}"


def test_contact_sda_card_is_approved_online_and_reversed_at_once(vpcd: Vpcd, bank: Bank, card_test):
    vpcd.insert(card_pse_sda(), slot=0)
    run = card_test("--reader", "Virtual PCD 00 00", "--host", host_of(bank), "--wait", WAIT)
    assert run.code == 0, run.err
    result = run.json
    # Floor limit 0 (default_aids): TVR byte 4 bit 8 "exceeds floor limit", which the Visa
    # TAC-Online (DC4004F800) sends online; SDA passed with the CA key file, so no ODA bit.
    assert (result["decision"], result["interface"], result["masked_pan"]) == ("approved", "contact", MASKED_APPROVE)
    assert result["tvr"] == "0000008000" and result["tvr_bits"] == ["transaction exceeds floor limit"]
    # TSI E800: ODA, cardholder verification, card and terminal risk management performed.
    assert result["tsi"] == "E800"
    assert result["cvm"] == "signature" and result["signature_required"] is True  # its CVM list: signature first
    assert result["cryptogram_type"] == "TC"  # the second GENERATE AC after the bank's approval
    assert result["trace"].count("SDA ok") == 1
    entries = bank.ledger.entries
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.kind, entry.response_code, entry.amount, entry.masked_pan) == ("auth", "00", 100, MASKED_APPROVE)
    assert result["authorisation_code"] == entry.auth_code != ""
    # The technician's test leaves nothing reserved: the host booked the reversal of that very entry.
    assert entry.reversed and result["host"]["reversal"] == "00"
    assert [(r["stan"], r["rrn"]) for r in bank.ledger.reversals] == [(entry.stan, entry.rrn)]
    assert bank.ledger.totals(entry.terminal).debit_count == 0


def test_offline_pin_card_takes_the_pin_from_the_command_line(vpcd: Vpcd, bank: Bank, card_test):
    card = card_no_pse_dda_offline_pin()
    vpcd.insert(card, slot=0)
    run = card_test("--reader", "Virtual PCD 00 00", "--host", host_of(bank), "--pin", "1234", "--wait", WAIT)
    assert run.code == 0, run.err
    result = run.json
    assert result["decision"] == "approved" and result["cvm"] == "offline plaintext PIN"
    # CVM results 41 03 02: plaintext PIN by the ICC, "if terminal supports", successful.
    assert result["cvm_results"] == "410302" and result["signature_required"] is False
    assert "offline PIN asked (given)" in result["cardholder"]
    assert "DDA ok" in result["trace"]  # found by AID (no PSE), authenticated dynamically
    assert bank.ledger.entries[0].reversed


def test_a_wrong_pin_is_tried_once_and_never_blocks_the_card(vpcd: Vpcd, bank: Bank, card_test):
    card = card_no_pse_dda_offline_pin()
    vpcd.insert(card, slot=0)
    run = card_test("--reader", "Virtual PCD 00 00", "--host", host_of(bank), "--pin", "9999", "--wait", WAIT)
    result = run.json
    # The card counts the wrong PIN down (2 tries left); giving it again would only block
    # it, so the second ask is bypassed and the CVM list falls back to signature. The
    # Visa TAC-Online still sends it online (floor limit 0) and the bank approves.
    assert result["cardholder"] == ["offline PIN asked (given)",
                                    "offline PIN asked again (bypassed: the PIN given was wrong, 2 tries left)"]
    assert "PIN try limit exceeded" not in result["tvr_bits"]
    assert "PIN entry required, PIN pad present, but PIN was not entered" in result["tvr_bits"]
    assert (result["decision"], result["cvm"]) == ("approved", "signature")
    assert card.applications[0].pin_tries == 2


def test_a_card_the_bank_declines_exits_1(vpcd: Vpcd, bank: Bank, card_test):
    vpcd.insert(card_declined(), slot=0)
    run = card_test("--reader", "Virtual PCD 00 00", "--host", host_of(bank), "--wait", WAIT)
    assert run.code == 1
    result = run.json
    assert (result["decision"], result["response_code"], result["cryptogram_type"]) == ("declined", "05", "AAC")
    assert result["authorisation_code"] == ""
    # Nothing was approved, so nothing is reversed.
    assert "reversal" not in result["host"] and bank.ledger.reversals == []
    assert [e.response_code for e in bank.ledger.entries] == ["05"]


def test_without_an_acquirer_the_card_and_terminal_decide_offline(vpcd: Vpcd, card_test):
    vpcd.insert(card_pse_sda(), slot=0)
    run = card_test("--reader", "Virtual PCD 00 00", "--wait", WAIT)  # [payments] host = "" in the file
    result = run.json
    assert result["host"] == {"asked": True, "note": "no acquirer configured: decided offline"}
    # Unable to go online, the terminal applies the default action codes (Book 3 10.7): the
    # floor limit 0 of default_aids() sets "exceeds floor limit", which the Visa
    # TAC-Default (DC4000A800) declines: an offline decline, the right answer for a
    # terminal that must authorise every payment online. (The kernel tests' terminal has
    # no TACs and would approve offline.)
    assert (result["decision"], result["cryptogram_type"]) == ("declined_offline", "AAC")
    assert run.code == 1


def test_contactless_visa_in_the_second_slot(vpcd: Vpcd, bank: Bank, card_test):
    vpcd.insert(VisaCard(), slot=1)
    run = card_test("--reader", "00 01", "--host", host_of(bank), "--wait", WAIT)  # a unique part of the name
    assert run.code == 0, run.err
    result = run.json
    assert (result["decision"], result["interface"], result["cryptogram_type"]) == ("approved", "contactless", "ARQC")
    # 1.00 is below default_aids()' CVM limit of 300.00: no CVM; "offline data
    # authentication not performed" (TVR byte 1 bit 8) as this terminal has no fDDA.
    assert result["cvm"] == "no CVM" and result["tvr"] == "8000000000"
    assert result["masked_pan"] == MASKED_APPROVE
    assert contactless_read_complete(result["trace"])
    assert bank.ledger.entries[0].reversed


def contactless_read_complete(trace: list[str]) -> bool:
    return any(line.startswith("card read complete") for line in trace)


def test_no_card_within_the_wait_exits_2(vpcd: Vpcd, card_test):
    run = card_test("--reader", "Virtual PCD 00 00", "--wait", "0.5")
    assert run.code == 2 and run.out == ""
    assert run.err == ("error: no card in 'Virtual PCD 00 00' within 0.5 s: insert or tap a card and try again\n")


def test_an_unknown_reader_exits_2_naming_the_readers_present(vpcd: Vpcd, card_test):
    run = card_test("--reader", "ACS ACR1252", "--wait", WAIT)
    assert run.code == 2 and run.out == ""
    assert "no PC/SC reader named 'ACS ACR1252'" in run.err
    assert "'Virtual PCD 00 00', 'Virtual PCD 00 01'" in run.err


def test_a_part_of_several_reader_names_exits_2_naming_them(vpcd: Vpcd, card_test):
    run = card_test("--reader", "PCD 00", "--wait", WAIT)
    assert run.code == 2
    assert "several reader names ('Virtual PCD 00 00', 'Virtual PCD 00 01')" in run.err
