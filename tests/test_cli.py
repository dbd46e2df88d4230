"""The `appliance` command end to end: real config file, real store in tmp_path, exit codes and output."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest

from appliance.cli import main

DEMO_CSV = Path(str(resources.files("appliance").joinpath("data/demo_catalog.csv")))
PIN_VARIABLES = ("APPLIANCE_PIN", "APPLIANCE_SUPERVISOR_PIN", "APPLIANCE_NEW_PIN", "APPLIANCE_CONFIG")
COLA, WATER, UNKNOWN = "6900000000014", "6900000000038", "6900000000991"  # UNKNOWN: valid EAN-13, not in the catalog
MANAGER, CASHIER, SUPERVISOR = ("9001", "9999"), ("1001", "1234"), ("2001", "2468")


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs `appliance --config FILE ...` in-process with the PIN variables of one call."""

    def __init__(self, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
        self.config, self.monkeypatch, self.capsys = config, monkeypatch, capsys

    def __call__(self, *argv: str, pin: str | None = None, supervisor_pin: str | None = None,
                 new_pin: str | None = None) -> Result:
        for variable, value in zip(PIN_VARIABLES, (pin, supervisor_pin, new_pin, None)):
            if value is None:
                self.monkeypatch.delenv(variable, raising=False)
            else:
                self.monkeypatch.setenv(variable, value)
        code = main(["--config", str(self.config), *argv])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    @property
    def database(self) -> Path:
        return self.config.parent / "data" / "appliance.db"

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql).fetchall()


def write_config(folder: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shop.toml"
    path.write_text(f'[paths]\ndata_dir = "data"\n{extra}', encoding="utf-8")
    return path


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys) -> Cli:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # never a terminal: no PIN prompt can hang a test
    return Cli(write_config(tmp_path / "etc"), monkeypatch, capsys)


@pytest.fixture
def shop(cli: Cli) -> Cli:
    """Staff (manager 9001, cashier 1001, supervisor 2001) and the demo catalog, set up through the CLI."""
    assert cli("operator", "add", "--code", MANAGER[0], "--name", "Boss", "--role", "manager", new_pin=MANAGER[1]).code == 0
    for (code, pin), role in ((CASHIER, "cashier"), (SUPERVISOR, "supervisor")):
        added = cli("operator", "add", "--code", code, "--name", role.title(), "--role", role, "--by", MANAGER[0],
                    pin=MANAGER[1], new_pin=pin)
        assert added.code == 0, added.err
    assert cli("catalog", "import", str(DEMO_CSV), "--operator", MANAGER[0], pin=MANAGER[1]).code == 0
    return cli


def sell(cli: Cli, *steps: str) -> Result:
    return cli("sale", "--operator", CASHIER[0], *steps, pin=CASHIER[1])


def journal_head(cli: Cli) -> tuple:
    return cli.query("SELECT count(*), max(seq) FROM journal")[0]


# --- config


def test_config_check_prints_the_effective_settings_and_their_source(cli):
    cli.config.write_text('[shop]\nname = "Test Shop"\n[receipt]\nwidth = 32\n[paths]\ndata_dir = "data"\n', encoding="utf-8")
    result = cli("config", "check")
    assert result.code == 0 and result.err == ""
    assert result.out.startswith(f"# effective configuration from {cli.config}\n# database: {cli.database}\n")
    effective = tomllib.loads(result.out)
    assert effective["shop"]["name"] == "Test Shop"
    assert effective["receipt"]["width"] == 32
    assert effective["tax"]["classes"] == {"standard": "13%", "reduced": "9%", "zero": "0%"}  # defaults shown too


def test_the_config_file_can_come_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("APPLIANCE_CONFIG", str(cli.config))
    assert main(["config", "check"]) == 0
    assert f"# effective configuration from {cli.config}" in cli.capsys.readouterr().out


def test_a_bad_config_exits_2_with_the_message_on_stderr(cli):
    cli.config.write_text("[time]\ncutover_hour = 24\n", encoding="utf-8")
    result = cli("config", "check")
    assert result.code == 2 and result.out == ""
    assert result.err == f"error: {cli.config}: [time] cutover_hour: must be between 0 and 23, not 24\n"


def test_a_bad_config_stops_every_command_before_it_touches_the_store(cli):
    cli.config.write_text('[paths]\ndata_dir = "data"\n[device]\nid = "t-1"\n', encoding="utf-8")
    result = sell(cli, "--scan", COLA, "--pay", "cash:20")
    assert result.code == 2 and "[device] id" in result.err
    assert not cli.database.exists()


# --- operators


