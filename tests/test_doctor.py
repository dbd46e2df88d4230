"""`appliance doctor` for technicians, and the drawer rule with its journaled no-sale."""

from __future__ import annotations

import json

import pytest

from appliance.cli import main
from appliance.core.drawer import no_sale, opens_for_sale
from appliance.errors import InputError, PermissionDenied
from appliance.store import journal
from tests.conftest import CASHIER, SUPERVISOR


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A config with simulators and a seeded store in tmp_path."""
    cfg = tmp_path / "shop.toml"
    cfg.write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(cfg))
    return cfg


def test_doctor_sim_checks_everything_and_prints_a_test_page(shop, tmp_path, capsys):
    png = tmp_path / "page.png"
    assert main(["doctor", "--sim", "--test-page", "--png", str(png), "--beep", "--display",
                 "--wait", "scan", "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "scan received from scanner: 6900000000014" in out
    assert "test page: done on printer" in out and png.stat().st_size > 1000
    for kind in ("scanner", "keypad", "card_reader", "stripe_reader", "scale", "printer", "drawer", "display", "indicator"):
        assert f"sim://{kind}" in out
    assert "native:" in out


@pytest.mark.parametrize("what, shown", [("key", "key received from keypad: 5"),
                                          ("card", "card received from card_reader: ATR 3B 00")])
def test_doctor_waits_for_keys_and_cards(shop, capsys, what, shown):
    assert main(["doctor", "--sim", "--wait", what, "--timeout", "5"]) == 0
    assert shown in capsys.readouterr().out


def test_a_missing_required_device_fails_the_check(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "shop.toml"
    cfg.write_text(
        '[paths]\ndata_dir = "data"\n'
        '[devices.printer]\naddress = "tcp://127.0.0.1:9"\nrequired = true\n'
        '[devices.scanner]\naddress = "serial:///dev/does-not-exist"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(cfg), "doctor", "--json"]) == 4
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["devices"]}
    assert not rows["printer"]["online"] and "cannot connect" in rows["printer"]["error"]
    assert not rows["scanner"]["online"] and "/dev/does-not-exist" in rows["scanner"]["error"]
    assert report["problems"] == [f"required device printer (printer) is missing: {rows['printer']['error']}"]


def test_opening_the_drawer_needs_a_supervisor_and_is_journaled(shop, monkeypatch, capsys):
    from appliance import config
    from appliance.core.till import Till
    from appliance.core.clock import SystemClock
    from appliance.store.db import Store
    from tests.conftest import seed

    settings = config.load(shop)
    with Store(settings.database_path) as store:
        seed(Till(settings, store, SystemClock()))
    monkeypatch.setenv("APPLIANCE_PIN", CASHIER[1])
    assert main(["doctor", "--sim", "--open-drawer", "--operator", CASHIER[0], "--reason", "float check"]) == 1
    assert "needs a supervisor" in capsys.readouterr().err
    monkeypatch.setenv("APPLIANCE_SUPERVISOR_PIN", SUPERVISOR[1])
    assert main(["doctor", "--sim", "--open-drawer", "--operator", CASHIER[0], "--supervisor", SUPERVISOR[0],
                 "--reason", "float check"]) == 0
    assert "drawer opened (no sale journaled)" in capsys.readouterr().out
    with Store(settings.database_path) as store:
        payload = store.scalar("SELECT payload FROM journal WHERE kind = 'drawer.no_sale'")
        assert json.loads(payload)["reason"] == "float check" and json.loads(payload)["approved_by"] == "2001"
        journal.verify(store.conn)


def test_no_sale_refuses_without_reason(till, supervisor):
    with pytest.raises(InputError, match="reason"):
        no_sale(till.store, till.operator, supervisor, " ", device="T01", at=till.clock.now())
    with pytest.raises(PermissionDenied):
        no_sale(till.store, till.operator, None, "x", device="T01", at=till.clock.now())


@pytest.mark.parametrize("payments, change, kind, rule, opens", [
    ([("cash", 500)], 0, "sale", "cash", True),
    ([("cash", 500)], 0, "sale", "change", False),
    ([("cash", 500)], 50, "sale", "change", True),
    ([("voucher", 500)], 0, "sale", "cash", False),
    ([("stored_value", 500)], 0, "return", "cash", False),
    ([("cash", 300)], 0, "return", "change", True),
])
def test_when_a_sale_opens_the_drawer(payments, change, kind, rule, opens):
    doc = {"kind": kind, "change": change, "payments": [{"kind": k, "amount": a} for k, a in payments]}
    assert opens_for_sale(doc, rule) is opens
