"""What a receipt says about its items, totals and payments, before it is laid out on paper or in a page.

The paper receipt (`display/receipt.py`) and head office's receipt page
(`hq/receipt_page.py`) both lay out these rows, so a customer holding the paper beside
the page reads the same lines, signs and tender names on both. Nothing here but the
standard library and `core.money`: head office imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from appliance.core.money import format_quantity

Money = Callable[[int], str]

TITLES = {"sale": "销售 SALE", "return": "退货 RETURN", "void": "作废 VOID", "cancel": "取消 CANCELLED"}
TENDERS = {
    "cash": "现金 Cash",
    "voucher": "代金券 Voucher",
    "stored_value": "储值 Stored value",
    "card": "银行卡 Card",
    "wallet": "钱包 Wallet",
    "points": "积分抵扣 Points",
}
REFUNDS = ("return", "void")  # documents that pay money back
# What the till keeps of a card: at most the first 6 and last 4 digits (PCI DSS 3.4).
MASKED_PAN = re.compile(r"\d{0,6}\*+\d{0,4}")


@dataclass(frozen=True)
class Row:
    label: str
    amount: str = ""  # "" for a line of text only
    detail: bool = False  # belongs to the row above (shown indented)
    strong: bool = False


def item_rows(line: Mapping[str, Any], money: Money) -> list[Row]:
    """The item, what it cost ("2 x 3.50", "1.234 kg x 12.80/kg"), and its promotion and discount."""
    if line["unit"] == "kg":
        quantity = f"{format_quantity(line['quantity'])} kg x {money(line['unit_price'])}/kg"
    else:
        quantity = f"{line['quantity'] // 1000} x {money(line['unit_price'])}"
    rows = [Row(line["name"]), Row(quantity, money(line["gross"]), detail=True)]
    if line["promo_discount"]:
        rows.append(Row(line["promotion"], money(-line["promo_discount"]), detail=True))
    manual = line["discount"] - line["promo_discount"]
    if manual:
        rows.append(Row(f"折扣 Discount {line['note']}".rstrip(), money(-manual), detail=True))
    elif line["note"]:
        rows.append(Row(line["note"], detail=True))
    return rows


def total_rows(doc: Mapping[str, Any], money: Money, *, tax_added: bool, symbol: str = "") -> list[Row]:
    """Subtotal, discounts, tax when it is added at the total, the total (or refund) and cash rounding.

    A refund's subtotal shows negative and its discounts positive: money going back.
    """
    refund = doc["kind"] in REFUNDS
    sign = -1 if refund else 1
    rows = [Row("小计 Subtotal", money(sign * doc["subtotal"]))]
    if doc["discount"]:
        rows.append(Row("优惠 Discounts", money(-sign * doc["discount"])))
    if tax_added:
        rows.append(Row("税 Tax", money(sign * doc["tax"])))
    rows.append(Row("应退 REFUND" if refund else "合计 TOTAL", f"{symbol}{money(doc['total'])}", strong=True))
    if doc["rounding"]:
        rows.append(Row("抹零 Rounding", money(doc["rounding"])))
    return rows


def payment_rows(doc: Mapping[str, Any], money: Money) -> Iterator[tuple[Mapping[str, Any] | None, list[Row]]]:
    """Each payment with its rows, then (None, the change) when change was given.

    The cash that settled a sale shows what the customer handed over (the change comes
    back below it); of a card, only a masked number is ever shown.
    """
    refund = doc["kind"] in REFUNDS
    prefix = "退 " if refund else ""
    last_cash = max((i for i, p in enumerate(doc["payments"]) if p["kind"] == "cash"), default=None)
    for index, p in enumerate(doc["payments"]):
        handed = p["amount"] + doc["change"] if index == last_cash and not refund else p["amount"]
        rows = [Row(prefix + TENDERS.get(p["kind"], p["kind"]), money(handed))]
        if p["masked_pan"]:
            pan = p["masked_pan"] if MASKED_PAN.fullmatch(p["masked_pan"]) else "****"
            rows.append(Row(pan, f"授权 Auth {p['auth_code']}", detail=True))
        elif p["kind"] == "voucher" and p["reference"]:
            rows.append(Row(f"{'新券 Credit note' if refund else '券号 Code'} {p['reference']}", detail=True))
        yield p, rows
    if doc["change"]:
        yield None, [Row("找零 Change", money(doc["change"]), strong=True)]
