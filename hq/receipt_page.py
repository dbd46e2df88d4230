"""Head office's web page of one receipt, opened from the QR code the till prints (digital receipts).

`render` turns the document the till journaled for a sale, return or void (the payload
head office holds, the very dict the paper receipt was printed from) into one HTML page
that needs nothing else: no script, font, image or style sheet to fetch, so it opens on
a phone with a poor connection and tells no third party who shopped where. Its rows come
from `display/receipt_terms.py`, as the paper's do, so page and paper agree line by line.
Every value goes through `html.escape`: item names, promotions and notes are typed by
shop staff.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from appliance.core.money import format_amount, format_percent
from appliance.display.receipt_terms import TITLES, Money, Row, item_rows, payment_rows, total_rows
from appliance.errors import InputError

DOCUMENT_KEYS = ("kind", "receipt_no", "device", "completed_at", "subtotal", "discount", "tax", "total", "rounding",
                 "change", "lines", "taxes", "payments")

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #eceff1; color: #1b1b1b; font: 16px/1.45 system-ui, -apple-system, "PingFang SC",
       "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; }
main { max-width: 30rem; margin: 0 auto; padding: 1rem; background: #fff; min-height: 100vh; }
header { text-align: center; border-bottom: 2px dashed #b0bec5; padding-bottom: .75rem; }
h1 { font-size: 1.35rem; margin: .25rem 0; }
.kind { margin: 0; font-weight: 600; color: #37474f; }
h2 { font-size: .95rem; margin: 1rem 0 .25rem; color: #546e7a; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .1rem .75rem; margin: .75rem 0 0; text-align: left;
     font-size: .9rem; }
dt { color: #546e7a; } dd { margin: 0; text-align: right; white-space: nowrap; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: normal; padding: .2rem 0; }
td { text-align: right; padding: .2rem 0 .2rem .75rem; white-space: nowrap; font-variant-numeric: tabular-nums; }
thead th, thead td { color: #546e7a; font-size: .85rem; }
.item th { font-weight: 600; padding-top: .5rem; }
.detail th, .detail td { color: #546e7a; font-size: .9rem; padding-top: 0; }
.detail th { padding-left: 1rem; }
.strong th, .strong td { font-weight: 700; font-size: 1.15rem; }
section { border-bottom: 1px dashed #cfd8dc; padding-bottom: .5rem; }
.note { color: #546e7a; }
footer { text-align: center; color: #78909c; font-size: .85rem; margin-top: 1rem; }
"""


class NotAReceipt(InputError):
    """The payload is not a receipt document (another kind of event); `where` names what is missing."""

    code = "not_a_receipt"


def render(payload: Mapping[str, Any], *, shop: str | None = None, zone: str = "UTC", exponent: int = 2) -> str:
    """The page of one sale, return, void or cancellation.

    The payload carries neither the shop's time zone nor its currency's decimals (they
    are terminal settings): `zone` (an IANA name) and `exponent` say them; the time is
    always shown with its UTC offset, so the default zone is never silently wrong.
    """
    _check(payload)
    kind, receipt_no = payload["kind"], payload["receipt_no"]

    def money(amount: int) -> str:
        return format_amount(amount, exponent)

    facts = [("小票号 Receipt", receipt_no), ("时间 Time", _when(payload["completed_at"], zone)),
             ("收银台 Till", payload["device"])]
    # Tax added at the total ([tax] mode "exclusive" on the till) is the only way the total exceeds the
    # goods after discounts; tax contained in the prices shows in the tax table alone.
    tax_added = bool(payload["tax"]) and payload["total"] != payload["subtotal"] - payload["discount"]
    body = [
        "<header>",
        f"<h1>{_e(shop or '电子小票 E-receipt')}</h1>",
        f'<p class="kind">{_e(TITLES[kind])}</p>',
        "<dl>" + "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in facts) + "</dl>",
        "</header>",
        _section("商品 Items", _rows(row for line in payload["lines"] for row in item_rows(line, money))),
        _section("合计 Totals", _rows(total_rows(payload, money, tax_added=tax_added))),
    ]
    if kind != "cancel":
        paid = (row for _, rows in payment_rows(payload, money) for row in rows)
        body.append(_section("付款 Payments", _rows(paid)))
    body.append(_section("税 Tax", _tax_table(payload["taxes"], money), head=("税率 Rate", "不含税 Net", "税额 Tax")))
    if payload.get("reason"):
        body.append(f'<p class="note">原因 Reason: {_e(payload["reason"])}</p>')
    body.append("<footer>电子小票 E-receipt · 请保留以备退换 Keep it for returns</footer>")
    return _page(f"{TITLES[kind]} {receipt_no}" + (f" · {shop}" if shop else ""), "\n".join(body))


def not_yet(receipt_no: str) -> str:
    """The page for a link whose receipt head office does not hold yet: the till sends its journal in
    batches, so a customer who scans at the counter may be a minute or two ahead of it. The page
    reloads itself every minute until the receipt is there."""
    body = (
        "<header>"
        f"<h1>电子小票 E-receipt</h1><p class=\"kind\">{_e(receipt_no)}</p>"
        "</header>"
        "<p>这张小票还在路上: 收银机发来后就会显示在这里, 通常几分钟内。本页每分钟自动刷新。</p>"
        "<p>This receipt will appear once the shop's till has sent it, usually within minutes. "
        "This page reloads itself every minute.</p>"
    )
    return _page(f"电子小票 E-receipt {receipt_no}", body, refresh_s=60)


def _check(payload: Mapping[str, Any]) -> None:
    missing = [key for key in DOCUMENT_KEYS if key not in payload]
    if missing:
        raise NotAReceipt(f"the event is not a receipt: it has no {', '.join(missing)}", where="payload")
    if payload["kind"] not in TITLES:
        raise NotAReceipt(f"the event is not a receipt: its kind is {payload['kind']!r}", where="payload.kind")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: str, *, refresh_s: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">\n' if refresh_s else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'  # a receipt is the customer's business, not a search engine's
        f"{refresh}<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _when(completed_at: str, zone: str) -> str:
    moment = datetime.fromisoformat(completed_at.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _section(title: str, rows: str, *, head: tuple[str, ...] = ()) -> str:
    thead = ""
    if head:
        cells = f"<th scope=\"col\">{_e(head[0])}</th>" + "".join(f"<td>{_e(h)}</td>" for h in head[1:])
        thead = f"<thead><tr>{cells}</tr></thead>"
    return f"<section>\n<h2>{_e(title)}</h2>\n<table>{thead}<tbody>\n{rows}</tbody></table>\n</section>"


def _rows(rows: Iterable[Row]) -> str:
    """Table rows: a text-only row at the top level is an item's name, a detail row is indented."""
    out = []
    for row in rows:
        css = "detail" if row.detail else "strong" if row.strong else "item" if not row.amount else ""
        attr = f' class="{css}"' if css else ""
        out.append(f'<tr{attr}><th scope="row">{_e(row.label)}</th><td>{_e(row.amount)}</td></tr>\n')
    return "".join(out)


def _tax_table(taxes: list[Mapping[str, Any]], money: Money) -> str:
    return "".join(
        f'<tr><th scope="row">{_e(format_percent(t["rate"]))}</th><td>{_e(money(t["net"]))}</td>'
        f'<td>{_e(money(t["tax"]))}</td></tr>\n'
        for t in taxes
    )
