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
    print(run.out, run.err)
    assert run.code == 0
