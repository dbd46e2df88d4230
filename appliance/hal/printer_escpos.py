"""ESC/POS receipt printers on serial, USB, network and device-file connections.

The receipt bytes come ready from appliance.display.escpos; this driver moves them and
asks the printer for its state with the real-time status command (DLE EOT n, Epson
ESC/POS reference): n=1 online, n=2 cover, n=4 roll paper near end / out. The printer's
width and columns come from a python-escpos capability profile (`profile=TM-T20II`) or
from `paper=58|80`.
"""

from __future__ import annotations

import logging

from appliance.hal.address import Address
from appliance.hal.base import Printer, PrinterStatus
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable, HalError
from appliance.hal.transports import OPTIONS, Transport, for_address

log = logging.getLogger(__name__)

PAPER = {"58": (32, 384), "80": (48, 576)}  # mm: (columns in font A, printable dots)
DLE_EOT = b"\x10\x04"
CHUNK = 4096  # bytes per write, so a printer that stops mid-job is noticed within one chunk


def profile_size(name: str) -> tuple[int, int]:
    """(columns, dots) of a python-escpos capability profile."""
    from escpos import capabilities

    profiles = capabilities.CAPABILITIES["profiles"]
    if name not in profiles:
        sample = ", ".join(sorted(profiles)[:12])
        raise DeviceConfigError(f"unknown printer profile {name!r}; known profiles include {sample}, ...")
    data = profiles[name]
    try:
        return int(data["fonts"]["0"]["columns"]), int(data["media"]["width"]["pixels"])
    except (KeyError, TypeError, ValueError):
        raise DeviceConfigError(f"profile {name!r} does not state its paper width; give paper=58 or paper=80") from None


def _status_byte(byte: int) -> bool:
    """Every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear; anything else is noise."""
    return byte & 0x93 == 0x12


class EscposPrinter(Printer):
    def __init__(self, name: str, address: Address):
        self.options = frozenset({"profile", "paper", "chinese", "status"}) | OPTIONS[address.scheme]
        super().__init__(name, address)
        profile = address.param("profile")
        paper = address.param("paper")
        if paper is not None and paper not in PAPER:
            raise DeviceConfigError(f"paper={paper} must be 58 or 80 (mm)")
        self.columns, self.dots = profile_size(profile) if profile else PAPER[paper or "80"]
        self.chinese = address.param("chinese", "0") == "1"
        self.query_status = address.param("status", "0" if address.scheme == "file" else "1") == "1"
        self.info = f"{profile or (paper or '80') + ' mm'} ESC/POS, {self.columns} columns"
        self.transport: Transport = for_address(name, address)
        self.opened = False

    def open(self) -> None:
        self.transport.open()
        self.opened = True

    def close(self) -> None:
        self.transport.close()
        self.opened = False

    def _ensure_open(self) -> None:
        if not self.opened:
            self.open()

    def write(self, data: bytes) -> None:
        """DeviceUnavailable: nothing was sent (print later); DeviceIOError: stopped part-way."""
        self._ensure_open()
        for start in range(0, len(data), CHUNK):
            try:
                self.transport.write(data[start : start + CHUNK])
            except HalError:
                self.close()  # reopen on the next job: the cable may have been replugged
                raise

    def _ask(self, n: int) -> int | None:
        self.transport.write(DLE_EOT + bytes([n]))
        answer = self.transport.read(1, timeout=0.5)
        if not answer:
            return None
        if not _status_byte(answer[0]):
            raise DeviceIOError(f"the printer answered DLE EOT {n} with 0x{answer[0]:02X}, not a status byte",
                                device=self.name, code="garbage")
        return answer[0]

    def status(self) -> PrinterStatus:
        """Online, cover and paper as the printer reports them; a printer that cannot answer is 'unknown'."""
        try:
            self._ensure_open()
        except DeviceUnavailable:
            return PrinterStatus(online=False, paper="unknown")
        if not self.query_status:
            return PrinterStatus(online=True, paper="unknown")
        try:
            online_byte = self._ask(1)
            if online_byte is None:
                return PrinterStatus(online=False, paper="unknown")
            cause = self._ask(2) or 0x12
            roll = self._ask(4) or 0x12
        except HalError as exc:
            log.warning("printer %s status query failed: %s", self.name, exc)
            self.close()
            return PrinterStatus(online=False, paper="unknown")
        paper = "out" if roll & 0x60 else "near_end" if roll & 0x0C else "ok"
        return PrinterStatus(online=not online_byte & 0x08, paper=paper, cover_open=bool(cause & 0x04))

    def drawer_open(self) -> bool | None:
        """The drawer switch on the kick-out connector (DLE EOT 1, bit 2); None when the printer cannot say."""
        if not self.query_status:
            return None
        self._ensure_open()
        answer = self._ask(1)
        return None if answer is None else bool(answer & 0x04)

    def probe(self) -> str:
        status = self.status()
        if not status.online:
            raise DeviceUnavailable("the printer does not answer", device=self.name)
        return f"{self.info}; paper {status.paper}{', cover open' if status.cover_open else ''}"
