"""The X and Z shift reports as printable documents."""

from __future__ import annotations

from appliance.config import Settings
from appliance.core.card_batch import BatchResult
from appliance.core.clock import local
from appliance.core.money import format_amount, format_percent
from appliance.core.shifts import ShiftReport
from appliance.display.document import Element, Pair, Rule, Text
from appliance.display.receipt_terms import TENDERS


def shift_report(report: ShiftReport, settings: Settings) -> list[Element]:
    exp = settings.currency.exponent

    def money(amount: int) -> str:
        return format_amount(amount, exp)

    def when(text: str) -> str:
        return local(text, settings.time.zone).strftime("%m-%d %H:%M")

    shift = report.shift
    title = f"Z 报表 Z REPORT #{report.z_number}" if report.title == "Z" else "X 报表 X REPORT (读数 reading)"
    out: list[Element] = [
        Text(settings.shop.name, "center", bold=True),
        Text(title, "center", bold=True, big=True),
        Rule("="),
        Pair("终端 Terminal", shift.device),
        Pair("营业日 Business day", shift.business_day),
        Pair("开班 Opened", f"{when(shift.opened_at)} ({shift.opened_by})"),
    ]
    if report.title == "Z":
        out.append(Pair("交班 Closed", f"{when(report.printed_at)} ({report.closed_by})"))
    else:
        out.append(Pair("打印 Printed", when(report.printed_at)))
    c, t = report.counts, report.totals
    out += [
        Rule(),
        Pair(f"销售 Sales ({c['sale']})", money(t["sale"])),
        Pair(f"退货 Returns ({c['return']})", money(-t["return"])),
        Pair(f"作废 Post-voids ({c['void']})", money(-t["void"])),
        Pair("净销售 NET SALES", money(report.net_sales), bold=True),
        Pair("客单价 Average basket", money(report.average_basket)),
        Pair("优惠 Discounts given", money(report.discounts)),
        Pair("抹零 Rounding", money(report.rounding)),
        Pair(f"取消单 Cancelled sales ({c['cancel']})", money(t["cancel"])),
        Pair(f"删除商品 Line voids ({report.line_voids})", money(report.line_void_amount)),
        Rule(),
        Pair("税率 Rate  不含税 Net", "税额 Tax"),
    ]
    for tax in report.taxes:
        out.append(Pair(f"{format_percent(tax.rate):>8}  {money(tax.net):>10}", money(tax.tax)))
    out += [Rule(), Pair("支付 Tenders", "收 in / 退 out")]
    for tender in report.tenders:
        out.append(Pair(TENDERS.get(tender.kind, tender.kind), f"{money(tender.taken)} / {money(tender.refunded)}"))
        out.append(Pair("  净额 net", money(tender.net)))
    out += [
        Rule(),
        Pair("备用金 Opening float", money(shift.opening_float)),
        Pair("存入 Paid in", money(report.paid_in)),
        Pair("支出 Paid out", money(-report.paid_out)),
        Pair("应有现金 Expected cash", money(report.expected_cash), bold=True),
    ]
    if report.counted_cash is not None:
        over_short = report.over_short or 0
        label = "长款 Over" if over_short > 0 else "短款 Short" if over_short < 0 else "平 Balanced"
        out += [
            Pair("实点现金 Counted cash", money(report.counted_cash)),
            Pair(f"差额 {label}", money(over_short), bold=True),
        ]
    if report.suspended_open:
        out += [Rule(), Text(f"挂单未结 Suspended sales still open: {report.suspended_open}")]
    out += [Rule("=")]
    return out


def batch_report(result: BatchResult, settings: Settings) -> list[Element]:
    """The acquirer's settlement, printed under the Z report."""
    exp = settings.currency.exponent
    t = result.totals
    out: list[Element] = [
        Text(f"银行卡结算 CARD BATCH #{result.batch}", "center", bold=True),
        Rule(),
        Pair(f"消费 Sales ({t.debit_count})", format_amount(t.debit_amount, exp)),
        Pair(f"退款 Refunds ({t.credit_count})", format_amount(-t.credit_amount, exp)),
        Pair("净额 Net", format_amount(t.debit_amount - t.credit_amount, exp), bold=True),
    ]
    if result.tips:
        out.append(Pair("小费 Tips (included)", format_amount(result.tips, exp)))
    out.append(Pair("对账 Reconciliation", "平 in balance" if result.in_balance
                    else f"不平 OUT OF BALANCE ({result.response_code}): call the acquirer", bold=not result.in_balance))
    out.append(Rule("="))
    return out
