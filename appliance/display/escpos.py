"""Documents to ESC/POS bytes: the receipt as the printer receives it.

Our own small command builder (the handful of commands a receipt needs, byte-exact and
golden-tested) rather than python-escpos's printer classes, which print to stdout and
open devices on attribute access. Images and QR codes go out as `GS v 0` rasters packed
by the native hot path. Chinese text is sent in GB18030 inside FS & ... FS . on printers
that have the Chinese font; elsewhere it is replaced by "?" (the receipt stays legible
in its Latin parts rather than printing garbage).
"""

from __future__ import annotations

from typing import Sequence

from appliance import native
from appliance.display.document import Barcode, Blank, Element, Logo, Pair, Qr, Rule, Text
from appliance.display.qr import qr_matrix
from appliance.display.text import pad, pair, wrap

ESC, GS, FS, LF = b"\x1b", b"\x1d", b"\x1c", b"\n"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
BOLD = {False: ESC + b"E\x00", True: ESC + b"E\x01"}
SIZE = {False: GS + b"!\x00", True: GS + b"!\x11"}  # double width and height
CUT = GS + b"V\x42\x03"  # feed 3 lines and cut (partial cut where the printer has one)
KICK = ESC + b"p\x00\x19\xfa"  # drawer pin 2: 50 ms on, 500 ms off


def _encode(text: str, chinese: bool) -> bytes:
    if chinese:
        return text.encode("gb18030", errors="replace")
    return text.encode("ascii", errors="replace")


def _raster(gray: bytes, width: int, height: int, threshold: int = 128) -> bytes:
    """GS v 0: a 1-bit image, rows of ceil(width/8) bytes."""
    data = native.raster_pack(gray, width, height, threshold)
    row_bytes = (width + 7) // 8
    return GS + b"v0\x00" + row_bytes.to_bytes(2, "little") + height.to_bytes(2, "little") + data


def qr_image(data: str, module: int) -> tuple[bytes, int, int]:
    """A QR code as grayscale pixels, `module` dots per module, with the 4-module quiet zone."""
    matrix = qr_matrix(data)
    size = len(matrix) * module
    rows = []
    for row in matrix:
        line = b"".join((b"\x00" if dark else b"\xff") * module for dark in row)
        rows.extend([line] * module)
    return b"".join(rows), size, size


def _barcode(data: str) -> bytes:
    """Code 128 (set B), 2-dot modules, 60 dots high, text printed below."""
    payload = b"{B" + data.encode("ascii", errors="replace")
    return GS + b"h\x3c" + GS + b"w\x02" + GS + b"H\x02" + GS + b"k\x49" + bytes([len(payload)]) + payload + LF


def to_escpos(elements: Sequence[Element], *, columns: int, dots: int, chinese: bool, cut: bool = True) -> bytes:
    """The document for a printer `columns` characters and `dots` dots wide."""
    out = bytearray(INIT)
    if chinese:
        out += CHINESE_ON
    for element in elements:
        if isinstance(element, Text):
            cells = columns // 2 if element.big else columns
            out += ALIGN[element.align] + BOLD[element.bold] + SIZE[element.big]
            for line in wrap(element.text, cells):
                out += _encode(line.rstrip(), chinese) + LF
            out += ALIGN["left"] + BOLD[False] + SIZE[False]
        elif isinstance(element, Pair):
            out += BOLD[element.bold]
            for line in pair(element.left, element.right, columns):
                out += _encode(pad(line, columns).rstrip(), chinese) + LF
            out += BOLD[False]
        elif isinstance(element, Rule):
            out += _encode(element.char * columns, chinese) + LF
        elif isinstance(element, Barcode):
            out += ALIGN["center"] + _barcode(element.data) + ALIGN["left"]
        elif isinstance(element, Qr):
            gray, width, height = qr_image(element.data, element.module)
            if width > dots:
                gray, width, height = qr_image(element.data, max(1, element.module * dots // width))
            out += ALIGN["center"] + _raster(gray, width, height) + ALIGN["left"]
        elif isinstance(element, Logo):
            out += ALIGN["center"] + _raster(element.gray, element.width, element.height) + ALIGN["left"]
        elif isinstance(element, Blank):
            out += LF
    if chinese:
        out += CHINESE_OFF
    if cut:
        out += CUT
    return bytes(out)


def copy_banner(columns: int, chinese: bool) -> bytes:
    """Printed above a reprint so nobody takes it for a second sale."""
    text = "*** 副本 COPY ***" if chinese else "*** COPY ***"
    banner = ALIGN["center"] + SIZE[True] + BOLD[True] + _encode(text, chinese) + LF + SIZE[False] + BOLD[False]
    return (CHINESE_ON if chinese else b"") + banner + ALIGN["left"]
