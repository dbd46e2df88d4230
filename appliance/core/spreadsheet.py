"""Text cells that a spreadsheet opens as text, never as a formula.

Names typed at a till or sent by head office end up in CSV files a manager opens in
Excel or WPS; a cell starting with = + - @ (or a tab or carriage return) would be run as
a formula there ("CSV injection", OWASP). Such a cell gets a leading apostrophe, which
spreadsheets show as text. Only text columns are escaped: a negative amount stays a number.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # CSV downloads start with it, so Excel on Chinese Windows reads them as UTF-8, not GBK


def text_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
