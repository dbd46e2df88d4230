"""What the customer display shows at each step of a sale, fitted to its 2 x 20 (or other) cells.

Frames are plain lines; the display driver encodes them. Displays without a Chinese
font get English labels, so they never show "?" where a word should be.
"""

from __future__ import annotations

from appliance.core.money import format_amount
from appliance.display.text import fit, pad, width

Frame = tuple[str, ...]


def _pair(left: str, right: str, columns: int) -> str:
    """Left text cut to fit, the amount against the right edge, exactly `columns` cells."""
    right = fit(right, columns)
    room = max(0, columns - width(right) - (1 if right else 0))
    return pad(fit(left, room), columns - width(right)) + right


def _label(chinese: bool, zh: str, en: str) -> str:
    return zh if chinese else en


def welcome(shop: str, columns: int, chinese: bool) -> Frame:
    return (pad(_label(chinese, "欢迎光临", "WELCOME"), columns, "center"), pad(fit(shop, columns), columns, "center"))


def item(name: str, amount: int, total: int, exponent: int, columns: int, chinese: bool) -> Frame:
    """The line just scanned, and the running total under it."""
    return (
        _pair(name, format_amount(amount, exponent), columns),
        _pair(_label(chinese, "合计", "TOTAL"), format_amount(total, exponent), columns),
    )


def total(amount: int, exponent: int, columns: int, chinese: bool) -> Frame:
    return (
        _pair(_label(chinese, "应付", "TO PAY"), "", columns),
        pad(format_amount(amount, exponent), columns, "right"),
    )


def paid(tendered: int, remaining: int, exponent: int, columns: int, chinese: bool) -> Frame:
    return (
        _pair(_label(chinese, "已付", "PAID"), format_amount(tendered, exponent), columns),
        _pair(_label(chinese, "还需", "DUE"), format_amount(remaining, exponent), columns),
    )


def _closing(zh: str, en: str, columns: int, chinese: bool, e_receipt: bool) -> str:
    """The last line at the end of a sale; with digital receipts it says where the e-receipt is
    (the display cannot draw a QR code: the code is on the paper receipt)."""
    if e_receipt:
        zh, en = "扫码看电子小票", "SCAN QR: E-RECEIPT"
    return pad(fit(_label(chinese, zh, en), columns), columns, "center")


def change(amount: int, exponent: int, columns: int, chinese: bool, *, e_receipt: bool = False) -> Frame:
    return (
        _pair(_label(chinese, "找零", "CHANGE"), format_amount(amount, exponent), columns),
        _closing("谢谢惠顾", "THANK YOU", columns, chinese, e_receipt),
    )


def thanks(columns: int, chinese: bool, *, e_receipt: bool = False) -> Frame:
    return (
        pad(_label(chinese, "谢谢惠顾", "THANK YOU"), columns, "center"),
        _closing("欢迎再来", "SEE YOU SOON", columns, chinese, e_receipt),
    )


def tip_prompt(amount: int, percentages: tuple[int, ...], exponent: int, columns: int, chinese: bool) -> Frame:
    """The tip question: keys 1-4 pick a suggestion, 0 no tip, 9 another amount (typed on the PIN pad)."""
    options = " ".join(f"{key}:{percent}" for key, percent in enumerate(percentages, start=1)) + "%"
    head = pad(fit(f"{_label(chinese, '小费', 'TIP')} {options}", columns), columns)
    return head, _pair(_label(chinese, "0:无 9:其他", "0:NO 9:OTHER"), format_amount(amount, exponent), columns)
