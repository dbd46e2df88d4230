"""The till: one terminal's sale engine, from the first scan to the committed receipt.

It holds the signed-in operator and the sale in progress; everything that changes the
books goes through `posting.post` as one transaction. Every refusal is a typed error
with a message for the cashier, and leaves the sale as it was.
"""

from __future__ import annotations

import copy
import json
import logging
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator

from appliance.config import Settings
from appliance.core import coupons, discounts, loyalty, members, points, promotions, reports, stock, tiers
from appliance.core.basket import line_gross
from appliance.core.catalog import Catalog
from appliance.core.clock import Clock, business_day, iso
from appliance.core.ids import uuid7
from appliance.core.money import div_round_half_up, format_amount
from appliance.core.operators import Operator, Operators, authorize
from appliance.core.posting import AfterPosting, post
from appliance.core.discounts import check_limits
from appliance.core.sale import Discount, Priced, Sale, SaleLine
from appliance.core.shifts import Shifts
from appliance.core.tenders import CashTender, StoredValueTender, Tender, TenderContext, VoucherTender
from appliance.errors import DomainError, InputError
from appliance.store.db import Store


log = logging.getLogger(__name__)


class Till:
    def __init__(self, settings: Settings, store: Store, clock: Clock, extra_tenders: dict[str, Tender] | None = None):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.device = settings.device.id
        self.catalog = Catalog(store.conn, settings.barcode.instore)
        self.operators = Operators(
            store, attempts=settings.security.pin_attempts, lockout_minutes=settings.security.lockout_minutes
        )
        self.shifts = Shifts(
            store, self.device, settings.time.zone, settings.time.cutover_hour, settings.currency.exponent
        )
        self.cash = CashTender(settings.cash.rounding_step, settings.cash.rounding_mode)
        self.tenders: dict[str, Tender] = {
            "cash": self.cash,
            "voucher": VoucherTender(store.conn),
            "stored_value": StoredValueTender(store.conn),
            "points": points.PointsTender(store.conn, settings),
            **(extra_tenders or {}),
        }
        # Stock, loyalty and the report summaries follow every posted document, in its transaction.
        self.after_posting: tuple[AfterPosting, ...] = (
            stock.after_posting(settings), loyalty.after_posting(settings), reports.after_posting)
        self.tier_pricing = tiers.TierPricing(store.conn, settings)  # member prices and tier discounts
        self.operator: Operator | None = None
        self.notices: list[str] = []  # warnings for the operator from the last scan (stock running out)
        # Called after every change to the sale in progress (the daemon keeps a snapshot for crash recovery).
        self.on_change: Callable[["Till"], None] | None = None
        # Grams from the scale for weighed goods scanned without a weight; the daemon sets it
        # (it waits for a stable weight and turns device errors into InputError).
        self.weigher: Callable[[], int] | None = None
        self.sale: Sale | None = None
        self._shift_id: str | None = None
        self._priced: Priced | None = None
        self.reload_promotions()

    # --- operators

    def sign_in(self, code: str, pin: str) -> Operator:
        """A sale in progress (one restored after a restart) may only be taken back by its own operator."""
        if self.sale is not None and (self.operator is not None or code != self.sale.operator):
            raise DomainError("finish, suspend or cancel the sale before another operator signs in")
        self.operator = self.operators.authenticate(code, pin, at=self.clock.now())
        return self.operator

    def approve(self, code: str, pin: str) -> Operator:
        """A supervisor's code and PIN for one action; the result is passed as `approver`."""
        return self.operators.authenticate(code, pin, at=self.clock.now())

    def sign_out(self) -> None:
        if self.sale is not None:
            raise DomainError("finish, suspend or cancel the sale before signing out")
        self.operator = None

    def require_operator(self) -> Operator:
        if self.operator is None:
            raise DomainError("sign in first", code="signed_out")
        return self.operator

    def reload_promotions(self) -> None:
        """Promotions are few; they are read once and again when head office changes them.

        A promotion that cannot be applied is left out and reported, never a reason for
        the till not to start: the shop keeps selling at shelf prices.
        """
        self.promotions = []
        self.promotion_problems: list[str] = []
        for row in self.store.conn.execute(
            "SELECT id, kind, name, params, starts_at, ends_at, members_only FROM promotions WHERE active = 1"
        ):
            try:
                self.promotions.append(promotions.from_row(row))
            except InputError as exc:
                log.warning("promotion left out: %s", exc)
                self.promotion_problems.append(str(exc))
        self._priced = None

    # --- ringing up

    def _require_sale(self) -> Sale:
        if self.sale is None:
            raise DomainError("no sale in progress: scan an item to start one", code="no_sale")
        return self.sale

    def _changed(self) -> None:
        self._priced = None
        if self.on_change is not None:
            self.on_change(self)

    @property
    def shift_id(self) -> str | None:
        return self._shift_id

    def restore(self, sale: Sale, shift_id: str | None) -> None:
        """Put back a sale interrupted by a restart (see sale_snapshot): lines, member, payments taken."""
        if self.sale is not None:
            raise DomainError("a sale is already in progress")
        self.sale, self._shift_id = sale, shift_id
        self._changed()

    def check_quantity(self, quantity: int, unit: str, name: str) -> None:
        """A line's quantity: positive, whole pieces for piece goods, at most the configured maximum."""
        if quantity <= 0:
            raise InputError(f"the quantity of {name} must be more than zero")
        if unit == "piece" and quantity % 1000:
            raise InputError(f"{name} is sold by the piece: the quantity must be a whole number")
        if quantity > self.settings.sale.max_quantity * 1000:
            raise InputError(f"{quantity // 1000} is more than the {self.settings.sale.max_quantity} allowed on one line")

    def scan(self, code: str, quantity: int | None = None) -> SaleLine:
        """Add what a code names; `quantity` in thousandths (pieces x 1000, or grams for weighed goods)."""
        operator = self.require_operator()
        shift_id = self._shift_id if self.sale is not None else self.shifts.require_open().id
        found = self.catalog.resolve(code)
        product = found.product
        if found.quantity is not None:
            qty = found.quantity
        elif quantity is not None:
            qty = quantity
        elif product.weighed and found.price is None:
            if self.weigher is None:
                raise InputError(f"{product.name} is sold by weight: weigh it or enter the weight", code="needs_weight")
            qty = self.weigher()
            if qty <= 0:
                raise InputError(f"put the {product.name} on the scale, then scan again", code="needs_weight")
        else:
            qty = 1000
        price, fixed = (found.price, True) if found.price is not None else (product.price, False)
        if found.price is not None:
            qty = 1000  # the label carries the line's price
        self.check_quantity(qty, "kg" if found.price is not None else product.unit, product.name)
        rate = self.settings.tax_rate(product.tax_class)
        # [stock] negative: "refuse" raises here, before the sale changes; "warn" leaves what to tell the operator.
        self.notices = stock.scan_notice(self.store.conn, self.settings, product, qty, self.sale.lines if self.sale else ())
        if self.sale is None:
            now = self.clock.now()
            self.sale = Sale(id=uuid7(now), started_at=now, operator=operator.code)
            self._shift_id = shift_id
        with self._change("add items") as sale:
            same = self._mergeable(sale, product.sku) if not fixed and product.unit == "piece" else None
            if same is not None:
                self.check_quantity(same.quantity + qty, product.unit, product.name)
                same.quantity += qty
                return same
            return self._add_line(sale, product, found, qty, price, fixed, rate)

    def _add_line(self, sale: Sale, product, found, qty: int, price: int, fixed: bool, rate: int) -> SaleLine:
        line = SaleLine(
            line_no=sale.next_line_no,
            sku=product.sku,
            name=product.name,
            unit=product.unit,
            category=product.category,
            tax_rate=rate,
            cost=product.cost,
            quantity=qty,
            regular_price=price,
            unit_price=price,
            code=found.code,
            from_label=found.quantity is not None or found.price is not None,
            fixed_price=fixed,
        )
        sale.next_line_no += 1
        sale.lines.append(line)
        return line

    @contextmanager
    def _change(self, action: str) -> Iterator[Sale]:
        """Change the sale as one step: refused when payments were taken, undone whole when refused.

        Manual discounts are checked again afterwards: a change that makes one a bigger
        share of its price than was allowed (a line voided under a basket discount) is
        undone. Only sales with manual discounts pay for the snapshot.
        """
        sale = self._require_sale()
        self._no_payments(sale, action)
        discounted = sale.basket_discount is not None or any(l.discount for l in sale.lines)
        snapshot = copy.deepcopy(sale) if discounted else None
        try:
            yield sale
            self._changed()
            if discounted:
                check_limits(self.priced(), self.settings.sale.discount_limit)
        except BaseException:
            if snapshot is not None:
                self.sale = snapshot
            self._changed()
            raise

    @staticmethod
    def _mergeable(sale: Sale, sku: str) -> SaleLine | None:
        """Scanning an item again adds to its line, unless that line was changed by hand."""
        for line in sale.lines:
            if line.sku == sku and not line.fixed_price and line.discount is None and not line.from_label:
                return line
        return None

    def set_quantity(self, line_no: int, quantity: int) -> None:
        with self._change("change quantities") as sale:
            line = sale.line(line_no)
            if line.from_label:
                raise DomainError(f"line {line_no} comes from a scale label; scan a new label instead")
            self.check_quantity(quantity, line.unit, line.name)
            line.quantity = quantity

    def void_line(self, line_no: int) -> None:
        amounts = {p.line.line_no: p.result.amount for p in self.priced().lines}
        with self._change("void lines") as sale:
            line = sale.line(line_no)
            sale.lines.remove(line)
            sale.voided_lines.append((line, amounts[line_no]))

    def discount_line(self, line_no: int, discount: Discount, approver: Operator | None = None) -> None:
        with self._change("give discounts") as sale:
            line = sale.line(line_no)
            base = next(p for p in self.priced().lines if p.line is line)
            line.discount = self._approve(discount, base.result.gross - base.promo_discount, approver, f"line {line_no}")

    def discount_basket(self, discount: Discount, approver: Operator | None = None) -> None:
        price = sum(p.result.gross - p.result.discount for p in self.priced().lines)
        with self._change("give discounts") as sale:
            sale.basket_discount = self._approve(discount, price, approver, "the basket")

    def _approve(self, discount: Discount, price: int, approver: Operator | None, what: str) -> Discount:
        return discounts.approve(
            discount, price, limit_bp=self.settings.sale.discount_limit, operator=self.require_operator(),
            approver=approver, exponent=self.settings.currency.exponent, what=what,
        )

    def override_price(self, line_no: int, price: int, reason: str, approver: Operator | None = None) -> None:
        with self._change("change prices") as sale:
            line = sale.line(line_no)
            if price < 0:
                raise InputError("a price cannot be negative")
            if not reason.strip():
                raise InputError("give a reason for the price change")
            moved = abs(price - line.regular_price)
            limit = div_round_half_up(line.regular_price * self.settings.sale.price_override_limit, 10000)
            who = None
            if moved > limit:
                exp = self.settings.currency.exponent
                who = authorize(
                    "price.override_over_limit", self.require_operator(), approver,
                    why=f"{format_amount(line.regular_price, exp)} to {format_amount(price, exp)} is beyond the limit",
                )
            line.unit_price = price
            line.fixed_price = True
            line.override_by = who or self.require_operator().code
            line.override_approved = who is not None
            line.override_reason = reason.strip()

    def attach_member(self, key: str) -> members.Member:
        member = members.find(self.store.conn, key)
        with self._change("attach a member") as sale:  # members' prices change the total
            sale.member_id, sale.member_name = member.id, member.name
        return member

    def apply_coupon(self, code: str) -> coupons.Coupon:
        """A scanned coupon becomes the basket discount; it is marked used when the sale posts."""
        sale = self._require_sale()
        coupon = coupons.find(self.store.conn, code)
        today = business_day(self.clock.now(), self.settings.time.zone, self.settings.time.cutover_hour)
        basket = sum(p.result.gross - p.result.discount for p in self.priced().lines)
        coupons.check_usable(coupon, sale.member_id, today, basket, self.settings.currency.exponent)
        if sale.basket_discount is not None:
            raise DomainError("the basket already has a discount or coupon; only one applies")
        with self._change("apply a coupon") as sale:
            sale.basket_discount = coupons.as_discount(coupon)
        return coupon

    def priced(self) -> Priced:
        sale = self._require_sale()
        if self._priced is None:
            promos = self.tier_pricing.promotions(
                self.promotions, sale.id, sale.member_id, (l.category for l in sale.lines), self.clock.now()
            )
            self._priced = sale.price(promos, mode=self.settings.tax.mode, rounding=self.settings.tax.rounding)
        return self._priced

    @staticmethod
    def _no_payments(sale: Sale, action: str) -> None:
        if sale.payments:
            raise DomainError(f"payments were taken; remove them before you {action}")

    # --- paying

    def remaining(self) -> int:
        sale = self._require_sale()
        return self.priced().total + sale.rounding - sale.paid

    def tender_context(self) -> TenderContext:
        sale = self._require_sale()
        today = business_day(self.clock.now(), self.settings.time.zone, self.settings.time.cutover_hour)
        return TenderContext(sale.id, sale.member_id, today, self.settings.currency.exponent, tuple(sale.payments))

    def pay(self, kind: str, amount: int | None = None, reference: str = "") -> dict[str, Any] | None:
        """Take a payment; when the sale is paid in full it is committed and its document returned."""
        sale = self._require_sale()
        if not sale.lines:
            raise DomainError("the sale has no items to pay for")
        self._check_shift_still_open()
        tender = self.tenders.get(kind)
        if tender is None:
            raise InputError(f"unknown tender {kind!r}; this till takes {', '.join(self.tenders)}")
        due = self.remaining()
        if due <= 0:
            return self._complete()
        payment = tender.take(due, amount, reference, self.tender_context())
        if not tender.may_exceed_due and payment.amount > due:
            exp = self.settings.currency.exponent
            raise DomainError(f"{kind} cannot pay more than the {format_amount(due, exp)} due", code="exceeds_due")
        sale.payments.append(payment)
        self._changed()
        if self.remaining() <= 0:
            return self._complete()
        return None

    def remove_payment(self, index: int) -> None:
        """Give a payment back before the sale completes (cash handed back, voucher returned)."""
        sale = self._require_sale()
        if not 0 <= index < len(sale.payments):
            raise DomainError(f"there is no payment {index + 1}")
        payment = sale.payments.pop(index)
        self.tenders[payment.kind].release(payment)
        self._changed()

    def _document(self, kind: str, at: datetime) -> dict[str, Any]:
        sale = self._require_sale()
        priced = self.priced()
        totals = priced.totals
        lines = []
        for p in priced.lines:
            line, result = p.line, p.result
            notes = []
            if line.discount is not None:
                notes.append(line.discount.reason)
            if line.override_by is not None:
                regular = format_amount(line.regular_price, self.settings.currency.exponent)
                notes.append(f"{line.override_reason} (was {regular}, by {line.override_by})")
            lines.append({
                "line_no": line.line_no, "sku": line.sku, "name": line.name, "unit": line.unit,
                "quantity": line.quantity, "unit_price": line.unit_price, "regular_price": line.regular_price,
                "gross": result.gross, "discount": result.discount, "basket_share": result.basket_share,
                "amount": result.amount, "tax_rate": line.tax_rate, "tax": result.tax,
                "cost": line_gross(line.cost, line.quantity), "promo_discount": p.promo_discount,
                "promotion": p.promotion.name if p.promotion else "", "note": "; ".join(notes),
                "original_line_no": None,
            })
        tendered = sum(p.tendered if p.kind == "cash" else p.amount for p in sale.payments)
        return {
            "id": sale.id, "receipt_no": "", "kind": kind, "original_id": None, "shift_id": self._shift_id,
            "device": self.device, "operator": sale.operator,
            "approved_by": sale.approved_by, "member_id": sale.member_id,
            "coupon": coupons.code_of(sale.basket_discount),
            "business_day": business_day(at, self.settings.time.zone, self.settings.time.cutover_hour).isoformat(),
            "started_at": iso(sale.started_at), "completed_at": iso(at),
            "subtotal": totals.subtotal, "discount": totals.discount, "tax": totals.tax, "total": totals.total,
            "rounding": sale.rounding if kind == "sale" else 0, "tendered": tendered if kind == "sale" else 0,
            "change": sum(p.change for p in sale.payments) if kind == "sale" else 0,
            "line_count": len(lines), "reason": "",
            "line_voids": len(sale.voided_lines), "line_void_amount": sum(a for _, a in sale.voided_lines),
            "lines": lines,
            "taxes": [{"rate": r.rate, "amount": r.amount, "net": r.net, "tax": r.tax} for r in totals.rates],
            "payments": [],
        }

    def _complete(self) -> dict[str, Any]:
        sale = self._require_sale()
        now = self.clock.now()
        doc = self._document("sale", now)
        if sum(p.amount for p in sale.payments) != doc["total"] + doc["rounding"]:
            raise DomainError("the payments do not add up to the total; remove them and take payment again")
        try:
            doc = post(self.store, event_kind="sale.completed", doc=doc, payments=sale.payments, tenders=self.tenders,
                       at=now, after=self.after_posting)
        except DomainError as exc:
            # Nothing was written. Which tender failed is in the message; the cashier hands
            # the others back and takes payment again from a clean state; card payments
            # already authorised are reversed.
            for payment in sale.payments:
                self.tenders[payment.kind].release(payment)
            sale.payments.clear()
            self._changed()
            raise DomainError(f"{exc.message}; the sale is not complete: take payment again", code=exc.code) from exc
        self.sale = None
        self._changed()
        return doc

    def _check_shift_still_open(self) -> None:
        """The shift is checked when a sale starts; a Z report taken meanwhile (another tool) ends it."""
        current = self.shifts.current()
        if current is None or current.id != self._shift_id:
            raise DomainError("the shift this sale started in was closed; suspend the sale and open a new shift",
                              code="shift_closed")

    # --- cancel, suspend, resume

    def cancel(self, reason: str = "") -> dict[str, Any] | None:
        """Void the sale before payment; it is still recorded (a cancelled receipt) for loss prevention."""
        sale = self._require_sale()
        authorize("sale.cancel", self.require_operator())
        if sale.payments:
            raise DomainError("hand back the payments taken (remove them) before cancelling the sale")
        if not sale.lines and not sale.voided_lines:
            self.sale = None
            return None
        self._check_shift_still_open()
        now = self.clock.now()
        doc = self._document("cancel", now)
        doc["reason"] = reason
        doc = post(self.store, event_kind="sale.cancelled", doc=doc, payments=[], tenders=self.tenders, at=now,
                   after=self.after_posting)
        self.sale = None
        self._changed()
        return doc

    def suspend(self, label: str = "") -> str:
        sale = self._require_sale()
        self._no_payments(sale, "suspend the sale")
        if not sale.lines:
            raise DomainError("an empty sale cannot be suspended")
        now = self.clock.now()
        total = self.priced().total
        label = label.strip() or f"{len(sale.lines)} items"
        with self.store.event("sale.suspended", ref=sale.id, at=iso(now)) as event:
            event.conn.execute(
                "INSERT INTO suspended_sales (id, device, operator, label, total, suspended_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET device = excluded.device, "
                "operator = excluded.operator, label = excluded.label, total = excluded.total, "
                "suspended_at = excluded.suspended_at, payload = excluded.payload, resumed_at = NULL",
                (sale.id, self.device, sale.operator, label, total, iso(now), json.dumps(sale.as_state())),
            )
            event.payload = {"id": sale.id, "label": label, "total": total, "lines": len(sale.lines)}
        self.sale = None
        self._changed()
        return sale.id

    def suspended(self) -> list[tuple[str, str, int, str]]:
        """(id, label, total, suspended_at) of sales waiting to be resumed, oldest first."""
        return self.store.conn.execute(
            "SELECT id, label, total, suspended_at FROM suspended_sales WHERE resumed_at IS NULL ORDER BY suspended_at"
        ).fetchall()

    def resume(self, sale_id: str) -> Sale:
        operator = self.require_operator()
        shift = self.shifts.require_open()
        if self.sale is not None:
            raise DomainError("finish or suspend the current sale before resuming another")
        now = self.clock.now()
        with self.store.event("sale.resumed", ref=sale_id, at=iso(now)) as event:
            row = event.conn.execute(
                "SELECT payload FROM suspended_sales WHERE id = ? AND resumed_at IS NULL", (sale_id,)
            ).fetchone()
            if row is None:
                raise DomainError(f"no suspended sale {sale_id} (already resumed?)")
            event.conn.execute("UPDATE suspended_sales SET resumed_at = ? WHERE id = ?", (iso(now), sale_id))
            event.payload = {"id": sale_id, "operator": operator.code, "device": self.device}
        sale = Sale.from_state(json.loads(row[0]))
        sale.operator = operator.code
        self.sale = sale
        self._shift_id = shift.id
        self._changed()
        return sale
