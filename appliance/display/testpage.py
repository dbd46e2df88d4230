"""The printer test page a technician prints from `appliance doctor --test-page`.

It exercises everything a receipt uses: both alignments, bold and double size, Chinese
text, a column pair, a rule, a Code 128 barcode, a QR code and a raster logo.
"""

from __future__ import annotations

from appliance.display.document import Barcode, Blank, Element, Logo, Pair, Qr, Rule, Text


def logo(width: int = 96, height: int = 48) -> Logo:
    """A small test logo: a ring with a bar, drawn in grayscale so thresholding is exercised too."""
    rows = []
    cx, cy, outer, inner = width // 2, height // 2, min(width, height) // 2 - 1, min(width, height) // 3
    for y in range(height):
        row = bytearray()
        for x in range(width):
            d2 = (x - cx) ** 2 + (y - cy) ** 2
            ring = inner * inner <= d2 <= outer * outer
            bar = abs(y - cy) < 4 and abs(x - cx) < outer
            row.append(0 if ring or bar else 255 - (x * 100 // width))
        rows.append(bytes(row))
    return Logo(b"".join(rows), width, height)


def printer_test_page(shop: str, terminal: str, columns: int) -> list[Element]:
    return [
        logo(),
        Text(shop, "center", bold=True, big=True),
        Text("打印测试 PRINTER TEST PAGE", "center", bold=True),
        Rule("="),
        Pair("终端 Terminal", terminal),
        Pair("每行字符 Columns", str(columns)),
        Text("中文：可口可乐、苹果、找零、谢谢惠顾"),
        Text("ASCII: 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        Rule(),
        Barcode(f"{terminal}-TEST"),
        Blank(),
        Qr(f"https://receipt.example/{terminal}/TEST", module=4),
        Text("扫码验证 Scan to check", "center"),
    ]
