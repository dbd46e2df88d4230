"""Simulated output devices that record what they were told, with timestamps.

The printer keeps every byte (render it with appliance.display.escpos_render) and can
run out of paper, open its cover, or stop after N bytes like a real one mid-receipt.
"""

from __future__ import annotations

import time

from appliance.hal.address import Address
from appliance.hal.base import CashDrawer, CustomerDisplay, Indicator, Printer, PrinterStatus
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable

PAPER = {"58": (32, 384), "80": (48, 576)}  # mm: (columns, dots)


class SimPrinter(Printer):
    options = frozenset({"paper", "chinese"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        paper = address.param("paper", "80")
        if paper not in PAPER:
            raise DeviceConfigError(f"paper={paper} must be 58 or 80 (mm)")
        self.columns, self.dots = PAPER[paper]
        self.chinese = address.param("chinese", "1") == "1"
        self.info = f"simulated {paper} mm printer"
        self.output = bytearray()
        self.jobs: list[bytes] = []  # each completed write
        self.plugged = True
        self.paper = "ok"
        self.cover_open = False
        self.fail_after: int | None = None  # stop after this many more bytes

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=self.plugged, paper=self.paper, cover_open=self.cover_open)

    def write(self, data: bytes) -> None:
        if not self.plugged:
            raise DeviceUnavailable("unplugged (simulated)", device=self.name)
        if self.paper == "out" or self.cover_open:
            raise DeviceIOError("paper out or cover open", device=self.name, code="paper_out")
        if self.fail_after is not None and len(data) > self.fail_after:
            self.output += data[: self.fail_after]
            self.fail_after = None
            self.paper = "out"
            raise DeviceIOError("stopped mid-receipt (simulated paper out)", device=self.name, code="paper_out")
        if self.fail_after is not None:
            self.fail_after -= len(data)
        self.output += data
        self.jobs.append(bytes(data))


class SimDrawer(CashDrawer):
    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.info = "simulated drawer with sensor"
        self.opened = False
        self.kicks: list[float] = []

    def kick(self) -> None:
        self.kicks.append(time.monotonic())
        self.opened = True

    def close_by_hand(self) -> None:
        self.opened = False

    def is_open(self) -> bool | None:
        return self.opened


class SimDisplay(CustomerDisplay):
    options = frozenset({"columns", "rows"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.columns = address.int_param("columns", 20, 8, 80)
        self.rows = address.int_param("rows", 2, 1, 4)
        self.info = f"simulated {self.rows}x{self.columns} display"
        self.frames: list[tuple[str, ...]] = []

    def show(self, lines: tuple[str, ...]) -> None:
        self.frames.append(tuple(line[: self.columns] for line in lines[: self.rows]))

    @property
    def current(self) -> tuple[str, ...]:
        return self.frames[-1] if self.frames else ()


class SimIndicator(Indicator):
    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.info = "simulated LED and buzzer"
        self.history: list[tuple[float, str]] = []

    def signal(self, pattern: str) -> None:
        self.history.append((time.monotonic(), pattern))
