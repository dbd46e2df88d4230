"""Manual discounts and their limits: what a cashier may give alone, what needs a supervisor.

A limit is a share of the price. An approval covers the share that was approved, not the
amount: if the basket later shrinks (a line voided, a quantity lowered, a promotion that
now applies) and the same amount becomes a larger share, the change is refused unless
the share stays within the limit or the approval.
"""

from __future__ import annotations

from dataclasses import replace

from appliance.core.money import div_round_half_up, format_amount, format_percent
from appliance.core.operators import Operator, authorize
from appliance.core.sale import Discount, Priced
from appliance.errors import InputError, PermissionDenied


def share(value: int, price: int) -> int:
    """`value` as basis points of `price`, rounded up (a limit must never be passed by rounding)."""
    return 10000 if price <= 0 else -(-value * 10000 // price)


def validate(discount: Discount, price: int, what: str) -> None:
    if not discount.reason.strip():
        raise InputError("give a reason for the discount")
    if discount.percent < 0 or discount.amount < 0 or (discount.percent and discount.amount):
        raise InputError("a discount is either a percentage or an amount, and not negative")
    if not 0 < discount.percent <= 10000 and not discount.amount:
        raise InputError("the discount must be more than zero (and at most 100%)")
    if discount.amount > price:
        raise InputError(f"the discount is more than the price of {what}")


def approve(
    discount: Discount, price: int, *, limit_bp: int, operator: Operator, approver: Operator | None,
    exponent: int, what: str,
) -> Discount:
    """The discount, with the share a supervisor approved when it is above the limit."""
    validate(discount, price, what)
    value = discount.of(price)
    if share(value, price) <= limit_bp:
        return replace(discount, approved_by=None, approved_share=0)
    limit = div_round_half_up(price * limit_bp, 10000)
    who = authorize(
        "discount.over_limit", operator, approver,
        why=f"{format_amount(value, exponent)} off {what} is above the {format_amount(limit, exponent)} limit",
    )
    return replace(discount, approved_by=who, approved_share=share(value, price))


def check_limits(priced: Priced, limit_bp: int) -> None:
    """Refuse a basket whose manual discounts now exceed what the limit or an approval allows."""
    for p in priced.lines:
        discount = p.line.discount
        if discount is not None:
            _within(discount, p.manual_discount, p.result.gross - p.promo_discount, limit_bp, f"line {p.line.line_no}")
    sale_discount = priced.basket
    if sale_discount is not None:
        base = sum(p.result.gross - p.result.discount for p in priced.lines)
        _within(sale_discount, priced.basket_discount, base, limit_bp, "the basket")


def _within(discount: Discount, value: int, price: int, limit_bp: int, what: str) -> None:
    taken = share(value, price) if value else 0
    if taken > max(limit_bp, discount.approved_share):
        raise PermissionDenied(
            f"this change would make the discount on {what} {format_percent(taken)} of its price, "
            "more than was allowed; remove the discount first or ask a supervisor to give it again",
            code="discount_grew",
        )
