"""The customer's receipt for a sale, return, post-void or cancellation, as document elements.

Labels are bilingual (Chinese first, the shop's customers read it; English for
visitors and auditors). Only masked card data ever reaches a receipt: the document
holds nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from appliance.config import Settings
from appliance.core import card, members
from appliance.core.clock import local
from appliance.core.money import format_amount, format_percent, format_quantity
from appliance.core.till import Till
from appliance.display.document import Barcode, Blank, Element, Pair, Qr, Rule, Text
from appliance.errors import NotFound

TITLES = {"sale": "销售 SALE", "return": "退货 RETURN", "void": "作废 VOID", "cancel": "取消 CANCELLED"}
TENDERS = {
    "cash": "现金 Cash",
    "voucher": "代金券 Voucher",
    "stored_value": "储值 Stored value",
    "card": "银行卡 Card",
    "wallet": "钱包 Wallet",
    "points": "积分抵扣 Points",
}


@dataclass(frozen=True)
class ReceiptContext:
    """Names the document refers to by code, looked up by the caller."""

    operator_name: str = ""
    member_name: str = ""
    member_phone: str = ""
    original_receipt: str = ""
    stored_value_balance: int | None = None
    cards: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # card_auths details by payment reference


def _mask_phone(phone: str) -> str:
    """Show the first 3 and last 4 digits, as Chinese receipts do (138****8000)."""
    if len(phone) <= 7:
        return "*" * max(0, len(phone) - 4) + phone[-4:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def receipt(doc: dict[str, Any], settings: Settings, ctx: ReceiptContext = ReceiptContext()) -> list[Element]:
    exp = settings.currency.exponent

    def money(amount: int) -> str:
        return format_amount(amount, exp)

    kind = doc["kind"]
    refund = kind in ("return", "void")
    sign = -1 if refund else 1
    when = local(doc["completed_at"], settings.time.zone).strftime("%Y-%m-%d %H:%M:%S")
    out: list[Element] = [
        Text(settings.shop.name, "center", bold=True, big=True),
        Text(settings.shop.address, "center"),
    ]
    if settings.shop.phone:
        out.append(Text(f"电话 Tel {settings.shop.phone}", "center"))
    if settings.shop.tax_id:
        out.append(Text(f"税号 Tax ID {settings.shop.tax_id}", "center"))
    out += [
        Rule("="),
        Pair(TITLES[kind], doc["receipt_no"], bold=True),
        Pair(when, f"{doc['device']}"),
        Text(f"收银员 Cashier {ctx.operator_name or doc['operator']} ({doc['operator']})"),
    ]
    if doc.get("approved_by"):
        out.append(Text(f"授权 Approved by {doc['approved_by']}"))
    if ctx.original_receipt:
        out.append(Text(f"原单 Original receipt {ctx.original_receipt}"))
    if doc.get("member_id") and (ctx.member_name or ctx.member_phone):
        out.append(Text(f"会员 Member {ctx.member_name} {_mask_phone(ctx.member_phone)}".rstrip()))
    out.append(Rule())
    for line in doc["lines"]:
        out += _line(line, money)
    out.append(Rule())
    out.append(Pair("小计 Subtotal", money(sign * doc["subtotal"])))
    if doc["discount"]:
        out.append(Pair("优惠 Discounts", money(-sign * doc["discount"])))
    if settings.tax.mode == "exclusive":
        out.append(Pair("税 Tax", money(sign * doc["tax"])))
    total_label = "应退 REFUND" if refund else "合计 TOTAL"
    out.append(Pair(total_label, f"{settings.currency.symbol}{money(doc['total'])}", bold=True))
    if doc["rounding"]:
        out.append(Pair("抹零 Rounding", money(doc["rounding"])))
    if kind != "cancel":
        out.append(Rule())
        out += _payments(doc, money, refund, ctx)
    out.append(Rule())
    out += _tax_table(doc, money)
    savings = sum(l["discount"] + l["basket_share"] for l in doc["lines"])
    if savings and kind == "sale":
        out.append(Pair("本单节省 You saved", money(savings), bold=True))
    items = sum(l["quantity"] // 1000 if l["unit"] == "piece" else 1 for l in doc["lines"])
    out.append(Text(f"件数 Items {items}"))
    points = doc.get("loyalty")  # set when the document was posted (appliance.core.loyalty)
    if points:
        change = points.get("earned", 0) - points.get("taken_back", 0) + points.get("given_back", 0)
        out.append(Pair("积分 Points", f"{change:+d}"))
        out.append(Pair("积分余额 Points balance", str(points["balance"])))
    if doc.get("reason"):
        out.append(Text(f"原因 Reason: {doc['reason']}"))
    if doc.get("line_voids"):
        out.append(Text(f"删除商品 Lines voided {doc['line_voids']}"))
    out += [Blank(), Barcode(doc["receipt_no"])]
    if settings.receipt.qr_url:
        out += [Qr(settings.receipt.qr_url.replace("{receipt_no}", doc["receipt_no"]), module=4),
                Text("扫码查看电子小票 Scan for your e-receipt", "center")]
    out += [Blank(), Text(settings.shop.footer, "center")]
    return out


def _line(line: dict[str, Any], money) -> list[Element]:
    rows: list[Element] = [Text(line["name"])]
    qty = line["quantity"]
    if line["unit"] == "kg":
        detail = f"  {format_quantity(qty)} kg x {money(line['unit_price'])}/kg"
    else:
        detail = f"  {qty // 1000} x {money(line['unit_price'])}"
    rows.append(Pair(detail, money(line["gross"])))
    if line["promo_discount"]:
        rows.append(Pair(f"  {line['promotion']}", money(-line["promo_discount"])))
    manual = line["discount"] - line["promo_discount"]
    if manual:
        rows.append(Pair(f"  折扣 Discount {line['note']}".rstrip(), money(-manual)))
    elif line["note"]:
        rows.append(Text(f"  {line['note']}"))
    return rows


def _payments(doc: dict[str, Any], money, refund: bool, ctx: ReceiptContext) -> list[Element]:
    rows: list[Element] = []
    prefix = "退 " if refund else ""
    last_cash = max((i for i, p in enumerate(doc["payments"]) if p["kind"] == "cash"), default=None)
    for index, p in enumerate(doc["payments"]):
        label = prefix + TENDERS.get(p["kind"], p["kind"])
        if index == last_cash and not refund and doc["change"]:
            rows.append(Pair(label, money(p["amount"] + doc["change"])))
        else:
            rows.append(Pair(label, money(p["amount"])))
        if p["masked_pan"]:
            # The card lines: masked PAN and approval code, never more of the card number.
            rows.append(Pair(f"  {p['masked_pan']}", f"授权 Auth {p['auth_code']}"))
            rows += _card_lines(ctx.cards.get(p["reference"]), money)
        elif p["kind"] == "voucher" and p["reference"]:
            what = "新券 Credit note" if refund else "券号 Code"
            rows.append(Text(f"  {what} {p['reference']}"))
    if doc["change"]:
        rows.append(Pair("找零 Change", money(doc["change"]), bold=True))
    if ctx.stored_value_balance is not None:
        rows.append(Pair("储值余额 Balance", money(ctx.stored_value_balance)))
    return rows


ENTRY = {"contact": "芯片 Chip", "contactless": "闪付 Contactless", "magstripe": "磁条 Swipe"}


def _card_lines(card: Mapping[str, Any] | None, money) -> list[Element]:
    """What EMV receipts carry (Book 4 11.4): application, AID, entry, TVR/TSI, CVM; tip and signature line."""
    if not card:
        return []
    rows: list[Element] = [Text(f"  {card['label']} {ENTRY.get(card['interface'], card['interface'])}".rstrip())]
    if card["aid"]:
        rows.append(Text(f"  AID {card['aid']}"))
        rows.append(Text(f"  TVR {card['tvr']} TSI {card['tsi']}"))
    if card["tip"]:
        rows.append(Pair("  小费 Tip", money(card["tip"])))
        rows.append(Pair("  卡扣款 Charged to card", money(card["amount"]), bold=True))
    if card["offline"]:
        rows.append(Text(f"  离线批准 Approved offline ({card['response_code']})"))
    if card["signature"]:
        rows += [Blank(), Text("持卡人签名 Cardholder signature:"), Blank(), Rule("_")]
    elif card["cvm"] in ("offline plaintext PIN", "online PIN"):
        rows.append(Text("  密码验证 PIN verified"))
    return rows


def _tax_table(doc: dict[str, Any], money) -> list[Element]:
    rows: list[Element] = [Pair("税率 Rate  不含税 Net", "税额 Tax")]
    for t in doc["taxes"]:
        rows.append(Pair(f"{format_percent(t['rate']):>8}  {money(t['net']):>10}", money(t["tax"])))
    return rows


def receipt_context(till: Till, doc: dict[str, Any], original_receipt: str = "") -> ReceiptContext:
    """Looks up the names and balances a document refers to by code (operator, member, card details)."""
    conn = till.store.conn
    try:
        operator_name = till.operators.get(doc["operator"]).name
    except NotFound:
        operator_name = ""
    name = phone = ""
    balance = None
    if doc.get("member_id"):
        try:
            member = members.find(conn, doc["member_id"])
            name, phone = member.name, member.phone
            if any(p["kind"] == "stored_value" for p in doc["payments"]):
                balance = members.balance(conn, member.id)
        except NotFound:
            pass
    cards = card.receipt_details(conn, [p["reference"] for p in doc["payments"] if p["kind"] == "card"])
    return ReceiptContext(operator_name, name, phone, original_receipt, balance, cards)
