"""Catalog import and export as CSV, for merchants who keep their products in a spreadsheet.

Import is all or nothing: the file is read line by line and every row is checked and
staged in temporary tables, so a file of 300,000 products is validated without holding it
in memory, and without holding the write lock the till needs; only when no row
is bad (or `skip_bad` is set) are the staged rows applied, in one transaction that is
also one journal entry. Each bad row is reported with its line, its column and the reason.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence

from appliance.config import Settings
from appliance.core.barcode import InstoreLayout, decode_instore, normalize_gtin
from appliance.core.catalog import Catalog, canonical_plu
from appliance.core.money import format_amount, parse_amount
from appliance.errors import InputError
from appliance.store.db import Store

COLUMNS = ("sku", "name", "name_en", "barcodes", "plu", "unit", "price", "cost", "tax_class", "category", "active")
REQUIRED = ("sku", "name", "unit", "price")
BARCODE_SEPARATOR = "|"
MAX_ERRORS = 1000  # a file that bad is reported in part: the first thousand tell the story
# Far above any shelf price, and far enough below SQLite's 64-bit integers that a line
# total (price times a quantity in thousandths) cannot overflow either.
MAX_AMOUNT = 10**12
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class ImportResult:
    rows: int = 0  # data rows read
    applied: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    sha256: str = ""
    bad_lines: set[int] = field(default_factory=set)  # every bad line, also those past MAX_ERRORS

    @property
    def skipped_lines(self) -> list[int]:
        return sorted(self.bad_lines | {e.line for e in self.errors})


@dataclass(frozen=True)
class Rules:
    """What a valid row depends on, taken from the configuration."""

    exponent: int
    tax_classes: Sequence[str]
    default_tax_class: str
    layouts: Sequence[InstoreLayout]

    @classmethod
    def of(cls, settings: Settings) -> "Rules":
        return cls(settings.currency.exponent, tuple(settings.tax.classes), settings.tax.default_class,
                   settings.barcode.instore)


class _RowInvalid(Exception):
    def __init__(self, column: str, reason: str):
        self.column, self.reason = column, reason


def _parse_row(values: dict[str, str], rules: Rules) -> tuple[tuple, list[str]]:
    sku = values.get("sku", "").strip()
    if not _SKU.fullmatch(sku):
        raise _RowInvalid("sku", f"{sku!r} must be 1-32 letters, digits or . _ / - (starting with a letter or digit)")
    name = values.get("name", "").strip()
    if not name or len(name) > 64:
        raise _RowInvalid("name", "must be 1-64 characters")
    name_en = values.get("name_en", "").strip()
    if len(name_en) > 64:
        raise _RowInvalid("name_en", "must be at most 64 characters")
    unit = values.get("unit", "").strip().lower()
    if unit not in ("piece", "kg"):
        raise _RowInvalid("unit", f"{unit!r} must be 'piece' or 'kg'")
    price = _money(values, "price", rules.exponent, required=True)
    cost = _money(values, "cost", rules.exponent, required=False)
    tax_class = values.get("tax_class", "").strip() or rules.default_tax_class
    if tax_class not in rules.tax_classes:
        raise _RowInvalid("tax_class", f"{tax_class!r} is not a configured tax class ({', '.join(rules.tax_classes)})")
    category = values.get("category", "").strip()
    if len(category) > 64:
        raise _RowInvalid("category", "must be at most 64 characters")
    plu = values.get("plu", "").strip() or None
    if plu is not None:
        if not (plu.isascii() and plu.isdigit() and len(plu) <= 6):
            raise _RowInvalid("plu", f"{plu!r} must be 1-6 digits (the item code on in-store labels)")
        plu = canonical_plu(plu)  # spreadsheets drop the leading zeros a label prints
    active_text = values.get("active", "").strip().lower() or "1"
    if active_text not in _TRUE | _FALSE:
        raise _RowInvalid("active", f"{active_text!r} must be 1/0, true/false or yes/no")
    barcodes = []
    for raw in filter(None, (b.strip() for b in values.get("barcodes", "").split(BARCODE_SEPARATOR))):
        try:
            code = normalize_gtin(raw)
        except InputError as exc:
            raise _RowInvalid("barcodes", exc.message) from None
        if decode_instore(code, rules.layouts) is not None:
            raise _RowInvalid("barcodes", f"{raw} is in an in-store label range; give the item code in 'plu' instead")
        if code in barcodes:
            raise _RowInvalid("barcodes", f"{raw} is listed twice")
        barcodes.append(code)
    product = (sku, name, name_en, unit, price, cost, tax_class, category, plu, 1 if active_text in _TRUE else 0)
    return product, barcodes


def _money(values: dict[str, str], column: str, exponent: int, *, required: bool) -> int:
    text = values.get(column, "").strip()
    if not text:
        if required:
            raise _RowInvalid(column, "is empty")
        return 0
    try:
        amount = parse_amount(text, exponent, what=column)
    except InputError as exc:
        raise _RowInvalid(column, exc.message) from None
    if amount < 0:
        raise _RowInvalid(column, f"{text} must not be negative")
    if amount >= MAX_AMOUNT:
        raise _RowInvalid(column, f"{text} is too large")
    return amount


def csv_rows(reader) -> Iterable[tuple[int, list[str]]]:
    """Records with the line each starts on (a quoted field may span lines; line_num is the last)."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"the file cannot be read as CSV: {exc}", where=f"line {start}") from None
        yield start, row


