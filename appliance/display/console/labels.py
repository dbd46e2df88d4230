"""The operator console's labels in Chinese and English, chosen by `[console] language`.

Only the console's own words are here (headings, prompts, menu entries); the till's
messages come from the session as they are, so a refusal reads the same on the console,
in the log and in the API.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

# key: (Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    "item": ("商品", "Item"),
    "qty": ("数量", "Qty"),
    "amount": ("金额", "Amount"),
    "total": ("合计", "Total"),
    "savings": ("节省", "Saved"),
    "member": ("会员", "Member"),
    "none": ("无", "none"),
    "state": ("状态", "State"),
    "operator": ("收银员", "Operator"),
    "entry": ("输入", "Entry"),
    "no_sale": ("无销售", "no sale"),
    "sign_in_hint": ("请输入工号, 按确认; 再输入密码, 按确认", "sign in: operator code, ENTER, then PIN, ENTER"),
    "to_pay": ("应付", "To pay"),
    "paid": ("已付", "Paid"),
    "tender": ("付款", "Payment"),
    "quick_cash": ("现金快捷", "Quick cash"),
    "exact": ("整数", "exact"),
    "no_drawer": ("无钱箱: 现金收入收款袋", "no drawer: cash goes in the bag"),
    "tender_keys": ("输入金额后按 现金/卡/钱包/储值; 菜单: 更多",
                    "type an amount, then CASH/CARD/WALLET/SV; MENU: more"),
    "menu": ("菜单", "Menu"),
    "menu_hint": ("输入序号后按确认; 清除返回", "type a number, then ENTER; CLEAR goes back"),
    "returns": ("退货", "Returns"),
    "member_lookup": ("会员查询", "Member lookup"),
    "resume": ("恢复挂单", "Resume a suspended sale"),
    "open_shift": ("开班", "Open the shift"),
    "x_report": ("X 报表", "X report"),
    "z_close": ("Z 结班", "Z close"),
    "sign_out": ("签退", "Sign out"),
    "cash_exact": ("现金 整付", "Cash, exact"),
    "cash_next": ("现金", "Cash"),
    "points": ("积分付款", "Pay with points"),
    "remove_payment": ("撤销最后一笔付款", "Hand back the last payment"),
    "back_to_items": ("返回商品", "Back to the items"),
    "receipt_no": ("小票号 (数字或扫描)", "Receipt number (digits or scan)"),
    "return_lines": ("行号确认=全退; 数量 QTY 行号 确认; 合计=退款 现金=退现",
                     "line ENTER = all left; n QTY line ENTER; SUBTOTAL refunds; CASH refunds in cash"),
    "chosen": ("已选", "Chosen"),
    "left": ("可退", "left"),
    "member_search": ("手机尾号或姓名, 确认", "phone digits or card code, then ENTER"),
    "choose": ("输入序号后按确认", "type its number, then ENTER"),
    "no_suspended": ("没有挂单", "no suspended sales"),
    "no_matches": ("没有找到", "nothing found"),
    "opening_float": ("备用金", "Opening float"),
    "counted_cash": ("点钞金额", "Counted cash"),
    "report_close": ("确认或清除关闭", "ENTER or CLEAR closes"),
    "printer": ("打印机", "Printer"),
    "paper_out": ("缺纸", "PAPER OUT"),
    "paper_low": ("纸将尽", "paper low"),
    "ok": ("正常", "ok"),
    "offline": ("离线", "OFFLINE"),
    "online": ("在线", "online"),
    "no_host": ("无收单", "no host"),
    "card_reader": ("读卡器", "Reader"),
    "network": ("网络", "Net"),
    "uploads": ("待上传", "Uploads"),
    "sync_behind": ("{count} 笔未上传总部 (警戒 {alert}): 请检查网络, 收银照常",
                    "{count} events wait for head office (alert at {alert}): check the network; selling goes on"),
    "sync_error": ("总部同步失败 (上次成功 {last})", "Head office sync failing (last success {last})"),
    "never": ("从未", "never"),
    "reversals": ("待冲正", "Reversals"),
    "waiting": ("笔待传", "waiting"),
    "battery": ("电量", "Battery"),
    "charging": ("充电中", "charging"),
    "on_battery": ("电池", "on battery"),
    "full": ("已充满", "full"),
    "delivery": ("外卖单", "Delivery order"),
    "e_receipt": ("顾客扫码看电子小票", "Customer: scan for the e-receipt"),
    "states.locked": ("请登录", "signed out"),
    "states.idle": ("空闲", "ready"),
    "states.in_sale": ("销售中", "in sale"),
    "states.tendering": ("付款中", "payment"),
    "states.card_in_progress": ("刷卡中", "card in progress"),
    "states.receipt": ("完成", "receipt"),
    "states.supervisor_override": ("需主管授权", "supervisor override"),
}


class Labels:
    """Look labels up in one language: `labels("total")`."""

    def __init__(self, language: str):
        if language not in LANGUAGES:
            raise ValueError(f"console language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        self.language = language
        self._index = LANGUAGES.index(language)

    def __call__(self, key: str) -> str:
        return LABELS[key][self._index]
