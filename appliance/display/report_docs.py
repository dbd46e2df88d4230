"""Back-office reports as printable documents for the receipt printer, and as terminal tables.

Paper is 32 to 48 columns wide, so the printed version shows each row's label with its
headline figure (net sales, profit...) and the other columns of the total at the end;
the full table is for the screen, CSV and JSON.
"""

from __future__ import annotations

from appliance.core.reports.table import Table, plain
from appliance.display.document import Element, Pair, Rule, Text
from appliance.display.text import pad, width


def report_document(table: Table, shop: str, exponent: int) -> list[Element]:
    """The narrow version: title, period, one line per row, the total column by column."""
    period = table.period
    span = str(period.first) if period.first == period.last else f"{period.first} .. {period.last}"
    out: list[Element] = [Text(shop, "center", bold=True), Text(table.title, "center", bold=True), Text(span, "center"),
                          Rule("=")]
    head = table.columns[table.column(table.headline)] if table.headline else table.columns[-1]
    index = table.column(head.key)
    labels = [i for i, c in enumerate(table.columns) if c.kind == "text" and i != index][:2]
    out.append(Pair(" ".join(table.columns[i].title for i in labels) or table.columns[0].title, head.title, bold=True))
    for row in table.rows:
        label = " ".join(str(row[i]) for i in labels if row[i] not in (None, ""))
        out.append(Pair(label, plain(row[index], head.kind, exponent)))
    if not table.rows:
        out.append(Text("(nothing in this period)", "center"))
    if table.total:
        out.append(Rule())
        for column, value in zip(table.columns, table.total):
            if column.kind != "text" and value not in (None, ""):
                out.append(Pair(column.title, plain(value, column.kind, exponent), bold=column.key == head.key))
    for note in table.notes:
        out.append(Text(note))
    out.append(Rule("="))
    return out


def terminal_table(table: Table, exponent: int) -> str:
    """The whole table in aligned columns (numbers right, text left), with its total and notes."""
    header = [c.title for c in table.columns]
    body = [[plain(v, c.kind, exponent) for v, c in zip(row, table.columns)] for row in table.rows]
    total = [plain(v, c.kind, exponent) for v, c in zip(table.total, table.columns)] if table.total else None
    cells = [header] + body + ([total] if total else [])
    widths = [max(width(row[i]) for row in cells) for i in range(len(header))]
    right = [c.kind != "text" for c in table.columns]

    def line(row: list[str]) -> str:
        return "  ".join(pad(v, w, "right" if r else "left") for v, w, r in zip(row, widths, right)).rstrip()

    period = table.period
    out = [f"{table.title}: {period.first} .. {period.last}", line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in body]
    if total:
        out += ["  ".join("-" * w for w in widths), line(total)]
    if not table.rows:
        out.append("(nothing in this period)")
    out += [f"note: {note}" for note in table.notes]
    return "\n".join(out)
