"""Fixed-width text layout where a Chinese character takes two columns.

Receipt printers and terminals print CJK ideographs (and full-width forms) two cells
wide; counting `len()` would push every price after a Chinese name out of its column.
Widths follow Unicode East Asian Width: W and F are two cells, combining marks none.
"""

from __future__ import annotations

import unicodedata


def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cc", "Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(char_width(c) for c in text)


def clean(text: str) -> str:
    """Drop control characters: a product name must never send a printer command."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


def fit(text: str, cells: int) -> str:
    """Cut text to at most `cells` columns without splitting a wide character."""
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > cells:
            break
        out.append(char)
        used += w
    return "".join(out)


def wrap(text: str, cells: int) -> list[str]:
    """Break text into lines of at most `cells` columns, at spaces where Latin words allow it."""
    text = clean(text)
    lines: list[str] = []
    current, used = "", 0
    for word in _tokens(text):
        w = width(word)
        if used + w <= cells:
            current, used = current + word, used + w
            continue
        if current.strip():
            lines.append(current.rstrip())
        word = word.lstrip()
        while width(word) > cells:
            head = fit(word, cells)
            lines.append(head)
            word = word[len(head):]
        current, used = word, width(word)
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their leading space; each wide character is a token of its own (it may break anywhere)."""
    tokens: list[str] = []
    for char in text:
        if char_width(char) == 2 or not tokens or char == " " or char_width(tokens[-1][-1]) == 2:
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def pad(text: str, cells: int, align: str = "left") -> str:
    text = fit(text, cells)
    space = cells - width(text)
    if align == "right":
        return " " * space + text
    if align == "center":
        return " " * (space // 2) + text + " " * (space - space // 2)
    return text + " " * space


def pair(left: str, right: str, cells: int) -> list[str]:
    """Left text and right-aligned text on one line; the left wraps above when both do not fit."""
    right = fit(clean(right), cells)
    room = cells - width(right) - 1
    if width(left) <= room:
        return [pad(clean(left), cells - width(right)) + right]
    if room >= cells // 2:
        # Wrap the left part narrower so the amount still ends its last line.
        indent = left[: len(left) - len(left.lstrip(" "))]
        lines = wrap(left, room)
        lines = [lines[0]] + [indent + line for line in lines[1:]]
        if all(width(line) <= room for line in lines):
            return lines[:-1] + [pad(lines[-1], cells - width(right)) + right]
    return wrap(left, cells) + [pad(right, cells, "right")]
