"""The VFD customer display over a real pseudo-terminal: the exact bytes of each command set.

Golden files under tests/fixtures/vfd/ hold, per step, a comment naming the step and the
bytes the display received, in hex. Set UPDATE_GOLDEN=1 to rewrite them after an intended
change, then read the diff: it is what the display will be sent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.hal.display_vfd import fit
from tests.serial_pty import build, pty  # noqa: F401  (fixtures)

FIXTURES = Path(__file__).parent / "fixtures" / "vfd"

SESSION = [
    ("a sale line", ("Cola 330ml", "2 x 3.50      7.00")),
    ("a total, lines padded", ("TOTAL", "12.50")),
    ("one line: the lower row is blanked", ("Thank you",)),
    ("cut at 20 columns", ("A product name longer than twenty", "0123456789012345678901")),
    ("non-ASCII and a control character become ?", ("Caf\u00e9 cr\u00e8me", "bad\x1bcommand")),
]
CHINESE = [
    ("GB2312 characters take two columns", ("\u5408\u8ba1", "\uffe5" + "12.50")),
    ("a double-width character never straddles column 20", ("a" + "\u53ef\u53e3\u53ef\u4e50" * 3, "\u00a5 and emoji \U0001f600")),
]


def _golden(name: str, text: str) -> None:
    path = FIXTURES / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_GOLDEN=1 to accept"


def _record(pty, display, steps) -> str:
    """Each step's bytes as the display received them, in hex under the step's name."""
    out = [f"# open\n{pty.received().hex(' ')}\n"]
    for title, lines in steps:
        display.show(lines)
        out.append(f"# {title}: {lines!r}\n{pty.received().hex(' ')}\n")
    display.show_scrolling("Welcome - scan your first item", "OPEN")
    out.append(f"# idle: scrolling message\n{pty.received().hex(' ')}\n")
    return "".join(out)


@pytest.mark.parametrize("cmdset", ["epson", "cd5220"])
def test_command_set_bytes_match_the_golden_file(pty, build, cmdset):
    display = build("vfd", "display", pty.url(f"cmdset={cmdset}"))
    _golden(f"{cmdset}.hex", _record(pty, display, SESSION))


@pytest.mark.parametrize("cmdset", ["epson", "cd5220"])
def test_chinese_charset_bytes_match_the_golden_file(pty, build, cmdset):
    display = build("vfd", "display", pty.url(f"cmdset={cmdset}&charset=gb18030"))
    _golden(f"{cmdset}_gb18030.hex", _record(pty, display, CHINESE))


def test_epson_frame_positions_each_row_then_writes_20_columns(pty, build):
    display = build("vfd", "display", pty.url("cmdset=epson"))
    assert pty.received() == b"\x1b@\x1f\x01\x1fC\x00"
    display.show(("TOTAL", "12.50"))
    assert pty.received() == b"\x1f$\x01\x01TOTAL" + b" " * 15 + b"\x1f$\x01\x0212.50" + b" " * 15


def test_cd5220_frame_uses_string_mode_lines_and_hardware_scroll(pty, build):
    display = build("vfd", "display", pty.url("cmdset=cd5220"))
    assert pty.received() == b"\x0c\x1b@"
    display.show(("TOTAL", "12.50"))
    assert pty.received() == b"\x1bQATOTAL" + b" " * 15 + b"\r\x1bQB12.50" + b" " * 15 + b"\r"
    display.show_scrolling("x" * 50)
    assert pty.received() == b"\x1bQB" + b" " * 20 + b"\r\x1bQD" + b"x" * 39 + b"\r"


@pytest.mark.parametrize(("text", "charset", "expected"), [
    ("12.50", "ascii", b"12.50     "),
    ("\u00e9t\u00e9", "ascii", b"?t?       "),
    ("\u5408\u8ba1", "ascii", b"??        "),
    ("\u5408\u8ba1", "gb18030", "\u5408\u8ba1".encode("gb18030") + b"      "),
    ("a\u5408\u8ba1\u5408\u8ba1\u5408", "gb18030", b"a" + "\u5408\u8ba1\u5408\u8ba1".encode("gb18030") + b" "),
    ("tab\there", "ascii", b"tab?here  "),
])
def test_fit_gives_exactly_the_width_in_the_displays_code_page(text, charset, expected):
    assert fit(text, 10, charset) == expected
