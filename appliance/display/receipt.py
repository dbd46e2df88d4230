"""The customer's receipt for a sale, return, post-void or cancellation, as document elements.

Labels are bilingual (Chinese first, the shop's customers read it; English for
visitors and auditors). Only masked card data ever reaches a receipt: the document
holds nothing else.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from appliance.config import Settings
from appliance.core import card, members
from appliance.core.clock import local
from appliance.core.money import format_amount, format_percent
from appliance.core.till import Till
from appliance.display.document import Barcode, Blank, Element, Pair, Qr, Rule, Text
from appliance.display.receipt_terms import TITLES, Row, item_rows, payment_rows, total_rows
from appliance.errors import NotFound
from appliance.sync import receipt_link


@dataclass(frozen=True)
class ReceiptContext:
    """Names the document refers to by code, looked up by the caller."""

    operator_name: str = ""
    member_name: str = ""
    member_phone: str = ""
    original_receipt: str = ""
    stored_value_balance: int | None = None
    cards: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # card_auths details by payment reference
    e_receipt: str = ""  # the receipt's page at head office, when the shop gives digital receipts


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
        out += _laid_out(item_rows(line, money))
    out.append(Rule())
    exclusive = settings.tax.mode == "exclusive"
    out += _laid_out(total_rows(doc, money, tax_added=exclusive, symbol=settings.currency.symbol))
    if kind != "cancel":
        out.append(Rule())
        out += _payments(doc, money, ctx)
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
    if settings.receipt.digital:
        link = ctx.e_receipt
    else:
        link = settings.receipt.qr_url.replace("{receipt_no}", doc["receipt_no"])
    if link:
        out += [Qr(link, module=4), Text("扫码查看电子小票 Scan for your e-receipt", "center")]
    out += [Blank(), Text(settings.shop.footer, "center")]
    return out


def _laid_out(rows: Iterable[Row]) -> list[Element]:
    """Rows on paper: a detail indented under its row, the amount against the right edge."""
    out: list[Element] = []
    for row in rows:
        label = f"  {row.label}" if row.detail else row.label
        out.append(Pair(label, row.amount, bold=row.strong) if row.amount else Text(label))
    return out


def _payments(doc: dict[str, Any], money, ctx: ReceiptContext) -> list[Element]:
    out: list[Element] = []
    for payment, rows in payment_rows(doc, money):
        out += _laid_out(rows)
        if payment is not None and payment["masked_pan"]:
            out += _card_lines(ctx.cards.get(payment["reference"]), money)
    if ctx.stored_value_balance is not None:
        out.append(Pair("储值余额 Balance", money(ctx.stored_value_balance)))
    return out


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
    return ReceiptContext(operator_name, name, phone, original_receipt, balance, cards,
                          e_receipt_link(conn, till.settings, doc))


def e_receipt_link(conn: sqlite3.Connection, settings: Settings, doc: Mapping[str, Any]) -> str:
    """The document's page at head office, or "" when the shop gives no digital receipts or it is a cancellation.

    A cancelled sale took no money, so the customer has nothing to keep; sales, returns
    and voids each get a page of their own.
    """
    if not settings.receipt.digital or doc["kind"] == "cancel":
        return ""
    key = receipt_link.key_for(conn, doc["receipt_no"])
    return receipt_link.receipt_url(settings.sync.url, doc["device"], doc["receipt_no"], key)
