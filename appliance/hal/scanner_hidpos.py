"""A USB bar code scanner in HID POS mode, read through pyusb (`usb://05e0:1200?interface=0`).

In HID POS mode (USB-IF "HID Point of Sale Usage Tables" 1.02, usage page 0x8C Bar Code
Scanner) a scanner sends each code as Scanned Data Reports (usage 0x8C:0x12) on its
interrupt IN endpoint: whole, with its symbology, and never through the keyboard layer.
The report, as Honeywell's report descriptor declares it:

    byte 0      report id 0x02
    byte 1      byte count: how many Decoded Data bytes this report carries (Generic Desktop 0x3B)
    bytes 2-4   Symbology Identifier 1-3 (0x8C:0xFB-0xFD): the AIM identifier, "]E0" for EAN-13
    bytes 5-60  Decoded Data (0x8C:0xFE), 56 bytes, zero padded after the byte count
    61-62       (Honeywell only: its own code id and a spare byte)
    last byte   bit 0: Decode Data Continued (0x8C:0xFF): the next report carries more of this code

So the flag is byte 61 of a 62-byte report and byte 63 of Honeywell's 64-byte one. Codes
longer than 56 bytes (2D codes) come as several reports and are joined here. A code
whose continuation never comes within GAP_S is dropped, not sent truncated: half a code
could name another product.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from appliance.hal.address import Address
from appliance.hal.base import Emit, Scanner
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from appliance.hal.events import Scanned

log = logging.getLogger(__name__)

REPORT_ID = 0x02  # the Scanned Data Report
DATA = 5  # where Decoded Data starts
DATA_SIZE = 56
FLAG_REPORT_SIZE = 62  # reports at least this long end with the Decode Data Continued byte
BAR_CODE_SCANNER_PAGE = 0x8C
HID_CLASS = 3
POLL_MS = 100  # how long one read waits, so the loop sees its stop flag
GAP_S = 0.5  # the longest wait for the rest of a code


def usage_pages(descriptor: bytes) -> set[int]:
    """The usage pages a HID report descriptor names (HID 1.11 section 6.2.2).

    Short items are one prefix byte (tag, type, size 0/1/2/4) and their data; a Usage
    Page item is global tag 0, and a four-byte Usage item carries its page in the high half.
    Long items (prefix 0xFE) are skipped.
    """
    pages: set[int] = set()
    i = 0
    while i < len(descriptor):
        prefix = descriptor[i]
        if prefix == 0xFE:
            i += 3 + (descriptor[i + 1] if i + 1 < len(descriptor) else 0)
            continue
        size = (0, 1, 2, 4)[prefix & 0x03]
        value = int.from_bytes(descriptor[i + 1 : i + 1 + size], "little")
        if prefix & 0xFC == 0x04:  # Usage Page
            pages.add(value)
        elif prefix & 0xFC == 0x08 and size == 4:  # extended Usage: page << 16 | id
            pages.add(value >> 16)
        i += 1 + size
    return pages


@dataclass(frozen=True)
class Part:
    """What one Scanned Data Report carries."""

    data: bytes
    symbology: str
    continued: bool


def parse_report(report: bytes) -> Part | None:
    """One Scanned Data Report; None for reports of other kinds; ValueError when malformed."""
    if not report or report[0] != REPORT_ID:
        return None
    if len(report) < DATA:
        raise ValueError(f"a scanned data report of {len(report)} bytes is too short for its header")
    count = report[1]
    room = min(DATA_SIZE, len(report) - DATA)
    if count > room:
        raise ValueError(f"byte count {count} is more than the {room} data bytes the report holds")
    ident = report[2:DATA]
    aim = ident[:1] == b"]" and all(0x21 <= b < 0x7F for b in ident)
    continued = len(report) >= FLAG_REPORT_SIZE and bool(report[-1] & 0x01)
    return Part(report[DATA : DATA + count], ident.decode("ascii") if aim else "", continued)


def decode(data: bytes) -> str:
    """A code's text: UTF-8 where it is (QR codes), else byte for byte; a CR/LF suffix taken off."""
    data = data.rstrip(b"\r\n")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class Assembler:
    """Joins the reports of one code; `expire` drops a code whose rest has not come."""

    def __init__(self, device: str, gap_s: float = GAP_S):
        self.device = device
        self.gap_s = gap_s
        self._parts: list[bytes] = []
        self._symbology = ""
        self._last = 0.0

    def add(self, report: bytes, now: float) -> tuple[str, str] | None:
        """(code, symbology) when `report` completes a code."""
        try:
            part = parse_report(report)
        except ValueError as exc:
            log.warning("%s: ignored a malformed report (%s): %s", self.device, exc, report.hex(" "))
            self._parts.clear()
            return None
        if part is None:
            log.debug("%s: ignored report id %#04x", self.device, report[0] if report else -1)
            return None
        if not self._parts:
            self._symbology = part.symbology
        self._parts.append(part.data)
        self._last = now
        if part.continued:
            return None
        code = decode(b"".join(self._parts))
        self._parts.clear()
        return (code, self._symbology) if code else None

    def expire(self, now: float) -> None:
        if self._parts and now - self._last > self.gap_s:
            log.warning("%s: dropped %d bytes of a code whose last report never came",
                        self.device, sum(map(len, self._parts)))
            self._parts.clear()


