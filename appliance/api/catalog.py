"""Catalog routes: search products, one product with its barcodes, import a catalog CSV (a manager's job)."""

from __future__ import annotations

import io
from typing import Any

from appliance.api.openapi import BOOLEAN, INT64, TEXT, Call, Route, array, integer, nullable, obj, string
from appliance.core.catalog import Catalog
from appliance.core.catalog_csv import Rules, import_csv
from appliance.core.clock import iso
from appliance.errors import InputError, NotFound

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
        raise InputError(f"nothing imported: {len(result.skipped_lines)} of {result.rows} rows are bad; "
                         f"first: {errors[0]}", where="body.csv")
    return 200, {"rows": result.rows, "applied": result.applied, "skipped_lines": result.skipped_lines,
                 "errors": errors}


ROUTES = [
    Route("GET", "/products", "cashier", products, "products in SKU order; search matches SKU, names, barcode",
          array(PRODUCT), query={"search": string(64), "limit": integer(1, 1000)}, tag="catalog"),
    Route("GET", "/products/{sku}", "cashier", product, "one product and its barcodes", PRODUCT,
          params={"sku": string(64, min_length=1)}, tag="catalog"),
    Route("POST", "/catalog/import", "manager", import_catalog, "import a catalog CSV (docs/inventory.md columns)",
          obj({"rows": integer(), "applied": integer(), "skipped_lines": array(integer()), "errors": array(TEXT)}),
          body=obj({"csv": string(900_000, min_length=1)}, {"skip_bad": BOOLEAN}), tag="catalog"),
]
