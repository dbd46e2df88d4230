"""Tips on card payments: the amounts behind the suggested percentages, and the customer's answer on the keypad."""

from __future__ import annotations

from appliance.core.money import div_round_half_up
from appliance.errors import InputError

NO_TIP, OTHER = "0", "9"


def suggested(amount: int, percentages: tuple[int, ...]) -> list[int]:
    """Each percentage of `amount`, rounded half up to the currency's minor unit."""
    return [div_round_half_up(amount * percent, 100) for percent in percentages]


def chosen(key: str, amount: int, percentages: tuple[int, ...], other: int | None = None) -> int:
    """The tip for the key the customer pressed; OTHER takes the amount they typed (at most the payment itself)."""
    if key == NO_TIP:
        return 0
    if key == OTHER:
        if other is None or other < 0:
            raise InputError("type the tip amount, or press 0 for no tip")
        if other > amount:
            raise InputError("a tip cannot be more than the amount paid: check the amount typed")
        return other
    if key.isdigit() and 1 <= int(key) <= len(percentages):
        return suggested(amount, percentages)[int(key) - 1]
    raise InputError(f"press 1 to {len(percentages)} for a suggested tip, 0 for none or 9 for another amount")
