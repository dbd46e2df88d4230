"""Catalog routes: search products, one product with its barcodes, import a catalog CSV (a manager's job)."""

from __future__ import annotations

import csv
import io
from typing import Any

from appliance.api.openapi import BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.core.catalog import Catalog
from appliance.core.catalog_csv import BARCODE_SEPARATOR, COLUMNS, Rules, import_csv
from appliance.core.clock import iso
from appliance.core.money import format_amount
from appliance.display.labels import MAX_COPIES, shelf_label
from appliance.errors import DomainError, InputError, NotFound

PRODUCT = obj({"sku": TEXT, "name": TEXT, "name_en": TEXT, "unit": TEXT, "price": integer(-INT64),
               "cost": integer(-INT64), "tax_class": TEXT, "category": TEXT, "plu": nullable(TEXT),
               "active": BOOLEAN}, {"barcodes": array(TEXT)})


def _catalog(daemon: Any) -> Catalog:
    return Catalog(daemon.store.conn, daemon.settings.barcode.instore)


async def products(call: Call) -> tuple[int, Any]:
    search, limit = call.query.get("search", ""), call.query.get("limit", 50)
    return 200, await call.daemon.run_in_worker(lambda: list(_catalog(call.daemon).iter_products(search, limit)))


async def product(call: Call) -> tuple[int, Any]:
    sku = call.params["sku"]

    def read() -> dict:
        catalog = _catalog(call.daemon)
        found = catalog.by_sku(sku)
        if found is None:
            raise NotFound(f"no product with SKU {sku!r}")
        return {**{k: getattr(found, k) for k in PRODUCT["properties"] if k != "barcodes"},
                "barcodes": catalog.barcodes_of(sku)}

    return 200, await call.daemon.run_in_worker(read)


async def import_catalog(call: Call) -> tuple[int, Any]:
    """The same import as `appliance catalog import`: all rows or none, unless skip_bad."""
    daemon, body = call.daemon, call.body
    s = daemon.settings
    rules = Rules.of(s)
    skip_bad = body.get("skip_bad", False)

    def run():
        return import_csv(daemon.store, io.BytesIO(body["csv"].encode("utf-8")), rules,
                          at=iso(daemon.clock.now()), skip_bad=skip_bad)

    result = await daemon.run_in_worker(run)
    errors = [str(e) for e in result.errors]
    if errors and not skip_bad:
        # Every bad row at once (up to MAX_ERRORS), so the spreadsheet is fixed in one go.
        return 422, {"error": InputError.code, "message": f"nothing imported: {len(result.skipped_lines)} of "
                     f"{result.rows} rows are bad; first: {errors[0]}", "rows": result.rows,
                     "skipped_lines": result.skipped_lines, "errors": errors}  # fmt: skip
    return 200, {"rows": result.rows, "applied": result.applied, "skipped_lines": result.skipped_lines,
                 "errors": errors}


def _product_csv(sku: str, body: dict[str, Any], exponent: int) -> bytes:
    """The edited product as one catalog CSV row: saved through the import, it meets the same checks."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow([sku, body["name"], body.get("name_en", ""), BARCODE_SEPARATOR.join(body.get("barcodes", [])),
                     body.get("plu") or "", body["unit"], format_amount(body["price"], exponent),
                     format_amount(body.get("cost", 0), exponent), body.get("tax_class", ""),
                     body.get("category", ""), "1" if body.get("active", True) else "0"])  # fmt: skip
    return out.getvalue().encode("utf-8")


async def save_product(call: Call) -> tuple[int, Any]:
    """Create or replace one product (all its fields and barcodes), as a one-row catalog import."""
    daemon, sku = call.daemon, call.params["sku"]
    data = _product_csv(sku, call.body, daemon.settings.currency.exponent)
    result = await daemon.run_in_worker(lambda: import_csv(daemon.store, io.BytesIO(data), Rules.of(daemon.settings),
                                                           at=iso(daemon.clock.now()), name=f"product {sku}"))
    if result.errors:
        bad = result.errors[0]
        raise InputError(bad.reason, where=f"body.{bad.column}")
    return 200, (await product(call))[1]


async def print_labels(call: Call) -> tuple[int, Any]:
    daemon, sku, copies = call.daemon, call.params["sku"], call.body.get("copies", 1)
    settings = daemon.settings

    def run() -> bool:
        catalog = _catalog(daemon)
        found = catalog.by_sku(sku)
        if found is None:
            raise NotFound(f"no product with SKU {sku!r}")
        label = shelf_label(found, catalog.barcodes_of(sku), exponent=settings.currency.exponent,
                            symbol=settings.currency.symbol)
        return daemon.print_slip(label * copies)

    if not await daemon.run_in_worker(run):
        raise DomainError("the receipt printer is offline or not configured: check it (GET /devices) and print again")
    return 200, {"printed": copies}


ROUTES = [
    Route("GET", "/products", "cashier", products, "products in SKU order; search matches SKU, names, barcode",
          array(PRODUCT), query={"search": string(64), "limit": integer(1, 1000)}, tag="catalog"),
    Route("GET", "/products/{sku}", "cashier", product, "one product and its barcodes", PRODUCT,
          params={"sku": string(64, min_length=1)}, tag="catalog"),
    Route("POST", "/catalog/import", "manager", import_catalog, "import a catalog CSV (docs/inventory.md columns)",
          obj({"rows": integer(), "applied": integer(), "skipped_lines": array(integer()), "errors": array(TEXT)}),
          body=obj({"csv": string(900_000, min_length=1)}, {"skip_bad": BOOLEAN}), tag="catalog"),
    Route("PUT", "/products/{sku}", "manager", save_product, "create or replace a product; active false retires it",
          PRODUCT, params={"sku": string(32, min_length=1)}, tag="catalog", body=obj(
              {"name": string(64, min_length=1), "unit": string(8, enum=["piece", "kg"]), "price": integer(0, 10**12)},
              {"name_en": string(64), "barcodes": array(string(32), max_items=20), "plu": nullable(string(6)),
               "cost": integer(0, 10**12), "tax_class": string(32), "category": string(64), "active": BOOLEAN})),
    Route("POST", "/products/{sku}/labels", "supervisor", print_labels, "print shelf labels on the receipt printer",
          obj({"printed": integer()}), params={"sku": string(64, min_length=1)}, tag="catalog",
          body=obj({}, {"copies": integer(1, MAX_COPIES)})),
]
