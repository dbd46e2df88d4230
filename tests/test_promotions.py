"""Promotions: each kind, the order they apply in, and what they refuse to stack."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from appliance.core.promotions import PromoLine, Promotion, apply
from appliance.errors import InputError

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def line(sku, price, qty=1000, category="drinks", unit="piece", eligible=True):
    return PromoLine(sku, category, unit, qty, price, eligible)


def discounts(lines, promos, member=False, moment=NOW):
    return [r.discount for r in apply(lines, promos, moment=moment, has_member=member)]


THREE_FOR_NINE = Promotion("P1", "multi_price", "3 for 9", {"skus": ["COLA", "SPRITE"], "n": 3, "price": 900})
TWO_PLUS_ONE = Promotion("P2", "buy_get", "2+1", {"skus": ["CHIPS", "CRISPS"], "buy": 2, "get": 1})
FRUIT = Promotion("P3", "category_percent", "fruit -10%", {"category": "fruit", "percent": 1000})
MILK = Promotion("P4", "timed_price", "milk", {"sku": "MILK", "price": 1080})


def test_multi_price_groups_units_across_lines_and_spreads_the_saving():
    result = discounts([line("COLA", 350, 2000), line("SPRITE", 350)], [THREE_FOR_NINE])
    assert sum(result) == 3 * 350 - 900
    assert result == [100, 50]  # 150 over three equal units: 50 each, two on the cola line


def test_multi_price_needs_a_full_group_and_whole_pieces():
    assert discounts([line("COLA", 350, 2000)], [THREE_FOR_NINE]) == [0]
    assert discounts([line("COLA", 350, 7000)], [THREE_FOR_NINE]) == [2 * 150]  # two groups, one unit at full price


def test_multi_price_never_raises_a_price():
    cheap = Promotion("P1", "multi_price", "3 for 12", {"skus": ["COLA"], "n": 3, "price": 1200})
    assert discounts([line("COLA", 350, 3000)], [cheap]) == [0]


def test_buy_get_gives_the_cheapest_units_of_each_group():
    result = discounts([line("CHIPS", 750, 2000), line("CRISPS", 500)], [TWO_PLUS_ONE])
    assert result == [0, 500]
    # Six units, dearest first: 900 900 750 | 750 500 500 -> 750 and 500 free.
    result = discounts([line("CHIPS", 750, 2000), line("CRISPS", 500, 2000), line("CHIPS", 900, 2000)], [TWO_PLUS_ONE])
    assert result == [750, 500, 0]


def test_category_percent_rounds_half_up_per_line():
    result = discounts([line("APPLE", 1280, 1234, "fruit", "kg"), line("COLA", 350)], [FRUIT])
    assert result == [158, 0]  # 15.80 x 10% = 1.58


def test_timed_price_only_inside_its_window():
    window = Promotion("P4", "timed_price", "milk", {"sku": "MILK", "price": 1080},
                       starts_at=datetime(2026, 11, 24, tzinfo=timezone.utc),
                       ends_at=datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert discounts([line("MILK", 1280, 2000)], [window]) == [400]
    assert discounts([line("MILK", 1280)], [window], moment=datetime(2026, 11, 25, tzinfo=timezone.utc)) == [0]
    assert discounts([line("MILK", 1280)], [window], moment=datetime(2026, 11, 23, tzinfo=timezone.utc)) == [0]


def test_timed_price_above_the_shelf_price_does_nothing():
    assert discounts([line("MILK", 1000)], [MILK]) == [0]


def test_members_only_needs_a_member():
    members_fruit = Promotion("P3", "category_percent", "m", {"category": "fruit", "percent": 1000}, members_only=True)
    lines = [line("APPLE", 1000, 1000, "fruit", "kg")]
    assert discounts(lines, [members_fruit]) == [0]
    assert discounts(lines, [members_fruit], member=True) == [100]


def test_promotions_do_not_stack_and_apply_in_the_documented_order():
    # A fruit that is also on a timed price takes the timed price (stage 1), not the category percentage.
    fruit_special = Promotion("P9", "timed_price", "apple special", {"sku": "APPLE", "price": 800})
    apples = [line("APPLE", 1000, 2000, "fruit", "kg")]
    results = apply(apples, [FRUIT, fruit_special], moment=NOW, has_member=True)
    assert results[0].discount == 400 and results[0].promotion.id == "P9"
    # Within a stage the lower id wins.
    other = Promotion("P0", "buy_get", "cola 1+1", {"skus": ["COLA"], "buy": 1, "get": 1})
    results = apply([line("COLA", 350, 3000)], [THREE_FOR_NINE, other], moment=NOW, has_member=False)
    assert results[0].promotion.id == "P0" and results[0].discount == 350


def test_a_line_with_a_hand_set_price_takes_no_promotion():
    assert discounts([line("COLA", 300, 3000, eligible=False)], [THREE_FOR_NINE]) == [0]


def test_weighed_lines_never_join_multi_unit_deals():
    per_kg = Promotion("P1", "multi_price", "3 for 9", {"skus": ["APPLE"], "n": 3, "price": 900})
    assert discounts([line("APPLE", 1000, 3000, "fruit", "kg")], [per_kg]) == [0]


@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("multi_price", {"skus": [], "n": 3, "price": 900}, "skus"),
        ("multi_price", {"skus": ["A"], "n": 1, "price": 900}, "'n'"),
        ("multi_price", {"skus": ["A"], "n": 3, "price": -1}, "'price'"),
        ("buy_get", {"skus": ["A"], "buy": 0, "get": 1}, "'buy'"),
        ("buy_get", {"skus": ["A"], "buy": 2, "get": True}, "'get'"),
        ("category_percent", {"category": "fruit", "percent": 10001}, "percent"),
        ("category_percent", {"percent": 100}, "category"),
        ("timed_price", {"price": 100}, "sku"),
        ("bogus", {}, "kind"),
    ],
)
def test_bad_promotions_are_refused_with_the_parameter_named(kind, params, message):
    with pytest.raises(InputError, match=message) as err:
        Promotion("PX", kind, "bad", params)
    assert "promotion PX" in str(err.value)


def test_units_bought_to_qualify_take_no_other_promotion():
    snacks = Promotion("P9", "category_percent", "snacks -20%", {"category": "snacks", "percent": 2000})
    deal = Promotion("P2", "buy_get", "2+1", {"skus": ["CHOCO", "CHIPS"], "buy": 2, "get": 1})
    lines = [line("CHOCO", 890, 2000, "snacks"), line("CHIPS", 750, 1000, "snacks")]
    results = apply(lines, [deal, snacks], moment=NOW, has_member=False)
    assert [r.discount for r in results] == [0, 750]  # the chocolate qualified; no 20% on top
    assert [r.promotion.id for r in results] == ["P2", "P2"]


def test_a_broken_promotion_row_is_left_out_not_fatal(till):
    till.store.conn.execute(
        "INSERT INTO promotions (id, kind, name, params) VALUES ('PX', 'multi_price', 'broken', '{not json')"
    )
    till.store.conn.execute(
        "INSERT INTO promotions (id, kind, name, params) VALUES ('PY', 'multi_price', 'bad', '{\"skus\": []}')"
    )
    till.reload_promotions()
    assert {p.id for p in till.promotions} == {"P01", "P02", "P03", "P04"}
    assert any("promotion PX" in p for p in till.promotion_problems)
    assert any("promotion PY" in p for p in till.promotion_problems)
