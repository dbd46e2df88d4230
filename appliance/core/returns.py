"""Returns against a receipt, returns without one, and post-voids of completed sales.

A partial return refunds each line's share of what the customer actually paid, by a
cumulative rule: after returning r of Q units, the refunded part of any amount X is
round(X * r / Q) in total, so a line returned in several goes refunds exactly X, never a
minor unit more. Refunds go back to the original tenders (non-cash first, in the order
they were taken; the rest in cash) or all in cash, and never exceed what was paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Sequence

from appliance.core.basket import line_gross, tax_of
from appliance.core.clock import business_day, iso
from appliance.core.ids import uuid7
from appliance.core.money import div_round_half_up, format_quantity
from appliance.core.operators import Operator, authorize
from appliance.core.posting import post
from appliance.core.tenders import Payment, Tender, TenderContext
from appliance.core.till import Till
from appliance.errors import DomainError, InputError, NotFound
from appliance.store import documents

PARTS = ("gross", "discount", "basket_share", "tax", "promo_discount")


@dataclass(frozen=True)
class Returnable:
    line_no: int
    sku: str
    name: str
    unit: str
    sold: int
    returned: int

    @property
    def left(self) -> int:
        return self.sold - self.returned


def find_receipt(till: Till, receipt: str) -> dict[str, Any]:
    """The original sale by receipt number (typed, or scanned from the receipt's barcode)."""
    number = receipt.strip().upper().strip("*")
    doc = documents.load(till.store.conn, receipt_no=number)
    if doc is None:
        raise NotFound(f"no receipt {number!r} on this store")
    if doc["kind"] != "sale":
        raise DomainError(f"receipt {number} is a {doc['kind']}, not a sale; only sales can be returned")
    if doc["voided_by"]:
        raise DomainError(f"receipt {number} was voided; there is nothing left to return")
    return doc


def returnable(till: Till, original: dict[str, Any]) -> list[Returnable]:
    done = documents.returned_quantities(till.store.conn, original["id"])
    return [
        Returnable(l["line_no"], l["sku"], l["name"], l["unit"], l["quantity"], done.get(l["line_no"], 0))
        for l in original["lines"]
    ]


def _qty(thousandths: int, unit: str) -> str:
    return f"{format_quantity(thousandths)} kg" if unit == "kg" else str(thousandths // 1000)


def _part(total: int, quantity: int, done_qty: int, done_part: int, sold: int) -> int:
    return div_round_half_up(total * (done_qty + quantity), sold) - done_part


def return_with_receipt(
    till: Till,
    receipt: str,
    items: Sequence[tuple[int, int]],
    *,
    refund_to: str = "original",
    restock: bool = True,
    reason: str = "",
    approver: Operator | None = None,
) -> dict[str, Any]:
    """Return (line number, quantity in thousandths) pairs of a receipt; commits and returns the document."""
    operator = till.require_operator()
    shift = till.shifts.require_open()
    authorize("return", operator)
    original = find_receipt(till, receipt)
    now = till.clock.now()
    sold_day = date.fromisoformat(original["business_day"])
    today = business_day(now, till.settings.time.zone, till.settings.time.cutover_hour)
    approvals: list[str | None] = []
    if today - sold_day > timedelta(days=till.settings.sale.return_days):
        approvals.append(authorize(
            "return.late", operator, approver,
            why=f"sold on {sold_day}, more than {till.settings.sale.return_days} days ago",
        ))
    if refund_to not in ("original", "cash"):
        raise InputError(f"refund_to {refund_to!r} must be 'original' or 'cash'")
    if refund_to == "cash" and any(p["kind"] != "cash" for p in original["payments"]):
        # Turning a voucher or stored value into cash is a supervisor's decision.
        approvals.append(authorize("return.to_cash", operator, approver, why="the sale was not paid in cash"))
    if not items:
        raise InputError("choose at least one line to return")
    conn = till.store.conn
    unchanged = _unchanged_since(till, original)
    done_qty = documents.returned_quantities(conn, original["id"])
    done_parts = documents.returned_line_parts(conn, original["id"])
    by_no = {l["line_no"]: l for l in original["lines"]}
    wanted: dict[int, int] = {}
    for line_no, quantity in items:
        wanted[line_no] = wanted.get(line_no, 0) + quantity
    lines = []
    for line_no, quantity in sorted(wanted.items()):
        sold = by_no.get(line_no)
        if sold is None:
            raise InputError(f"receipt {original['receipt_no']} has no line {line_no}")
        left = sold["quantity"] - done_qty.get(line_no, 0)
        if quantity <= 0:
            raise InputError(f"the quantity to return of line {line_no} must be more than zero")
        if sold["unit"] == "piece" and quantity % 1000:
            raise InputError(f"{sold['name']} is sold by the piece: return whole pieces")
        if quantity > left:
            raise DomainError(
                f"line {line_no} ({sold['name']}): only {_qty(left, sold['unit'])} left to return "
                f"of {_qty(sold['quantity'], sold['unit'])} sold",
                code="over_return",
            )
        prior = done_parts.get(line_no, dict.fromkeys(PARTS, 0))
        parts = {
            key: _part(sold[key], quantity, done_qty.get(line_no, 0), prior[key], sold["quantity"]) for key in PARTS
        }
        amount = parts["gross"] - parts["discount"] - parts["basket_share"]
        lines.append(_line(sold, quantity, parts, amount, line_no=len(lines) + 1))
    doc = _return_document(till, original, lines, shift.id, now, reason, approvals)
    payments = _refunds(till, original, doc, refund_to=refund_to)
    return _post_refund(till, doc, payments, restock=restock, first=unchanged)


def return_without_receipt(
    till: Till,
    items: Sequence[tuple[str, int]],
    *,
    approver: Operator | None,
    reason: str,
    restock: bool = True,
) -> dict[str, Any]:
    """Return goods with no receipt: catalog prices, cash refund, and a supervisor's approval."""
    operator = till.require_operator()
    shift = till.shifts.require_open()
    who = authorize("return.without_receipt", operator, approver, why="there is no receipt")
    if not reason.strip():
        raise InputError("give a reason for a return without receipt")
    if not items:
        raise InputError("scan at least one item to return")
    lines = []
    mode = till.settings.tax.mode
    for code, quantity in items:
        product = till.catalog.resolve(code).product
        till.check_quantity(quantity, product.unit, product.name)
        rate = till.settings.tax_rate(product.tax_class)
        gross = line_gross(product.price, quantity)
        sold = {
            "line_no": None, "sku": product.sku, "name": product.name, "unit": product.unit,
            "unit_price": product.price, "regular_price": product.price, "tax_rate": rate,
            "cost": product.cost, "promotion": "",
        }
        parts = {"gross": gross, "discount": 0, "basket_share": 0, "tax": tax_of(gross, rate, mode), "promo_discount": 0}
        lines.append(_line(sold, quantity, parts, gross, line_no=len(lines) + 1, cost=line_gross(product.cost, quantity)))
    now = till.clock.now()
    doc = _return_document(till, None, lines, shift.id, now, reason, [who])
    payments = [till.cash.refund(None, doc["total"], _context(till, doc, None), reversal=False)]
    return _post_refund(till, doc, payments, restock=restock)


def post_void(till: Till, receipt: str, *, approver: Operator | None, reason: str) -> dict[str, Any]:
    """Undo a completed sale of the open shift exactly: every tender back, stock back."""
    operator = till.require_operator()
    shift = till.shifts.require_open()
    who = authorize("sale.post_void", operator, approver, why="post-void of a completed sale")
    if not reason.strip():
        raise InputError("give a reason for the post-void")
    original = find_receipt(till, receipt)
    if original["shift_id"] != shift.id:
        raise DomainError(
            f"receipt {original['receipt_no']} is from an earlier shift; only the open shift's sales can be voided — "
            "make a return instead"
        )
    if documents.returned_quantities(till.store.conn, original["id"]):
        raise DomainError(f"receipt {original['receipt_no']} already has returns; return the remaining items instead")
    now = till.clock.now()
    lines = [dict(line, original_line_no=line["line_no"]) for line in original["lines"]]
    doc = _return_document(till, original, lines, shift.id, now, reason, [who], kind="void")
    doc.update({key: original[key] for key in ("subtotal", "discount", "tax", "total", "rounding")})
    doc["taxes"] = [dict(t) for t in original["taxes"]]
    ctx = _context(till, doc, original["member_id"])
    payments = [_tender(till, p["kind"]).refund(p, p["amount"], ctx, reversal=True) for p in original["payments"]]

    unchanged = _unchanged_since(till, original)

    def mark_voided(conn) -> None:
        unchanged(conn)
        conn.execute("UPDATE sales SET voided_by = ? WHERE id = ?", (doc["id"], original["id"]))

    return post(
        till.store, event_kind="sale.voided", doc=doc, payments=payments, tenders=till.tenders, at=now,
        first=mark_voided, after=till.after_posting,
    )


def _unchanged_since(till: Till, original: dict[str, Any]):
    """A check for the refund's transaction: the receipt is as it was when the refund was worked out."""
    seen = documents.changed_since(till.store.conn, original["id"])

    def check(conn) -> None:
        if documents.changed_since(conn, original["id"]) != seen:
            raise DomainError(
                f"receipt {original['receipt_no']} was refunded or voided on another till meanwhile; "
                "look it up again", code="changed",
            )

    return check


def _line(sold: dict, quantity: int, parts: dict, amount: int, *, line_no: int, cost: int | None = None) -> dict:
    return {
        "line_no": line_no, "sku": sold["sku"], "name": sold["name"], "unit": sold["unit"], "quantity": quantity,
        "unit_price": sold["unit_price"], "regular_price": sold["regular_price"], "gross": parts["gross"],
        "discount": parts["discount"], "basket_share": parts["basket_share"], "amount": amount,
        "tax_rate": sold["tax_rate"], "tax": parts["tax"],
        "cost": cost if cost is not None else div_round_half_up(sold["cost"] * quantity, sold["quantity"]),
        "promo_discount": parts["promo_discount"], "promotion": sold["promotion"], "note": "",
        "original_line_no": sold["line_no"],
    }


def _return_document(
    till: Till, original: dict | None, lines: list[dict], shift_id: str, now, reason: str,
    approvals: list[str | None], kind: str = "return",
) -> dict[str, Any]:
    exclusive = till.settings.tax.mode == "exclusive"
    rates: dict[int, dict[str, int]] = {}
    for line in lines:
        entry = rates.setdefault(line["tax_rate"], {"rate": line["tax_rate"], "amount": 0, "net": 0, "tax": 0})
        entry["amount"] += line["amount"]
        entry["tax"] += line["tax"]
    for entry in rates.values():
        entry["net"] = entry["amount"] if exclusive else entry["amount"] - entry["tax"]
    items = sum(l["amount"] for l in lines)
    tax = sum(l["tax"] for l in lines)
    approved = ",".join(dict.fromkeys(a for a in approvals if a)) or None
    return {
        "id": uuid7(now), "receipt_no": "", "kind": kind, "original_id": original["id"] if original else None,
        "shift_id": shift_id, "device": till.device, "operator": till.require_operator().code,
        "approved_by": approved, "member_id": original["member_id"] if original else None,
        "business_day": business_day(now, till.settings.time.zone, till.settings.time.cutover_hour).isoformat(),
        "started_at": iso(now), "completed_at": iso(now),
        "subtotal": sum(l["gross"] for l in lines), "discount": sum(l["discount"] + l["basket_share"] for l in lines),
        "tax": tax, "total": items + tax if exclusive else items, "rounding": 0, "tendered": 0, "change": 0,
        "line_count": len(lines), "reason": reason.strip(), "line_voids": 0, "line_void_amount": 0,
        "taxes": [rates[r] for r in sorted(rates)], "lines": lines, "payments": [],
    }


def _context(till: Till, doc: dict, member_id: str | None) -> TenderContext:
    today = business_day(till.clock.now(), till.settings.time.zone, till.settings.time.cutover_hour)
    return TenderContext(doc["id"], member_id, today, till.settings.currency.exponent)


def _tender(till: Till, kind: str) -> Tender:
    tender = till.tenders.get(kind)
    if tender is None:
        raise DomainError(f"the sale was paid by {kind}, which this till cannot refund; refund it in cash")
    return tender


def _refunds(till: Till, original: dict, doc: dict, *, refund_to: str) -> list[Payment]:
    ctx = _context(till, doc, original["member_id"])
    payments: list[Payment] = []
    left = doc["total"]
    if refund_to == "original":
        refunded = documents.refunded_per_payment(till.store.conn, original["id"])
        for paid in original["payments"]:
            if paid["kind"] == "cash" or left == 0:
                continue
            room = paid["amount"] - refunded.get(paid["seq"], 0)
            share = min(room, left)
            if share > 0:
                payments.append(_tender(till, paid["kind"]).refund(paid, share, ctx, reversal=False))
                left -= share
    if left > 0:
        cash = next((p for p in original["payments"] if p["kind"] == "cash"), None)
        before_total, before_noncash, before_cash = documents.prior_refunds(till.store.conn, original["id"])
        cash_taken = sum(p["amount"] for p in original["payments"] if p["kind"] == "cash")
        payments.append(till.cash.refund_part(
            cash, left, before=before_total - before_noncash, paid_before=before_cash,
            cap=cash_taken if refund_to == "original" and cash is not None else None,
        ))
    return payments


def _post_refund(till: Till, doc: dict, payments: list[Payment], *, restock: bool, first=None) -> dict[str, Any]:
    doc["rounding"] = sum(p.rounding for p in payments)
    return post(
        till.store, event_kind="sale.returned", doc=doc, payments=payments, tenders=till.tenders,
        at=till.clock.now(), restock=restock, first=first, after=till.after_posting,
    )
