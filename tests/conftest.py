"""Shared fixtures: a real SQLite store in a temp folder, the demo catalog, staff and a manual clock."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance import config
from appliance.cli.demo import demo_promotions
from appliance.core import promotions
from appliance.core.catalog_csv import Rules, import_csv
from appliance.core.clock import ManualClock, iso
from appliance.core.till import Till
from appliance.store.db import Store

# Fixture modules registered once here: the PC/SC ones (one private pcscd for the whole
# session: a module importing them would make its own session-scoped copy, and a second
# pcscd) and the card till's acquirer.
pytest_plugins = ["tests.pcsc.fixtures", "tests.card_till", "tests.hq_server"]

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 24, 9, 0, tzinfo=ZONE)
CASHIER, SUPERVISOR, MANAGER = ("1001", "1234"), ("2001", "2468"), ("9001", "9999")

# Barcodes of the demo catalog (appliance/data/demo_catalog.csv).
COLA, SPRITE, WATER, MILK, BREAD, RICE, CHIPS, GUM = (
    "6900000000014", "6900000000021", "6900000000038", "6900000000076",
    "6900000000090", "6900000000113", "6900000000137", "6900000000151",
)


def make_settings(tmp_path: Path, **sections: dict) -> config.Settings:
    return config.from_mapping(sections, source="test.toml", base_dir=tmp_path)


def rules_of(settings: config.Settings) -> Rules:
    return Rules.of(settings)


def seed(till: Till) -> None:
    """The demo catalog, its promotions and three operators: cashier 1001, supervisor 2001, manager 9001."""
    data = resources.files("appliance").joinpath("data/demo_catalog.csv").read_bytes()
    result = import_csv(till.store, BytesIO(data), rules_of(till.settings), at=iso(till.clock.now()))
    assert result.applied == 25 and not result.errors
    manager = till.operators.add(MANAGER[0], "Manager", "manager", MANAGER[1], at=till.clock.now(), by=None)
    till.operators.add(CASHIER[0], "Cashier", "cashier", CASHIER[1], at=till.clock.now(), by=manager)
    till.operators.add(SUPERVISOR[0], "Supervisor", "supervisor", SUPERVISOR[1], at=till.clock.now(), by=manager)
    promotions.save(till.store, demo_promotions(till.clock.now()), at=iso(till.clock.now()))
    till.reload_promotions()


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store(settings: config.Settings):
    with Store(settings.database_path) as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def till(settings: config.Settings, store: Store, clock: ManualClock) -> Till:
    """A seeded till with the cashier signed in and a shift open with a 100.00 float."""
    t = Till(settings, store, clock)
    seed(t)
    cashier = t.sign_in(*CASHIER)
    t.shifts.open(cashier, 10000, at=clock.now())
    return t


@pytest.fixture
def supervisor(till: Till):
    return till.approve(*SUPERVISOR)