def _records(stream: Iterable[str], result: ImportResult) -> Iterable[tuple[int, dict[str, str]]]:
    rows = csv_rows(csv.reader(stream))
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError("the file is empty; the first line must name the columns", where="line 1") from None
    header = [h.strip().lower() for h in header]
    if not any(header):
        raise InputError("the file is empty; the first line must name the columns", where="line 1")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError(f"unknown column {unknown[0]!r}; columns are {', '.join(COLUMNS)}", where="line 1")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"missing column {missing[0]!r}; required are {', '.join(REQUIRED)}", where="line 1")
    if len(set(header)) != len(header):
        raise InputError("a column is named twice", where="line 1")
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        if len(row) != len(header):
            yield line, {"__width__": f"has {len(row)} fields, the header has {len(header)}"}
            continue
        yield line, dict(zip(header, row))


def import_csv(store: Store, source: Path | IO[bytes], rules: Rules, *, at: str, skip_bad: bool = False,
               name: str = "upload") -> ImportResult:  # fmt: skip
    """Validate and apply a catalog file; returns what happened, raises InputError on an unusable file.

    `name` is what the journal calls a stream's source (a file's own name otherwise).
    """
    if isinstance(source, Path):
        with source.open("rb") as raw:
            return _import(store, raw, source.name, rules, at=at, skip_bad=skip_bad)
    return _import(store, source, name, rules, at=at, skip_bad=skip_bad)


def _lines(raw: IO[bytes], digest) -> Iterator[str]:
    """Decoded lines, hashed as read; a byte that is not UTF-8 is reported on its own line.

    Splitting bytes at newlines is safe in UTF-8 (no multi-byte character contains 0x0A),
    so each line decodes on its own and the error names the right line.
    """
    for number, chunk in enumerate(raw, start=1):
        digest.update(chunk)
        if number == 1:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)  # Excel's "CSV UTF-8" starts with one
        try:
            yield chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the file is not UTF-8 text (save it as 'CSV UTF-8')", where=f"line {number}") from None


def _import(store: Store, raw: IO[bytes], name: str, rules: Rules, *, at: str, skip_bad: bool) -> ImportResult:
    result = ImportResult()
    digest = hashlib.sha256()

    def error(line: int, column: str, reason: str) -> None:
        result.bad_lines.add(line)
        if len(result.errors) < MAX_ERRORS:
            result.errors.append(RowError(line, column, reason))
        else:
            result.errors_truncated = True

    conn = store.conn
    conn.execute("CREATE TEMP TABLE import_products (line INTEGER, sku TEXT PRIMARY KEY, name, name_en, unit, price, cost, tax_class, category, plu, active)")
    conn.execute("CREATE INDEX temp.import_products_plu ON import_products (plu)")
    conn.execute("CREATE TEMP TABLE import_barcodes (line INTEGER, code TEXT PRIMARY KEY, sku TEXT)")
    try:
        # Checking and staging reads the store and writes only temporary tables: the till
        # keeps committing sales meanwhile. The write lock is taken only to apply.
        with store.atomic(immediate=False):
            for line, values in _records(_lines(raw, digest), result):
                if "__width__" in values:
                    error(line, "*", values["__width__"])
                    continue
                try:
                    product, barcodes = _parse_row(values, rules)
                except _RowInvalid as bad:
                    error(line, bad.column, bad.reason)
                    continue
                _stage(conn, line, product, barcodes, error)
        result.sha256 = digest.hexdigest()
        if result.bad_lines and not skip_bad:
            _cross_check(conn, error)  # report clashes with the store too, in the same pass
            return result
        with store.atomic():
            checked = -1
            while len(result.bad_lines) > checked:
                # Dropping a bad row may strand a barcode or PLU another row meant to take
                # from it, so check again until no new row turns bad.
                checked = len(result.bad_lines)
                conn.executemany("DELETE FROM temp.import_products WHERE line = ?", [(n,) for n in result.bad_lines])
                conn.execute(
                    "DELETE FROM temp.import_barcodes WHERE sku NOT IN (SELECT sku FROM temp.import_products)"
                )
                _cross_check(conn, error)
                if result.bad_lines and not skip_bad:
                    return result
            if conn.execute("SELECT 1 FROM temp.import_products LIMIT 1").fetchone():
                result.applied = _apply(store, conn, name, result, at)
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.import_products")
        conn.execute("DROP TABLE IF EXISTS temp.import_barcodes")
    return result


