"""Tips: suggestions rounded to the minor unit, keypad answers, the customer display question."""

from __future__ import annotations

import pytest

from appliance.core import tips
from appliance.display.customer import tip_prompt
from appliance.display.text import width
from appliance.errors import InputError
from tests.conftest import make_settings


def test_suggestions_round_half_up_to_the_minor_unit():
    assert tips.suggested(3990, (10, 15, 20)) == [399, 599, 798]  # 598.5 rounds up
    assert tips.suggested(1, (10,)) == [0]


@pytest.mark.parametrize("key, other, tip", [("0", None, 0), ("1", None, 399), ("3", None, 798), ("9", 250, 250)])
def test_the_customers_key_gives_the_tip(key, other, tip):
    assert tips.chosen(key, 3990, (10, 15, 20), other) == tip


@pytest.mark.parametrize("key, other, message", [
    ("4", None, "press 1 to 3"), ("x", None, "press 1 to 3"), ("9", None, "type the tip amount"),
    ("9", 5000, "more than the amount paid"), ("9", -1, "type the tip amount"),
])
def test_bad_answers_say_what_to_press(key, other, message):
    with pytest.raises(InputError, match=message):
        tips.chosen(key, 3990, (10, 15, 20), other)


@pytest.mark.parametrize("chinese", [True, False])
def test_the_display_question_fits_a_2x20_display(chinese):
    frame = tip_prompt(3990, (10, 15, 20), 2, 20, chinese)
    assert len(frame) == 2 and all(width(line) == 20 for line in frame)
    assert "1:10 2:15 3:20%" in frame[0] and "39.90" in frame[1] and ("9:" in frame[1])


def test_tip_percentages_are_configured_and_checked(tmp_path):
    assert make_settings(tmp_path).payments.tip_percentages == (10, 15, 20)
    assert make_settings(tmp_path, payments={"tip_percentages": [5, 8]}).payments.tip_percentages == (5, 8)
    with pytest.raises(ValueError, match="1 to 4 whole percentages"):
        make_settings(tmp_path, payments={"tip_percentages": [5, 8, 10, 12, 15]})
    with pytest.raises(ValueError, match="between 1 and 100"):
        make_settings(tmp_path, payments={"tip_percentages": [0]})
