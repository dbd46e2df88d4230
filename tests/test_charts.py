"""Report charts: the PNG and the SVG come from the same layout and show the report's figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from PIL import Image

from appliance.core.reports.period import Period
from appliance.core.reports.table import Column, Table
from appliance.display import charts
from appliance.errors import InputError

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 14), "Asia/Shanghai", 4)


def _trend() -> Table:
    rows = [(f"2026-11-{d:02d}", "", 1000 * d, 900 * d, 0, None) for d in range(1, 15)]
    columns = (Column("day", "Day"), Column("weekday", "Wd"), Column("net", "Net sales", "money"),
               Column("average7", "7-day avg", "money"), Column("week_before", "Before", "money"),
               Column("wow", "Change", "bp"))
    return Table("trend", "Sales trend", PERIOD, columns, rows, None, headline="net")


def _heat() -> Table:
    hours = [8, 9, 10]
    columns = (Column("weekday", "Weekday"),) + tuple(Column(f"h{h:02d}", f"{h:02d}", "count") for h in hours) + (
        Column("baskets", "Baskets", "count"),)
    rows = [(day, d, 2 * d, 0, 3 * d) for d, day in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))]
    return Table("peak-hours", "Peak hours", PERIOD, columns, rows, None, headline="baskets")


def _bars() -> Table:
    rows = [(f"S{i}", f"可口可乐 {i}", 50000 - 1000 * i) for i in range(20)]
    columns = (Column("sku", "SKU"), Column("name", "Product"), Column("amount", "Net amount", "money"))
    return Table("top-movers", "Top movers", PERIOD, columns, rows, None, headline="amount")


@pytest.mark.parametrize(("table", "kind"), [(_trend(), "trend"), (_heat(), "heatmap"), (_bars(), "bars")])
def test_png_and_svg_draw_the_same_picture(tmp_path, table, kind):
    canvas = charts.draw(table, kind, 2)
    png = charts.save(table, kind, tmp_path / "c.png", 2)
    svg = charts.save(table, kind, tmp_path / "c.SVG", 2)
    with Image.open(png) as image:
        assert image.size == (canvas.width, canvas.height)
        dark = sum(1 for pixel in image.convert("L").tobytes() if pixel < 128)
        assert dark > 500  # text and lines were drawn, not a blank page
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    assert root.get("width") == str(canvas.width)
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert table.title in " ".join(texts)
    assert len(list(root)) == len(canvas.shapes) + 1  # the background, then one element per shape


def test_the_trend_has_both_lines_and_the_heatmap_every_cell():
    trend = charts.draw(_trend(), "trend", 2)
    lines = [s for s in trend.shapes if s[0] == "line" and len(s[1]) == 14]
    assert {s[2] for s in lines} == {charts.LINE, charts.AVERAGE}
    heat = charts.draw(_heat(), "heatmap", 2)
    cells = [s for s in heat.shapes if s[0] == "rect"]
    assert len(cells) == 7 * 3
    assert cells[0][5] == "#ffffff"  # Monday 08:00 has no basket: white; the busiest cell is the darkest
    assert min(c[5] for c in cells) == "#08519c"


def test_bars_show_at_most_fifteen_and_chinese_names():
    canvas = charts.draw(_bars(), "bars", 2)
    assert sum(1 for s in canvas.shapes if s[0] == "rect") == charts.MAX_BARS
    assert any("可口可乐 0" in s[3] for s in canvas.shapes if s[0] == "text")


def test_bad_chart_requests_are_refused(tmp_path):
    with pytest.raises(InputError, match="must end in .png or .svg"):
        charts.save(_trend(), "trend", tmp_path / "c.jpg", 2)
    with pytest.raises(InputError, match="has no chart"):
        charts.save(_trend(), None, tmp_path / "c.png", 2)
    assert not list(tmp_path.iterdir())