def test_the_first_manager_then_a_cashier_added_by_that_manager(cli):
    first = cli("operator", "add", "--code", "9001", "--name", "Boss", "--role", "manager", new_pin="9999")
    assert (first.code, first.out) == (0, "added manager 9001 Boss\n")
    second = cli("operator", "add", "--code", "1001", "--name", "Li Na", "--role", "cashier", "--by", "9001",
                 pin="9999", new_pin="1234")
    assert (second.code, second.out) == (0, "added cashier 1001 Li Na\n")
    listed = cli("operator", "list").out.splitlines()
    assert [line.split()[:2] for line in listed] == [["1001", "cashier"], ["9001", "manager"]]


def test_after_the_first_operator_adding_needs_a_manager(cli):
    assert cli("operator", "add", "--code", "9001", "--name", "Boss", "--role", "manager", new_pin="9999").code == 0
    refused = cli("operator", "add", "--code", "1001", "--name", "Li Na", "--role", "cashier", new_pin="1234")
    assert refused.code == 1 and "needs a manager" in refused.err
    assert [row[0] for row in cli.query("SELECT code FROM operators")] == ["9001"]


def test_the_first_operator_must_be_a_manager(cli):
    refused = cli("operator", "add", "--code", "1001", "--name", "Li Na", "--role", "cashier", new_pin="1234")
    assert refused.code == 1 and "first operator must be a manager" in refused.err


# --- catalog


def test_catalog_import_list_and_export_round_trip(shop, tmp_path):
    found = shop("catalog", "list", "--search", "可乐")
    assert found.code == 0
    assert found.out.splitlines() == [
        "COLA330           3.50/piece 可口可乐 330ml | Coca-Cola 330ml  [6900000000014,69012341]"
    ]
    exported = tmp_path / "export.csv"
    result = shop("catalog", "export", str(exported))
    assert (result.code, result.err) == (0, "exported 25 products\n")
    with DEMO_CSV.open(encoding="utf-8", newline="") as original, exported.open(encoding="utf-8", newline="") as back:
        assert sorted(csv.reader(back)) == sorted(csv.reader(original))
    assert shop("catalog", "export").out == exported.read_text(encoding="utf-8")  # stdout gives the same


def test_an_exported_catalog_imports_into_another_store_unchanged(shop, tmp_path, monkeypatch, capsys):
    first = tmp_path / "first.csv"
    assert shop("catalog", "export", str(first)).code == 0
    other = Cli(write_config(tmp_path / "other"), monkeypatch, capsys)
    assert other("operator", "add", "--code", "9001", "--name", "Boss", "--role", "manager", new_pin="9999").code == 0
    imported = other("catalog", "import", str(first), "--operator", "9001", pin="9999")
    assert (imported.code, imported.out) == (0, "imported 25 products, skipped 0 bad rows\n")
    second = tmp_path / "second.csv"
    assert other("catalog", "export", str(second)).code == 0
    assert second.read_bytes() == first.read_bytes()


def test_a_bad_csv_row_exits_2_naming_line_and_column_and_imports_nothing(cli, tmp_path):
    assert cli("operator", "add", "--code", "9001", "--name", "Boss", "--role", "manager", new_pin="9999").code == 0
    lines = DEMO_CSV.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], lines[1], lines[2].replace(",3.50,", ",3.5x,")]) + "\n", encoding="utf-8")
    before = journal_head(cli)
    result = cli("catalog", "import", str(bad), "--operator", "9001", pin="9999")
    assert result.code == 2 and result.out == ""
    assert f"{bad}: line 3, column price: " in result.err
    assert "nothing imported" in result.err
    assert cli.query("SELECT count(*) FROM products") == [(0,)]
    assert journal_head(cli) == before


def test_catalog_import_needs_a_manager(shop):
    refused = shop("catalog", "import", str(DEMO_CSV), "--operator", CASHIER[0], pin=CASHIER[1])
    assert refused.code == 1


# --- sales


def test_a_scripted_sale_prints_its_receipt_with_number_and_change(shop):
    result = sell(shop, "--qty", "2", "--scan", COLA, "--pay", "cash:20")
    assert result.code == 0, result.err
    assert "T01-000001" in result.out
    assert re.search(r"2 x 3\.50 +7\.00", result.out)
    assert re.search(r"找零 Change +13\.00", result.out)
    assert shop.query("SELECT receipt_no, total FROM sales") == [("T01-000001", 700)]


def test_a_sale_not_paid_in_full_exits_1_and_records_nothing(shop):
    assert shop("shift", "open", "--operator", CASHIER[0], pin=CASHIER[1]).code == 0
    before = journal_head(shop)
    result = sell(shop, "--qty", "2", "--scan", COLA, "--pay", "cash:5")
    assert result.code == 1 and result.out == ""
    assert "not paid in full: 2.00 still due; nothing was recorded" in result.err
    assert shop.query("SELECT count(*) FROM sales") == [(0,)]
    assert journal_head(shop) == before


