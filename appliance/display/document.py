"""A printable document as a list of elements, and its rendering to fixed-width text.

Receipts and reports are built once as elements; the text renderer here lays them out
for 32, 42 or 48 columns (58 mm and 80 mm paper), and the ESC/POS renderer of the
printer driver turns the same elements into printer commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

from appliance.display.text import pad, pair, width, wrap


@dataclass(frozen=True)
class Text:
    text: str
    align: str = "left"  # left, center, right
    bold: bool = False
    big: bool = False  # double height and width on a printer


@dataclass(frozen=True)
class Pair:
    left: str
    right: str
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class Barcode:
    data: str
    symbology: str = "CODE128"


@dataclass(frozen=True)
class Blank:
    pass


@dataclass(frozen=True)
class Qr:
    data: str  # an e-receipt link or a wallet payment code
    module: int = 6  # dots per QR module on paper


@dataclass(frozen=True)
class Logo:
    gray: bytes  # 8-bit grayscale, row-major
    width: int
    height: int


Element = Union[Text, Pair, Rule, Barcode, Blank, Qr, Logo]


def render_text(elements: Sequence[Element], cells: int) -> list[str]:
    """Lay the document out as lines of exactly `cells` columns."""
    lines: list[str] = []
    for element in elements:
        if isinstance(element, Text):
            lines += [pad(line, cells, element.align) for line in wrap(element.text, cells)]
        elif isinstance(element, Pair):
            lines += [pad(line, cells) for line in pair(element.left, element.right, cells)]
        elif isinstance(element, Rule):
            lines.append(element.char * cells)
        elif isinstance(element, Barcode):
            # Text has no bars: show the human-readable line printed under a Code 128 barcode.
            lines.append(pad(f"||||| {element.data} |||||", cells, "center"))
        elif isinstance(element, Qr):
            lines.append(pad(f"[QR {element.data}]", cells, "center"))
        elif isinstance(element, Logo):
            lines.append(pad("[logo]", cells, "center"))
        else:
            lines.append(" " * cells)
    return lines


def framed(lines: Sequence[str], title: str = "") -> list[str]:
    """Draw the paper's edges so a terminal shows where the roll ends."""
    cells = max((width(line) for line in lines), default=0)
    top = f"┌{title:─^{cells}}┐" if title else "┌" + "─" * cells + "┐"
    return [top] + [f"│{pad(line, cells)}│" for line in lines] + ["└" + "─" * cells + "┘"]
