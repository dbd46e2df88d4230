"""Render ESC/POS bytes back into paper: lines of text, and a PNG a person can look at.

The printer simulator (hal) keeps every byte it is sent; this interprets the commands the
appliance emits (ESC @, ESC a, ESC E, GS !, FS & / FS ., GS v 0, GS h/w/H/k, GS V,
ESC p, ESC d) so tests can read a receipt as text and people can look at its image.
A command it does not know is an error naming the byte offset: the simulator must
never show a receipt the real printer would print differently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from appliance.display.text import char_width, pad

log = logging.getLogger(__name__)

FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
CELL_W, CELL_H = 12, 24  # the printer's Font A: 12 x 24 dots, a Chinese glyph is two cells wide


class RenderError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(f"byte {offset}: {message}")
        self.offset = offset


@dataclass
class Line:
    text: str
    align: str = "left"
    bold: bool = False
    big: bool = False


@dataclass
class Raster:
    width: int
    height: int
    rows: list[bytes]  # packed bits, ceil(width/8) bytes a row
    align: str = "left"

    def dark(self, x: int, y: int) -> bool:
        return bool(self.rows[y][x >> 3] & (0x80 >> (x & 7)))


@dataclass
class Bars:
    data: str
    module: int
    height: int
    text_below: bool
    align: str = "center"


@dataclass
class Paper:
    items: list = field(default_factory=list)  # Line, Raster, Bars
    cuts: int = 0
    kicks: int = 0


_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


def parse(data: bytes) -> Paper:
    paper = Paper()
    align, bold, big, chinese = "left", False, False, False
    text = bytearray()
    bar_height, bar_module, bar_text = 162, 3, False
    i, n = 0, len(data)

    def need(count: int, what: str) -> bytes:
        if i + count > n:
            raise RenderError(f"{what} is cut short", i)
        return data[i : i + count]

    def flush() -> None:
        paper.items.append(Line(_decode(bytes(text), chinese), align, bold, big))
        text.clear()

    while i < n:
        byte = data[i]
        if byte == 0x0A:
            flush()
            i += 1
        elif byte == 0x1B:  # ESC
            cmd = need(2, "ESC command")[1:2]
            if cmd == b"@":
                align, bold, big, chinese = "left", False, False, False
                i += 2
            elif cmd == b"a":
                align = _ALIGN.get(need(3, "ESC a")[2], "left")
                i += 3
            elif cmd == b"E":
                bold = bool(need(3, "ESC E")[2] & 1)
                i += 3
            elif cmd == b"d":
                for _ in range(need(3, "ESC d")[2]):
                    paper.items.append(Line("", align))
                i += 3
            elif cmd == b"p":
                need(5, "ESC p")
                paper.kicks += 1
                i += 5
            else:
                raise RenderError(f"unknown command ESC {cmd!r}", i)
        elif byte == 0x1D:  # GS
            cmd = need(2, "GS command")[1:2]
            if cmd == b"!":
                big = need(3, "GS !")[2] != 0
                i += 3
            elif cmd == b"h":
                bar_height = need(3, "GS h")[2]
                i += 3
            elif cmd == b"w":
                bar_module = need(3, "GS w")[2]
                i += 3
            elif cmd == b"H":
                bar_text = need(3, "GS H")[2] in (2, 3, 50, 51)
                i += 3
            elif cmd == b"k":
                head = need(4, "GS k")
                length = head[3]
                payload = need(4 + length, "GS k data")[4:]
                paper.items.append(Bars(payload.decode("ascii").removeprefix("{B"), bar_module, bar_height, bar_text, align))
                i += 4 + length
            elif cmd == b"v":
                head = need(8, "GS v 0")
                row_bytes = int.from_bytes(head[4:6], "little")
                height = int.from_bytes(head[6:8], "little")
                body = need(8 + row_bytes * height, "GS v 0 image")[8:]
                rows = [body[r * row_bytes : (r + 1) * row_bytes] for r in range(height)]
                paper.items.append(Raster(row_bytes * 8, height, rows, align))
                i += 8 + row_bytes * height
            elif cmd == b"V":
                head = need(3, "GS V")
                i += 4 if head[2] in (0x41, 0x42, 65, 66) else 3
                paper.cuts += 1
            else:
                raise RenderError(f"unknown command GS {cmd!r}", i)
        elif byte == 0x1C:  # FS
            cmd = need(2, "FS command")[1:2]
            if cmd == b"&":
                chinese = True
            elif cmd == b".":
                chinese = False
            else:
                raise RenderError(f"unknown command FS {cmd!r}", i)
            i += 2
        elif byte < 0x20 and byte not in (0x09, 0x0D):
            raise RenderError(f"unknown control byte 0x{byte:02X}", i)
        else:
            text.append(byte)
            i += 1
    if text:
        flush()
    return paper


def _decode(raw: bytes, chinese: bool) -> str:
    return raw.decode("gb18030" if chinese else "ascii", errors="replace").replace("\r", "")


def to_text(data: bytes, columns: int) -> list[str]:
    """The paper as fixed-width lines; images and barcodes as a one-line placeholder."""
    out = []
    for item in parse(data).items:
        if isinstance(item, Line):
            out.append(pad(item.text, columns // 2 if item.big else columns, item.align).rstrip())
        elif isinstance(item, Raster):
            out.append(f"[image {item.width}x{item.height}]".center(columns).rstrip())
        else:
            out.append(f"[code128 {item.data}]".center(columns).rstrip())
    return out


def find_font() -> str | None:
    for candidate in FONTS:
        if Path(candidate).exists():
            return candidate
    return None


def to_png(data: bytes, dots: int, path: Path) -> Path:
    """Draw the paper `dots` wide (384 for 58 mm, 576 for 80 mm) and save it as a PNG."""
    from PIL import Image, ImageDraw, ImageFont
    from barcode import Code128

    paper = parse(data)
    font_path = find_font()
    if font_path is None:
        log.warning("no CJK font installed (fonts-wqy-microhei): Chinese text is drawn as boxes")
    # In a .ttc the second face is the monospaced one (WenQuanYi Micro Hei Mono): Latin letters
    # then fit the printer's 12-dot cells instead of running into each other.
    index = 1 if font_path and font_path.endswith(".ttc") else 0
    fonts = {
        big: (ImageFont.truetype(font_path, CELL_H * (2 if big else 1), index=index) if font_path
              else ImageFont.load_default())
        for big in (False, True)
    }
    heights = []
    for item in paper.items:
        if isinstance(item, Line):
            heights.append(CELL_H * (2 if item.big else 1) + 4)
        elif isinstance(item, Raster):
            heights.append(item.height)
        else:
            heights.append(item.height + (CELL_H + 4 if item.text_below else 0))
    margin = 16
    image = Image.new("L", (dots + 2 * margin, sum(heights) + 2 * margin), 255)
    draw = ImageDraw.Draw(image)
    y = margin
    for item, height in zip(paper.items, heights):
        if isinstance(item, Line):
            _draw_line(draw, item, fonts[item.big], margin, y, dots)
        elif isinstance(item, Raster):
            x0 = margin + _offset(item.align, item.width, dots)
            for row in range(item.height):
                for col in range(item.width):
                    if item.dark(col, row):
                        image.putpixel((x0 + col, y + row), 0)
        else:
            modules = Code128(item.data).build()[0]
            width = len(modules) * item.module
            x0 = margin + _offset(item.align, width, dots)
            for index, bit in enumerate(modules):
                if bit == "1":
                    draw.rectangle([x0 + index * item.module, y, x0 + (index + 1) * item.module - 1, y + item.height - 1], fill=0)
            if item.text_below:
                _draw_line(draw, Line(item.data, "center"), fonts[False], margin, y + item.height + 2, dots)
        y += height
    image.save(path)
    return path


def _offset(align: str, width: int, dots: int) -> int:
    return {"left": 0, "center": (dots - width) // 2, "right": dots - width}[align] if width <= dots else 0


def _draw_line(draw, line: Line, font, margin: int, y: int, dots: int) -> None:
    scale = 2 if line.big else 1
    cells = [char_width(c) for c in line.text]
    width = sum(cells) * CELL_W * scale
    x = margin + _offset(line.align, width, dots)
    for char, cell in zip(line.text, cells):
        if cell:
            draw.text((x, y), char, font=font, fill=0, stroke_width=1 if line.bold else 0, stroke_fill=0)
        x += cell * CELL_W * scale