def test_an_unknown_barcode_exits_1_with_a_clear_message(shop):
    result = sell(shop, "--scan", UNKNOWN, "--pay", "cash:20")
    assert result.code == 1
    assert f"no product with barcode or SKU '{UNKNOWN}'" in result.err


def test_a_malformed_barcode_is_bad_input(shop):
    result = sell(shop, "--scan", "6900000000015", "--pay", "cash:20")
    assert result.code == 2 and "check digit" in result.err


def test_items_after_a_payment_are_refused_before_anything_is_recorded(shop):
    result = sell(shop, "--scan", COLA, "--pay", "cash:20", "--scan", WATER)
    assert result.code == 2 and "comes after --pay" in result.err
    assert shop.query("SELECT count(*) FROM sales") == [(0,)]


def test_a_return_against_a_receipt_refunds_the_line(shop):
    assert sell(shop, "--qty", "2", "--scan", COLA, "--pay", "cash:20").code == 0
    result = shop("return", "--operator", CASHIER[0], "--receipt", "T01-000001", "--line", "1:1", pin=CASHIER[1])
    assert result.code == 0, result.err
    assert "RETURN" in result.out and "T01-000002" in result.out
    assert "Original receipt T01-000001" in result.out
    assert re.search(r"REFUND +¥3\.50", result.out)
    again = shop("return", "--operator", CASHIER[0], "--receipt", "T01-000001", "--line", "1:2", pin=CASHIER[1])
    assert again.code == 1  # only one of the two colas is left to return


def test_a_post_void_needs_a_supervisor(shop):
    assert sell(shop, "--scan", WATER, "--pay", "cash:5").code == 0
    args = ("void", "--operator", CASHIER[0], "--receipt", "T01-000001", "--reason", "rang up twice")
    refused = shop(*args, pin=CASHIER[1])
    assert refused.code == 1 and "supervisor" in refused.err
    assert shop.query("SELECT count(*) FROM sales") == [(1,)]
    approved = shop(*args, "--supervisor", SUPERVISOR[0], pin=CASHIER[1], supervisor_pin=SUPERVISOR[1])
    assert approved.code == 0, approved.err
    assert "VOID" in approved.out and "Approved by 2001" in approved.out
    assert "Original receipt T01-000001" in approved.out


# --- shifts


def test_x_and_z_reports_and_the_z_number_counts_shifts(shop):
    assert shop("shift", "open", "--operator", CASHIER[0], "--float", "100", pin=CASHIER[1]).code == 0
    assert sell(shop, "--qty", "2", "--scan", COLA, "--pay", "cash:20").code == 0
    x = shop("shift", "x", "--operator", CASHIER[0], pin=CASHIER[1])
    assert x.code == 0 and "X REPORT" in x.out
    assert re.search(r"Expected cash +107\.00", x.out)
    close = ("shift", "close", "--operator", CASHIER[0], "--counted", "107.00")
    assert shop(*close, pin=CASHIER[1]).code == 1  # a cashier closes only with a supervisor
    z1 = shop(*close, "--supervisor", SUPERVISOR[0], pin=CASHIER[1], supervisor_pin=SUPERVISOR[1])
    assert z1.code == 0 and "Z REPORT #1" in z1.out and "Balanced" in z1.out
    assert shop("shift", "open", "--operator", CASHIER[0], pin=CASHIER[1]).code == 0
    z2 = shop("shift", "close", "--operator", SUPERVISOR[0], "--counted", "0", pin=SUPERVISOR[1])
    assert z2.code == 0 and "Z REPORT #2" in z2.out


# --- store integrity


def test_journal_verify_and_db_check_pass_on_a_good_store(shop):
    assert sell(shop, "--scan", COLA, "--pay", "cash:5").code == 0
    entries = journal_head(shop)[0]
    verify = shop("journal", "verify")
    assert verify.code == 0 and verify.out.startswith(f"journal ok: {entries} entries, head ")
    check = shop("db", "check")
    assert check.code == 0 and check.out.endswith("database ok\n") and "PROBLEM" not in check.out


