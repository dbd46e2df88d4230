"""A matrix keypad on GPIO pins, scanned column by column (`gpio://keypad?rows=5,6,13,19&cols=12,16,20`).

Each scan drives one column low at a time and reads the rows, which have pull-ups: a row
that reads low has a closed key at that row and column. A key counts as pressed (or
released) only after `debounce_ms` of agreeing scans, so contact chatter gives neither a
missed nor a doubled key, and holding a key gives one key: there is no auto-repeat,
because a repeated "0" in an amount is money.

Key names come from `layout=` (rows separated by "/", keys by ","), or for 4 rows of 3 or
4 columns from the usual layout: 1 2 3 / 4 5 6 / 7 8 9 / CLEAR 0 ENTER, with F1..F4 down
a fourth column.
"""

from __future__ import annotations

import math
import re
import threading

from appliance.hal.address import Address
from appliance.hal.base import Emit, Keypad
from appliance.hal.errors import DeviceConfigError
from appliance.hal.gpio_pins import Debouncer, Pins, check_distinct, pin_list_option

DEFAULT_LAYOUT = (
    ("1", "2", "3", "F1"),
    ("4", "5", "6", "F2"),
    ("7", "8", "9", "F3"),
    ("CLEAR", "0", "ENTER", "F4"),
)
KEY_NAME = re.compile(r"[0-9A-Z.]{1,8}")  # the names KeyPressed documents: "0", "00", ".", "ENTER", "F1"


def parse_layout(address: Address, rows: int, cols: int) -> tuple[tuple[str, ...], ...]:
    """The key name at each (row, column), checked against the wiring."""
    text = address.param("layout")
    if text is None:
        if rows == len(DEFAULT_LAYOUT) and cols in (3, 4):
            return tuple(row[:cols] for row in DEFAULT_LAYOUT)
        raise DeviceConfigError(
            f"{address.raw!r} has {rows} rows and {cols} columns; give layout= with the key names, "
            "rows separated by / and keys by , (like layout=1,2,3/4,5,6/7,8,9/CLEAR,0,ENTER)"
        )
    layout = tuple(tuple(key.strip().upper() for key in row.split(",")) for row in text.split("/"))
    if len(layout) != rows or any(len(row) != cols for row in layout):
        raise DeviceConfigError(f"layout= in {address.raw!r} must have {rows} rows of {cols} keys, like the wiring")
    names = [key for row in layout for key in row]
    for key in names:
        if not KEY_NAME.fullmatch(key):
            raise DeviceConfigError(f"key name {key!r} in {address.raw!r} must be 1-8 of 0-9, A-Z and '.'")
    duplicates = sorted({key for key in names if names.count(key) > 1})
    if duplicates:
        raise DeviceConfigError(f"key {duplicates[0]!r} appears twice in the layout of {address.raw!r}")
    return layout


class GpioKeypad(Keypad):
    options = frozenset({"rows", "cols", "layout", "debounce_ms", "scan_ms"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.rows = pin_list_option(address, "rows")
        self.cols = pin_list_option(address, "cols")
        check_distinct(address, {"rows": self.rows, "cols": self.cols})
        self.layout = parse_layout(address, len(self.rows), len(self.cols))
        scan_ms = address.int_param("scan_ms", 5, 1, 50)
        debounce_ms = address.int_param("debounce_ms", 15, 0, 200)
        self.scan_s = scan_ms / 1000
        self.scans_needed = max(1, math.ceil(debounce_ms / scan_ms))
        self.pins = Pins(name)
        self.info = f"{len(self.rows)}x{len(self.cols)} matrix keypad on GPIO"

    def open(self) -> None:
        self.pins.open()
        try:
            for col in self.cols:
                self.pins.setup_output(col, True)  # idle high: no column selected
            for row in self.rows:
                self.pins.setup_input(row, pull_up=True)
        except BaseException:
            self.pins.close()
            raise

    def close(self) -> None:
        super().close()
        self.pins.close()


    def run(self, emit: Emit, stop: threading.Event) -> None:
        switches = {(r, c): Debouncer(self.scans_needed) for r in range(len(self.rows)) for c in range(len(self.cols))}
        while not stop.is_set():
            closed = self._scan()
            for (r, c), switch in switches.items():
                if switch.update((r, c) in closed) and switch.state:
                    event = self.keys.key(self.layout[r][c])
                    if event is not None:
                        emit(event)
            stop.wait(self.scan_s)

    def _scan(self) -> set[tuple[int, int]]:
        """The (row, column) of every key that reads closed right now."""
        closed = set()
        for c, col in enumerate(self.cols):
            self.pins.write(col, False)
            try:
                for r, row in enumerate(self.rows):
                    if not self.pins.read(row):
                        closed.add((r, c))
            finally:
                self.pins.write(col, True)
        return closed
