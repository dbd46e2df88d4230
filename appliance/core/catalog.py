"""The product catalog as the till sees it: one indexed lookup per scan, never a full load.

A scanned code is resolved in this order: an in-store code (prefix 20-29 matching a
configured layout) by its item code; a GTIN in the barcodes table; a SKU typed by hand.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterator, Sequence

from appliance.core.barcode import InstoreCode, InstoreLayout, decode_instore, normalize_gtin
from appliance.errors import InputError, NotFound

PRODUCT_COLUMNS = "sku, name, name_en, unit, price, cost, tax_class, category, plu, active"


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    name_en: str
    unit: str  # "piece" or "kg"
    price: int  # minor units per piece or per kilogram
    cost: int
    tax_class: str
    category: str
    plu: str | None
    active: bool

    @property
    def weighed(self) -> bool:
        return self.unit == "kg"


@dataclass(frozen=True, slots=True)
class Scan:
    """What a scanned or typed code means: a product, and a weight or price if the label carried one."""

    product: Product
    code: str
    quantity: int | None = None  # thousandths, from a weight label
    price: int | None = None  # line price, from a price label


def canonical_plu(plu: str) -> str:
    """A PLU without leading zeros: a label says 00123, a spreadsheet keeps 123, both are item 123."""
    return plu.lstrip("0") or "0"


def _product(row: Sequence) -> Product:
    sku, name, name_en, unit, price, cost, tax_class, category, plu, active = row
    return Product(sku, name, name_en, unit, price, cost, tax_class, category, plu, bool(active))


class Catalog:
    def __init__(self, conn: sqlite3.Connection, layouts: Sequence[InstoreLayout]):
        self.conn = conn
        self.layouts = tuple(layouts)

    def by_sku(self, sku: str) -> Product | None:
        row = self.conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ?", (sku,)).fetchone()
        return _product(row) if row else None

    def by_barcode(self, code: str) -> Product | None:
        row = self.conn.execute(
            f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = (SELECT sku FROM barcodes WHERE code = ?)",
            (code,),
        ).fetchone()
        return _product(row) if row else None

    def by_plu(self, plu: str) -> Product | None:
        """The product with this item code; import stores PLUs in `canonical_plu` form."""
        row = self.conn.execute(
            f"SELECT {PRODUCT_COLUMNS} FROM products WHERE plu = ?", (canonical_plu(plu),)
        ).fetchone()
        return _product(row) if row else None

    def resolve(self, code: str) -> Scan:
        """Turn what the scanner (or the keyboard) produced into a product; raise a clear error otherwise."""
        text = code.strip()
        if not text:
            raise InputError("empty code: scan again or type the SKU")
        if text.isascii() and text.isdigit() and len(text) in (8, 12, 13):
            try:
                gtin = normalize_gtin(text)
            except InputError:
                # A SKU may be all digits and as long as a barcode; only when no SKU
                # matches is the wrong check digit what the operator must hear about.
                if self.by_sku(text) is None:
                    raise
            else:
                instore = decode_instore(gtin, self.layouts)
                if instore is not None:
                    return self._instore(instore)
                product = self.by_barcode(gtin)
                if product is not None:
                    self._check_active(product)
                    return Scan(product, gtin)  # canonical, so UPC-A and EAN-13 scans give one code
        product = self.by_sku(text)
        if product is None:
            raise NotFound(f"no product with barcode or SKU {text!r}")
        self._check_active(product)
        return Scan(product, text)

    def _instore(self, instore: InstoreCode) -> Scan:
        gtin = instore.code
        product = self.by_plu(instore.item)
        if product is None:
            raise NotFound(f"no product has item code {instore.item} (from in-store label {gtin})")
        self._check_active(product)
        if instore.kind == "weight":
            if not product.weighed:
                raise InputError(f"{product.name} is sold by the piece but the label {gtin} carries a weight")
            if instore.value <= 0:
                raise InputError(f"the weight label {gtin} shows zero weight")
            return Scan(product, gtin, quantity=instore.value)
        return Scan(product, gtin, price=instore.value)

    @staticmethod
    def _check_active(product: Product) -> None:
        if not product.active:
            raise NotFound(f"{product.name} ({product.sku}) is no longer sold (inactive in the catalog)")

    def barcodes_of(self, sku: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT code FROM barcodes WHERE sku = ? ORDER BY code", (sku,))]

    def iter_products(self, search: str = "", limit: int | None = None) -> Iterator[Product]:
        """Products in SKU order, streamed; `search` matches SKU, names or a barcode."""
        sql = f"SELECT {PRODUCT_COLUMNS} FROM products"
        params: list = []
        if search:
            # SKUs may contain "_", which LIKE would read as "any character".
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            try:
                code = normalize_gtin(search)  # a UPC-A finds what its EAN-13 form finds, as in resolve
            except InputError:
                code = search
            sql += (
                " WHERE sku LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' OR name_en LIKE ? ESCAPE '\\'"
                " OR sku IN (SELECT sku FROM barcodes WHERE code = ?)"
            )
            params += [like, like, like, code]
        sql += " ORDER BY sku"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self.conn.execute(sql, params):
            yield _product(row)

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM products").fetchone()[0])