def test_an_edited_journal_entry_is_named_by_its_sequence_number(shop):
    assert sell(shop, "--qty", "2", "--scan", COLA, "--pay", "cash:20").code == 0
    assert sell(shop, "--scan", WATER, "--pay", "cash:5").code == 0  # entries after the edited one
    with sqlite3.connect(shop.database) as conn:
        seq = conn.execute("SELECT min(seq) FROM journal WHERE kind = 'sale.completed'").fetchone()[0]
        conn.execute("DROP TRIGGER journal_no_update")  # the journal refuses updates; a tamperer removes that
        changed = conn.execute(
            "UPDATE journal SET payload = replace(payload, '\"change\":1300', '\"change\":1400') WHERE seq = ?", (seq,)
        ).rowcount
    assert changed == 1
    verify = shop("journal", "verify")
    assert verify.code == 3 and verify.out == ""
    assert f"journal seq {seq}:" in verify.err
    check = shop("db", "check")
    assert check.code == 3 and f"PROBLEM: journal seq {seq}:" in check.out


def test_checks_on_a_missing_database_fail_instead_of_creating_one(cli):
    for argv in (("journal", "verify"), ("db", "check")):
        result = cli(*argv)
        assert result.code == 3 and "no database" in result.err
    assert not cli.database.exists()


# --- PINs


def test_a_wrong_pin_exits_1_with_the_tries_left(shop):
    result = shop("shift", "open", "--operator", CASHIER[0], pin="0000")
    assert result.code == 1 and "4 tries left" in result.err
    assert shop.query("SELECT count(*) FROM shifts") == [(0,)]


def test_without_a_pin_or_a_terminal_the_message_names_the_variable(shop):
    result = shop("shift", "open", "--operator", CASHIER[0])
    assert result.code == 1 and "APPLIANCE_PIN" in result.err


def test_a_missing_supervisor_pin_names_its_variable(shop):
    assert sell(shop, "--scan", WATER, "--pay", "cash:5").code == 0
    result = shop("void", "--operator", CASHIER[0], "--receipt", "T01-000001", "--reason", "x",
                  "--supervisor", SUPERVISOR[0], pin=CASHIER[1])
    assert result.code == 1 and "APPLIANCE_SUPERVISOR_PIN" in result.err


def test_a_usage_error_exits_2(cli):
    with pytest.raises(SystemExit) as exited:
        cli("sale", "--scan", COLA)  # --operator is required
    assert exited.value.code == 2


# --- demo


def business_day(out: str) -> date:
    return date.fromisoformat(re.search(r"Business day (\d{4}-\d{2}-\d{2}) ·", out).group(1))


def test_the_demo_runs_twice_on_consecutive_business_days(cli):
    first = cli("demo")
    assert first.code == 0, first.err
    second = cli("demo")
    assert second.code == 0, second.err
    assert business_day(second.out) == business_day(first.out) + timedelta(days=1)
    assert "Z REPORT #1" in first.out and "Z REPORT #2" in second.out
    assert cli("journal", "verify").code == 0


# --- a real process: the installed script and `python -m appliance`


def run_process(argv: list[str], config: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PIN_VARIABLES}
    environment.update(APPLIANCE_CONFIG=str(config), **env)
    return subprocess.run(argv, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


APPLIANCE = [str(Path(sys.executable).with_name("appliance"))]
PYTHON_M = [sys.executable, "-m", "appliance"]


def test_the_installed_script_sells_and_reports_exit_codes(tmp_path):
    command = APPLIANCE
    config = write_config(tmp_path)
    steps = [
        (["operator", "add", "--code", "9001", "--name", "Boss", "--role", "manager"], {"APPLIANCE_NEW_PIN": "9999"}),
        (["operator", "add", "--code", "1001", "--name", "Li Na", "--role", "cashier", "--by", "9001"],
         {"APPLIANCE_PIN": "9999", "APPLIANCE_NEW_PIN": "1234"}),
        (["catalog", "import", str(DEMO_CSV), "--operator", "9001"], {"APPLIANCE_PIN": "9999"}),
    ]
    for argv, env in steps:
        done = run_process(command + argv, config, **env)
        assert done.returncode == 0, done.stderr
    sale = run_process(command + ["sale", "--operator", "1001", "--qty", "2", "--scan", COLA, "--pay", "cash:20"],
                       config, APPLIANCE_PIN="1234")
    assert sale.returncode == 0, sale.stderr
    assert "T01-000001" in sale.stdout and "13.00" in sale.stdout
    no_pin = run_process(command + ["shift", "x", "--operator", "1001"], config)  # stdin is not a terminal
    assert no_pin.returncode == 1 and "APPLIANCE_PIN" in no_pin.stderr
    assert run_process(command + ["journal", "verify"], config).returncode == 0


def test_python_m_appliance_exits_2_on_a_bad_config(tmp_path):
    config = write_config(tmp_path, "[receipt]\nwidth = 40\n")
    done = run_process(PYTHON_M + ["config", "check"], config)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: {config}: [receipt] width: must be one of 32, 42, 48, not 40\n"
