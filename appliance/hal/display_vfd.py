"""A 2x20 VFD customer display on a serial port, in the Epson or the CD5220 command set.

    serial:///dev/ttyUSB2?cmdset=epson                    Epson DM-D and its clones
    serial:///dev/ttyUSB2?cmdset=cd5220&charset=gb18030   CD5220 clones with a Chinese font

Commands (Epson DM-D110 specification section 5; the "EPSON Command Mode" and "CD5220
Command Mode" tables of the POSX XP8200 and CD5220 user manuals):

- epson: ESC @ initialise, US MD1 (1F 01) overwrite mode, US C 0 cursor off; a frame is
  US $ 1 row (1F 24 x y) then 20 characters for each row.
- cd5220: CLR (0C, which also leaves string mode) and ESC @ initialise; a frame is ESC Q A + 20 characters + CR (upper line) and
  ESC Q B + 20 characters + CR (lower line). ESC Q D + text + CR scrolls the upper line in
  hardware until the next command.

Every line is sent padded to exactly 20 columns, so a frame overwrites the last one whole
and never needs a flickering clear. Text is reduced to what the display's font can show:
ASCII, or with charset=gb18030 also the double-width GB2312 characters, each taking two
columns; the rest (and any control character, which would be a command) becomes '?'.
"""

from __future__ import annotations

from appliance.hal.address import Address
from appliance.hal.base import CustomerDisplay
from appliance.hal.errors import DeviceConfigError
from appliance.hal.transports import SERIAL_OPTIONS, SerialTransport

ESC, US, CR = b"\x1b", b"\x1f", b"\r"
SCROLL_MAX = 39  # characters in one CD5220 ESC Q D message ("m < 40" in its command table)


def encode(text: str, limit: int, charset: str) -> bytes:
    """`text` in the display's code page, cut to at most `limit` columns (never mid-character)."""
    out = bytearray()
    for char in text:
        cell = _cell(char, charset)
        if len(out) + len(cell) > limit:
            break
        out += cell
    return bytes(out)


def fit(text: str, width: int, charset: str) -> bytes:
    """`text` in the display's code page, cut or space-padded to exactly `width` columns."""
    return encode(text, width, charset).ljust(width, b" ")


def _cell(char: str, charset: str) -> bytes:
    """The bytes of one character; on these displays a character is as wide as its encoding."""
    if not char.isprintable():
        return b"?"
    if char.isascii():
        return char.encode("ascii")
    if charset == "gb18030":
        encoded = char.encode("gb18030")
        if len(encoded) == 2:  # the double-byte range; 4-byte codes are beyond the display's font
            return encoded
    return b"?"


class VfdDisplay(CustomerDisplay):
    options = SERIAL_OPTIONS | {"cmdset", "charset"}

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.cmdset = address.param("cmdset", "epson")
        if self.cmdset not in ("epson", "cd5220"):
            raise DeviceConfigError(f"cmdset={self.cmdset} in {address.raw!r} must be epson or cd5220 (see the display's DIP switches)")
        self.charset = address.param("charset", "ascii")
        if self.charset not in ("ascii", "gb18030"):
            raise DeviceConfigError(f"charset={self.charset} in {address.raw!r} must be ascii or gb18030")
        self.transport = SerialTransport(name, address)
        self.info = f"{self.rows}x{self.columns} VFD ({self.cmdset} commands, {self.charset})"

    def open(self) -> None:
        """Connect and reset the display, so no mode left by another program survives."""
        self.transport.open()
        if self.cmdset == "epson":
            self.transport.write(ESC + b"@" + US + b"\x01" + US + b"C\x00")
        else:
            self.transport.write(b"\x0c" + ESC + b"@")  # CLR first: in string mode ESC @ is not taken

    def close(self) -> None:
        self.transport.close()

    def show(self, lines: tuple[str, ...]) -> None:
        rows = [fit(line, self.columns, self.charset) for line in (tuple(lines) + ("", ""))[: self.rows]]
        if self.cmdset == "epson":
            data = b"".join(US + b"$" + bytes((1, row)) + text for row, text in enumerate(rows, start=1))
        else:
            data = ESC + b"QA" + rows[0] + CR + ESC + b"QB" + rows[1] + CR
        self.transport.write(data)

    def show_scrolling(self, text: str, lower: str = "") -> None:
        """The idle frame: `text` moving along the upper line, `lower` still below it.

        The CD5220 set scrolls in the display itself (ESC Q D), so nothing runs on the
        terminal. The Epson set has no free-running scroll, so there the upper line shows
        the first 20 columns still; an idle screen does not need animating frame by frame.
        """
        if self.cmdset == "epson":
            self.show((text, lower))
            return
        message = encode(text, SCROLL_MAX, self.charset)
        self.transport.write(ESC + b"QB" + fit(lower, self.columns, self.charset) + CR + ESC + b"QD" + message + CR)
