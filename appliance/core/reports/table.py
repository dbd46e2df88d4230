"""A report's result: typed columns, integer rows and a total, ready for any output.

Every value stays an integer in the unit of its column (minor units, thousandths of a
quantity, basis points), as everywhere in the books; only the output formats it. So the
CSV and JSON say exactly what the tables hold and tests compare integers, never floats.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from appliance.core.money import format_amount, format_percent, format_quantity
from appliance.core.reports.period import Period
from appliance.core.spreadsheet import text_cell

# text: as is; count: a whole number; money: minor units; qty: thousandths (pieces x 1000,
# grams); bp: basis points (a percentage x 100); milli: a ratio x 1000 (items per basket).
KINDS = ("text", "count", "money", "qty", "bp", "milli")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: unknown kind {self.kind!r}")


@dataclass
class Table:
    name: str
    title: str
    period: Period
    columns: tuple[Column, ...]
    rows: list[tuple] = field(default_factory=list)
    total: tuple | None = None
    headline: str = ""  # the column a narrow (printed) version shows beside each row's label
    notes: tuple[str, ...] = ()

    def column(self, key: str) -> int:
        for index, column in enumerate(self.columns):
            if column.key == key:
                return index
        raise KeyError(key)

    def values(self, key: str) -> list[Any]:
        index = self.column(key)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row)) for row in self.rows]

    def as_json(self) -> str:
        """Integers in their units (the column kinds say which), so nothing is lost to floats."""
        data = {
            "report": self.name,
            "title": self.title,
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in self.columns],
            "rows": self.records(),
            "total": dict(zip([c.key for c in self.columns], self.total)) if self.total else None,
            "notes": list(self.notes),
        }
        return json.dumps(data, ensure_ascii=False, indent=1)

    def as_csv(self, exponent: int) -> str:
        """Spreadsheet-ready: amounts with their decimals, a TOTAL row last."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows + ([self.total] if self.total else []):
            writer.writerow([text_cell(plain(v, c.kind, exponent)) if c.kind == "text" else plain(v, c.kind, exponent)
                             for v, c in zip(row, self.columns)])
        return out.getvalue()


def plain(value: Any, kind: str, exponent: int) -> str:
    """A value as text for a person or a spreadsheet (no thousands separators)."""
    if value is None:
        return ""
    if isinstance(value, str):  # a label (the TOTAL row's first cell)
        return value
    if kind == "money":
        return format_amount(value, exponent)
    if kind == "qty":
        return format_quantity(value)
    if kind == "bp":
        return format_percent(value)
    if kind == "milli":
        return format_amount(value, 3)
    return str(value)


def ratio(part: int, whole: int, scale: int) -> int | None:
    """part / whole x scale, rounded half away from zero; None when there is no whole."""
    if not whole:
        return None
    q, r = divmod(abs(part) * scale, abs(whole))
    q += 2 * r >= abs(whole)
    return q if (part >= 0) == (whole > 0) else -q


def total_row(rows: Sequence[tuple], label: str, kinds: Sequence[str]) -> tuple:
    """Sum every count/money/qty column; other columns are left empty (a ratio is recomputed)."""
    out: list[Any] = [label]
    for index, kind in enumerate(kinds[1:], start=1):
        out.append(sum(row[index] or 0 for row in rows) if kind in ("count", "money", "qty") else None)
    return tuple(out)
