"""The sale being rung up: its lines, discounts, member and payments, and their pricing.

Lines are numbered when added and keep their number when others are voided, so a
cashier's "void line 3" always means the same line. Pricing is a pure function of the
lines, the promotions and the moment the sale started; it is recomputed after every
change (promotions such as "3 for 10" depend on the whole basket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from appliance.core import basket, promotions
from appliance.core.money import div_round_half_up
from appliance.core.promotions import Promotion, PromoLine
from appliance.core.tenders import Payment
from appliance.errors import DomainError


@dataclass(frozen=True)
class Discount:
    """A manual discount: a percentage (basis points) or an amount, with the reason given."""

    percent: int = 0
    amount: int = 0
    reason: str = ""
    approved_by: str | None = None  # the supervisor who allowed it above the limit
    approved_share: int = 0  # the share of the price (basis points) that was approved

    def of(self, price: int) -> int:
        value = div_round_half_up(price * self.percent, 10000) if self.percent else self.amount
        return min(value, price)


@dataclass
class SaleLine:
    line_no: int
    sku: str
    name: str
    unit: str
    category: str
    tax_rate: int
    cost: int  # unit cost, for margin reports
    quantity: int  # thousandths
    regular_price: int  # the catalog price per unit
    unit_price: int  # what is charged per unit (differs after an override or a price label)
    code: str = ""  # what was scanned
    from_label: bool = False  # weight or price came from an in-store label: quantity is fixed
    fixed_price: bool = False  # price overridden or from a price label: no promotions
    override_by: str | None = None  # who changed the price (the supervisor, when it needed one)
    override_approved: bool = False
    override_reason: str = ""
    discount: Discount | None = None

    def as_state(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "discount"}
        state["discount"] = self.discount.__dict__ if self.discount else None
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "SaleLine":
        data = dict(state)
        data["discount"] = Discount(**data["discount"]) if data["discount"] else None
        return cls(**data)


@dataclass(frozen=True)
class PricedLine:
    line: SaleLine
    result: basket.LineResult
    promo_discount: int
    promotion: Promotion | None
    manual_discount: int


@dataclass(frozen=True)
class Priced:
    lines: tuple[PricedLine, ...]
    totals: basket.BasketResult
    basket_discount: int  # the basket discount in minor units
    basket: Discount | None  # what the cashier gave it as

    @property
    def total(self) -> int:
        return self.totals.total


@dataclass
class Sale:
    id: str
    started_at: datetime
    operator: str
    lines: list[SaleLine] = field(default_factory=list)
    voided_lines: list[tuple[SaleLine, int]] = field(default_factory=list)  # (line, amount when voided)
    member_id: str | None = None
    member_name: str = ""
    basket_discount: Discount | None = None
    payments: list[Payment] = field(default_factory=list)
    next_line_no: int = 1

    @property
    def approved_by(self) -> str | None:
        """Supervisors whose approval the sale still carries, in the order they gave it."""
        codes = [l.override_by for l in self.lines if l.override_approved]
        codes += [l.discount.approved_by for l in self.lines if l.discount and l.discount.approved_by]
        if self.basket_discount and self.basket_discount.approved_by:
            codes.append(self.basket_discount.approved_by)
        return ",".join(dict.fromkeys(c for c in codes if c)) or None

    def line(self, line_no: int) -> SaleLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise DomainError(f"there is no line {line_no} in this sale", code="no_line")

    def price(self, promos: Sequence[Promotion], *, mode: str, rounding: str) -> Priced:
        promo_results = promotions.apply(
            [
                PromoLine(l.sku, l.category, l.unit, l.quantity, l.unit_price, eligible=not l.fixed_price)
                for l in self.lines
            ],
            promos,
            moment=self.started_at,
            has_member=self.member_id is not None,
        )
        inputs, manual = [], []
        for line, promo in zip(self.lines, promo_results):
            gross = basket.line_gross(line.unit_price, line.quantity)
            extra = line.discount.of(gross - promo.discount) if line.discount else 0
            manual.append(extra)
            inputs.append(basket.LineInput(line.unit_price, line.quantity, line.tax_rate, promo.discount + extra))
        after_lines = sum(basket.line_gross(i.unit_price, i.quantity) - i.discount for i in inputs)
        basket_off = self.basket_discount.of(after_lines) if self.basket_discount else 0
        totals = basket.compute(inputs, basket_off, mode=mode, rounding=rounding)  # type: ignore[arg-type]
        priced = tuple(
            PricedLine(line, result, promo.discount, promo.promotion, extra)
            for line, result, promo, extra in zip(self.lines, totals.lines, promo_results, manual)
        )
        return Priced(priced, totals, basket_off, self.basket_discount)

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def rounding(self) -> int:
        return sum(p.rounding for p in self.payments)

    def as_state(self) -> dict[str, Any]:
        """What a suspended sale keeps: enough to resume it exactly, prices included."""
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat(),
            "operator": self.operator,
            "lines": [line.as_state() for line in self.lines],
            "voided_lines": [[line.as_state(), amount] for line, amount in self.voided_lines],
            "member_id": self.member_id,
            "member_name": self.member_name,
            "basket_discount": self.basket_discount.__dict__ if self.basket_discount else None,
            "next_line_no": self.next_line_no,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Sale":
        return cls(
            id=state["id"],
            started_at=datetime.fromisoformat(state["started_at"]),
            operator=state["operator"],
            lines=[SaleLine.from_state(s) for s in state["lines"]],
            voided_lines=[(SaleLine.from_state(s), amount) for s, amount in state["voided_lines"]],
            member_id=state["member_id"],
            member_name=state["member_name"],
            basket_discount=Discount(**state["basket_discount"]) if state["basket_discount"] else None,
            next_line_no=state["next_line_no"],
        )