class HidPosScanner(Scanner):
    options = frozenset({"interface"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        vid, _, pid = address.target.partition(":")
        self.vid, self.pid = int(vid, 16), int(pid, 16)
        self.interface = address.int_param("interface", 0, 0, 15)
        self.usb_id = f"{self.vid:04x}:{self.pid:04x}"
        self._handle: Any = None
        self._endpoint: Any = None
        self._detached = False

    def open(self) -> None:
        try:
            handle = usb.core.find(idVendor=self.vid, idProduct=self.pid)
        except usb.core.NoBackendError as exc:
            raise DeviceUnavailable("no USB backend (libusb-1.0 missing)", device=self.name) from exc
        if handle is None:
            raise DeviceUnavailable(f"no USB device {self.usb_id} is plugged in", device=self.name)
        try:
            endpoint = self._claim(handle)
            descriptor = bytes(handle.ctrl_transfer(0x81, 0x06, 0x2200, self.interface, 4096, timeout=1000))
        except usb.core.USBError as exc:
            self._give_back(handle)
            raise DeviceUnavailable(f"cannot claim USB device {self.usb_id}: {exc}", device=self.name) from exc
        except BaseException:
            self._give_back(handle)
            raise
        if BAR_CODE_SCANNER_PAGE not in usage_pages(descriptor):
            self._give_back(handle)
            raise DeviceUnavailable(
                f"interface {self.interface} of {self.usb_id} is not a HID POS bar code scanner (no usage page 0x8C): "
                "scan the scanner's 'USB HID POS' programming code, or read it in keyboard mode with evdev://",
                device=self.name,
            )
        self._handle, self._endpoint = handle, endpoint
        self.info = f"HID POS scanner {self.usb_id}"

    def _claim(self, handle: Any) -> Any:
        """Take the interface from the kernel's HID driver; its interrupt IN endpoint."""
        self._detached = bool(handle.is_kernel_driver_active(self.interface))
        if self._detached:
            handle.detach_kernel_driver(self.interface)
        try:
            config = handle.get_active_configuration()
        except usb.core.USBError:  # not configured yet
            handle.set_configuration()
            config = handle.get_active_configuration()
        interface = usb.util.find_descriptor(config, bInterfaceNumber=self.interface, bAlternateSetting=0)
        if interface is None:
            raise DeviceConfigError(f"{self.usb_id} has no interface {self.interface}", device=self.name)
        if interface.bInterfaceClass != HID_CLASS:
            raise DeviceConfigError(f"interface {self.interface} of {self.usb_id} is not HID "
                                    f"(class {interface.bInterfaceClass}); try another interface=", device=self.name)
        endpoint = usb.util.find_descriptor(interface, custom_match=lambda ep: (
            usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN
            and usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR))
        if endpoint is None:
            raise DeviceUnavailable(f"interface {self.interface} of {self.usb_id} has no interrupt IN endpoint",
                                    device=self.name)
        usb.util.claim_interface(handle, self.interface)
        return endpoint

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._give_back(handle)

    def _give_back(self, handle: Any) -> None:
        """Release the interface and return it to the kernel, as far as a device still there allows."""
        with contextlib.suppress(usb.core.USBError):
            usb.util.release_interface(handle, self.interface)
        if self._detached:
            with contextlib.suppress(usb.core.USBError):
                handle.attach_kernel_driver(self.interface)
        usb.util.dispose_resources(handle)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        handle, endpoint = self._handle, self._endpoint
        if handle is None:
            raise DeviceUnavailable("not open", device=self.name)
        codes = Assembler(self.name)
        while not stop.is_set():
            try:
                report = bytes(handle.read(endpoint.bEndpointAddress, endpoint.wMaxPacketSize, timeout=POLL_MS))
            except usb.core.USBTimeoutError:
                codes.expire(time.monotonic())  # no scan is not an error
                continue
            except usb.core.USBError as exc:
                if exc.errno == errno.ENODEV:
                    raise DeviceIOError(f"{self.usb_id} has gone (unplugged?)", device=self.name, code="gone") from exc
                raise DeviceIOError(f"reading {self.usb_id} failed: {exc}", device=self.name) from exc
            scanned = codes.add(report, time.monotonic())
            if scanned is not None:
                emit(Scanned(self.name, code=scanned[0], symbology=scanned[1]))
