"""Shelf labels on the receipt printer: name, price, barcode, a rule to cut along.

Shops without a label printer print shelf-edge labels on receipt paper and trim them;
the price is double size so it reads from a step away, the barcode lets a cashier scan
the shelf when the item's own code is torn.
"""

from __future__ import annotations

from appliance.core.catalog import Product
from appliance.core.money import format_amount
from appliance.display.document import Barcode, Element, Rule, Text

MAX_COPIES = 50  # a shelf run, not a print job to block the till with


def shelf_label(product: Product, barcodes: list[str], *, exponent: int, symbol: str) -> list[Element]:
    per = "/kg" if product.unit == "kg" else ""
    lines: list[Element] = [Text(product.name, "center", bold=True)]
    if product.name_en:
        lines.append(Text(product.name_en, "center"))
    lines += [Text(f"{symbol}{format_amount(product.price, exponent)}{per}", "center", big=True),
              Barcode(barcodes[0] if barcodes else product.sku), Text(f"SKU {product.sku}", "center"), Rule()]
    return lines
