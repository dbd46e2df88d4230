"""Terminal risk management (EMV Book 3 10.6): exception file, floor limit, random selection, velocity."""

from __future__ import annotations

import random

import pytest

from appliance.emv.model import AidConfig, Transaction
from appliance.emv.risk import manage, selected_randomly, sha256_key, velocity
from appliance.emv.tvr import tsi, tvr
from tests.emv.keys import APPROVE
from tests.emv.personalise import VISA_AID, test_terminal_config
from tests.emv.scripted import ScriptedTransport

CONFIG = test_terminal_config()
RANDOM = AidConfig(VISA_AID, "VISA", floor_limit=10_000, random_threshold=2_000, random_target=20,
                   random_max_target=60)


class Draw(random.Random):
    """A Random whose randint gives a chosen number: random selection's boundaries, exactly."""

    def __init__(self, value: int):
        super().__init__(0)
        self.value = value

    def randint(self, a: int, b: int) -> int:
        assert (a, b) == (1, 99)
        return self.value


def run(amount: int, aid=AidConfig(VISA_AID, "VISA", floor_limit=5_000), script=(), tags=None, config=CONFIG,
        rng=None, force_online=False, pan_key=sha256_key):
    transport = ScriptedTransport(list(script))
    bits, status = tvr(), tsi()
    notes = manage(transport.channel(), tags or {}, APPROVE, Transaction(amount=amount, force_online=force_online),
                   config, aid, bits, status, rng=rng or Draw(99), pan_key=pan_key)
    assert transport.finished
    return bits, status, notes


def test_floor_limit():
    assert run(4_999)[0].hex() == "0000000000"
    bits, status, notes = run(5_000)
    assert bits.describe() == ["transaction exceeds floor limit"]
    assert status.describe() == ["terminal risk management was performed"]
    assert notes == ["amount 5000 at or above floor limit 5000"]


def test_zero_floor_limit_sends_everything_online():
    assert run(1, aid=AidConfig(VISA_AID, "VISA"))[0].is_set(4, 8)


def test_exception_file_by_pan_key_never_the_pan():
    listed = test_terminal_config(exception_file=frozenset({sha256_key(APPROVE)}))
    assert run(1, config=listed)[0].describe() == ["card appears on terminal exception file"]
    custom = test_terminal_config(exception_file=frozenset({"token-1"}))
    assert run(1, config=custom, pan_key=lambda pan: "token-1" if pan == APPROVE else "other")[0].is_set(1, 5)
    assert not run(1, config=custom)[0].is_set(1, 5)


def test_merchant_forced_online():
    assert run(1, force_online=True)[0].describe() == ["merchant forced transaction online"]


@pytest.mark.parametrize(("amount", "draw", "selected"), [
    (1_000, 20, True), (1_000, 21, False),  # below the threshold: the target percentage
    (2_000, 20, True), (2_000, 21, False),  # at the threshold the target still holds
    (6_000, 40, True), (6_000, 41, False),  # halfway to the floor: 20 + (60 - 20) / 2 = 40
    (9_999, 59, True), (9_999, 60, False),  # just under the floor: almost the maximum
    (10_000, 1, False),  # at the floor limit the floor limit check applies instead
])
def test_random_selection_biased_towards_the_floor_limit(amount: int, draw: int, selected: bool):
    assert selected_randomly(amount, RANDOM, Draw(draw)) is selected


def test_random_selection_sets_its_bit_below_the_floor():
    bits, _, notes = run(1_000, aid=RANDOM, rng=Draw(5))
    assert bits.describe() == ["transaction selected randomly for online processing"]
    assert run(1_000, aid=RANDOM, rng=Draw(50))[0].hex() == "0000000000"


def test_random_selection_with_a_seeded_rng_is_reproducible():
    picks = [selected_randomly(5_000, RANDOM, random.Random(seed)) for seed in range(50)]
    assert picks == [selected_randomly(5_000, RANDOM, random.Random(seed)) for seed in range(50)]
    assert any(picks) and not all(picks)


def test_zero_target_never_selects():
    assert not selected_randomly(1, AidConfig(VISA_AID, "VISA", floor_limit=100), Draw(1))


LIMITS = {0x9F14: b"\x02", 0x9F23: b"\x04"}


def counters(atc: str, last_online: str):
    return [("80CA9F36", atc), ("80CA9F13", last_online)]


def velocity_bits(script, tags=LIMITS):
    transport = ScriptedTransport(script)
    bits = tvr()
    notes = velocity(transport.channel(), tags, bits)
    assert transport.finished
    return bits, notes


@pytest.mark.parametrize(("atc", "last", "expected"), [
    ("0012", "0010", []),
    ("0013", "0010", ["lower consecutive offline limit exceeded"]),
    ("0015", "0010", ["lower consecutive offline limit exceeded", "upper consecutive offline limit exceeded"]),
])
def test_velocity_limits(atc: str, last: str, expected: list[str]):
    bits, _ = velocity_bits(counters(f"9F3602{atc}9000", f"9F1302{last}9000"))
    assert bits.describe() == expected


def test_new_card():
    bits, notes = velocity_bits(counters("9F360200019000", "9F130200009000"))
    assert bits.describe() == ["new card"] and "new card" in notes


@pytest.mark.parametrize("script", [
    counters("6A88", "9F130200109000"),
    counters("9F360200109000", "6A88"),
    counters("9F360200109000", "9F130200109000"),  # ATC not above the last online ATC
])
def test_counters_missing_or_inconsistent_count_as_both_limits_exceeded(script):
    bits, _ = velocity_bits(script)
    assert bits.describe() == ["lower consecutive offline limit exceeded", "upper consecutive offline limit exceeded"]


def test_no_limits_on_the_card_no_velocity_check():
    assert velocity_bits([], tags={})[0].hex() == "0000000000"


def test_manage_runs_velocity_with_the_card():
    bits, _, notes = run(1, script=counters("9F360200209000", "9F130200109000"), tags=LIMITS)
    assert bits.is_set(4, 6) and bits.is_set(4, 7) and not bits.is_set(4, 8)  # 1 is under the floor limit