def _stage(conn, line: int, product: tuple, barcodes: list[str], error) -> None:
    sku, plu = product[0], product[8]
    clash = conn.execute("SELECT line FROM temp.import_products WHERE sku = ?", (sku,)).fetchone()
    if clash:
        error(line, "sku", f"{sku} is already on line {clash[0]}")
        return
    if plu is not None:
        clash = conn.execute("SELECT line FROM temp.import_products WHERE plu = ?", (plu,)).fetchone()
        if clash:
            error(line, "plu", f"{plu} is already on line {clash[0]}")
            return
    for code in barcodes:
        clash = conn.execute("SELECT line FROM temp.import_barcodes WHERE code = ?", (code,)).fetchone()
        if clash:
            error(line, "barcodes", f"{code} is already on line {clash[0]}")
            return
    conn.execute("INSERT INTO temp.import_products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (line, *product))
    conn.executemany("INSERT INTO temp.import_barcodes VALUES (?, ?, ?)", [(line, code, sku) for code in barcodes])


def _cross_check(conn, error) -> None:
    """A barcode or PLU may move between products only if the product that has it is in the file too."""
    for line, code, owner in conn.execute(
        "SELECT i.line, i.code, b.sku FROM temp.import_barcodes i JOIN barcodes b ON b.code = i.code "
        "WHERE b.sku != i.sku AND b.sku NOT IN (SELECT sku FROM temp.import_products)"
    ).fetchall():
        error(line, "barcodes", f"{code} already belongs to product {owner}")
    for line, plu, owner in conn.execute(
        "SELECT i.line, i.plu, p.sku FROM temp.import_products i JOIN products p ON p.plu = i.plu "
        "WHERE p.sku != i.sku AND p.sku NOT IN (SELECT sku FROM temp.import_products)"
    ).fetchall():
        error(line, "plu", f"{plu} already belongs to product {owner}")


def _apply(store: Store, conn, name: str, result: ImportResult, at: str) -> int:
    with store.event("catalog.imported", ref=result.sha256[:16], at=at) as event:
        skus = "SELECT sku FROM temp.import_products"
        conn.execute(f"DELETE FROM barcodes WHERE sku IN ({skus})")
        # Free PLUs that move to another product in this file before the upsert claims them.
        conn.execute(f"UPDATE products SET plu = NULL WHERE sku IN ({skus}) AND plu IS NOT NULL")
        conn.execute(
            "INSERT INTO products (sku, name, name_en, unit, price, cost, tax_class, category, plu, active, updated_at) "
            "SELECT sku, name, name_en, unit, price, cost, tax_class, category, plu, active, ? "
            "FROM temp.import_products WHERE true "
            "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, unit = excluded.unit, "
            "price = excluded.price, cost = excluded.cost, tax_class = excluded.tax_class, "
            "category = excluded.category, plu = excluded.plu, active = excluded.active, updated_at = excluded.updated_at",
            (at,),
        )
        conn.execute("INSERT INTO barcodes (code, sku) SELECT code, sku FROM temp.import_barcodes")
        applied = int(conn.execute("SELECT count(*) FROM temp.import_products").fetchone()[0])
        event.payload = {
            "file": name,
            "sha256": result.sha256,
            "rows": result.rows,
            "applied": applied,
            "skipped_lines": result.skipped_lines,
        }
    return applied


def export_csv(catalog: Catalog, out: IO[str], exponent: int) -> int:
    """Write the whole catalog, streamed, in the same columns import reads back."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    conn = catalog.conn
    rows = conn.execute(
        "SELECT p.sku, p.name, p.name_en, "
        "(SELECT group_concat(code, '|') FROM (SELECT code FROM barcodes b WHERE b.sku = p.sku ORDER BY code)), "
        "p.plu, p.unit, p.price, p.cost, p.tax_class, p.category, p.active FROM products p ORDER BY p.sku"
    )
    for sku, name, name_en, codes, plu, unit, price, cost, tax_class, category, active in rows:
        writer.writerow(
            [sku, name, name_en, codes or "", plu or "", unit, format_amount(price, exponent),
             format_amount(cost, exponent), tax_class, category, active]
        )
        count += 1
    return count
