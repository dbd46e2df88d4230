"""Report charts as PNG (drawn with Pillow) and SVG (written as text): trend, peak-hour heatmap, bars.

A chart is first laid out once as a list of shapes on a canvas; the two writers only
translate shapes, so the PNG and the SVG of a report always show the same picture.
Chinese product names use the CJK font the receipt images use (fonts-wqy-microhei).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from xml.sax.saxutils import escape

from appliance.core.money import format_amount
from appliance.core.reports.table import Table, plain
from appliance.display.escpos_render import find_font
from appliance.errors import InputError

INK, GRID, LINE, AVERAGE, BAR = "#222222", "#dddddd", "#1f77b4", "#ff7f0e", "#4c72b0"
FONT_FAMILY = "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
MAX_BARS = 15


@dataclass
class Canvas:
    width: int
    height: int
    shapes: list[tuple] = field(default_factory=list)

    def line(self, points: Sequence[tuple[float, float]], color: str, stroke: int = 2) -> None:
        self.shapes.append(("line", [(round(x, 1), round(y, 1)) for x, y in points], color, stroke))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        self.shapes.append(("rect", round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1), fill))

    def text(self, x: float, y: float, text: str, size: int = 14, anchor: str = "start", color: str = INK) -> None:
        """`y` is the baseline; `anchor` start, middle or end, as in SVG."""
        self.shapes.append(("text", round(x, 1), round(y, 1), text, size, anchor, color))


def to_svg(canvas: Canvas) -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{canvas.width}" height="{canvas.height}" '
           f'viewBox="0 0 {canvas.width} {canvas.height}" font-family="{FONT_FAMILY}">',
           f'<rect x="0" y="0" width="{canvas.width}" height="{canvas.height}" fill="#ffffff"/>']
    for shape in canvas.shapes:
        if shape[0] == "line":
            _, points, color, stroke = shape
            path = " ".join(f"{x},{y}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="{stroke}"/>')
        elif shape[0] == "rect":
            _, x0, y0, x1, y1, fill = shape
            out.append(f'<rect x="{x0}" y="{y0}" width="{round(x1 - x0, 1)}" height="{round(y1 - y0, 1)}" fill="{fill}"/>')
        else:
            _, x, y, text, size, anchor, color = shape
            out.append(f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" fill="{color}">'
                       f'{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_png(canvas: Canvas, path: Path) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    font_path = find_font()
    fonts: dict[int, object] = {}

    def font(size: int):
        if size not in fonts:
            fonts[size] = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default()
        return fonts[size]

    image = Image.new("RGB", (canvas.width, canvas.height), "#ffffff")
    draw = ImageDraw.Draw(image)
    for shape in canvas.shapes:
        if shape[0] == "line":
            _, points, color, stroke = shape
            draw.line(points, fill=color, width=stroke, joint="curve")
        elif shape[0] == "rect":
            _, x0, y0, x1, y1, fill = shape
            draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], fill=fill)
        else:
            _, x, y, text, size, anchor, color = shape
            draw.text((x, y), text, font=font(size), fill=color, anchor={"start": "ls", "middle": "ms", "end": "rs"}[anchor])
    image.save(path)
    return path


def _frame(canvas: Canvas, title: str, subtitle: str) -> None:
    canvas.text(canvas.width / 2, 28, title, 20, "middle")
    canvas.text(canvas.width / 2, 50, subtitle, 13, "middle", "#555555")


def _span(table: Table) -> str:
    return f"{table.period.first} .. {table.period.last}"


def trend(table: Table, exponent: int, *, width: int = 900, height: int = 420) -> Canvas:
    """Daily figures as a line; with the report's 7-day average (trend report) as a second line."""
    key = table.headline
    series = [(table.values(key), LINE, table.columns[table.column(key)].title)]
    if any(c.key == "average7" for c in table.columns):
        series.append((table.values("average7"), AVERAGE, "7-day average"))
    labels = [str(row[0]) for row in table.rows]
    canvas = Canvas(width, height)
    _frame(canvas, table.title, _span(table))
    left, right, top, bottom = 90, width - 45, 70, height - 50  # room for the last date, centred on its point
    values = [v or 0 for s, _, _ in series for v in s] or [0]
    low, high = min(0, min(values)), max(values) or 1
    y_of = lambda v: bottom - (v - low) / (high - low or 1) * (bottom - top)  # noqa: E731
    for step in range(5):
        value = low + (high - low) * step / 4
        canvas.line([(left, y_of(value)), (right, y_of(value))], GRID, 1)
        canvas.text(left - 6, y_of(value) + 4, format_amount(int(value), exponent), 12, "end")
    count = max(len(labels), 1)
    x_of = lambda i: left + (right - left) * (i / (count - 1) if count > 1 else 0.5)  # noqa: E731
    every = max(1, count // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            canvas.text(x_of(i), bottom + 18, label, 12, "middle")
    for n, (data, color, name) in enumerate(series):
        canvas.line([(x_of(i), y_of(v or 0)) for i, v in enumerate(data)] or [(left, bottom), (right, bottom)], color,
                    3 if n else 2)
        canvas.rect(left + 10 + n * 170, top - 14, left + 26 + n * 170, top - 4, color)
        canvas.text(left + 32 + n * 170, top - 4, name, 12)
    canvas.line([(left, top), (left, bottom), (right, bottom)], INK, 1)
    return canvas


def heatmap(table: Table, *, cell: int = 34) -> Canvas:
    """Weekday rows x hour columns, darker where more baskets; each cell shows its count."""
    hours = [c for c in table.columns if c.key.startswith("h")]
    left, top = 70, 80
    # Wide enough for its title even when the shop traded in one hour only.
    canvas = Canvas(max(left + cell * len(hours) + 20, 480), top + cell * len(table.rows) + 30)
    _frame(canvas, table.title, _span(table))
    counts = [[row[table.column(c.key)] for c in hours] for row in table.rows]
    peak = max((v for row in counts for v in row), default=0) or 1
    for j, column in enumerate(hours):
        canvas.text(left + j * cell + cell / 2, top - 8, column.title, 12, "middle")
    for i, row in enumerate(table.rows):
        canvas.text(left - 8, top + i * cell + cell / 2 + 5, str(row[0]), 13, "end")
        for j, value in enumerate(counts[i]):
            shade = value / peak
            red, green, blue = (int(255 - shade * (255 - c)) for c in (0x08, 0x51, 0x9c))  # white to deep blue
            x0, y0 = left + j * cell, top + i * cell
            canvas.rect(x0 + 1, y0 + 1, x0 + cell - 1, y0 + cell - 1, f"#{red:02x}{green:02x}{blue:02x}")
            canvas.text(x0 + cell / 2, y0 + cell / 2 + 4, str(value), 10, "middle", "#ffffff" if shade > 0.55 else INK)
    return canvas


def bars(table: Table, exponent: int, *, width: int = 900) -> Canvas:
    """The first rows (at most 15) as horizontal bars of the headline column, labelled with their names."""
    key = table.headline
    column = table.columns[table.column(key)]
    texts = [i for i, c in enumerate(table.columns) if c.kind == "text"][:2]
    rows = table.rows[:MAX_BARS]
    bar, left, top = 26, 300, 80
    canvas = Canvas(width, top + bar * max(len(rows), 1) + 30)
    _frame(canvas, f"{table.title}: {column.title}", _span(table))
    peak = max((abs(r[table.column(key)] or 0) for r in rows), default=0) or 1
    span = width - left - 120
    for i, row in enumerate(rows):
        value = row[table.column(key)] or 0
        label = " ".join(str(row[t]) for t in texts if row[t] not in (None, ""))
        y = top + i * bar
        canvas.text(left - 8, y + bar / 2 + 5, label[:36], 13, "end")
        canvas.rect(left, y + 3, left + max(1.0, abs(value) / peak * span), y + bar - 3, BAR if value >= 0 else AVERAGE)
        canvas.text(left + abs(value) / peak * span + 6, y + bar / 2 + 5, plain(value, column.kind, exponent), 12)
    return canvas


def draw(table: Table, kind: str, exponent: int) -> Canvas:
    if kind == "trend":
        return trend(table, exponent)
    if kind == "heatmap":
        return heatmap(table)
    return bars(table, exponent)


def save(table: Table, kind: str | None, path: Path, exponent: int) -> Path:
    """Write the report's chart to `path`; the suffix (.png or .svg) chooses the format."""
    if kind is None:
        raise InputError(f"the {table.name} report has no chart; charts: trend, sales-day, peak-hours, top-movers ...")
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise InputError(f"--chart {path}: the file name must end in .png or .svg")
    canvas = draw(table, kind, exponent)
    if suffix == ".svg":
        path.write_text(to_svg(canvas), encoding="utf-8")
        return path
    return to_png(canvas, path)
