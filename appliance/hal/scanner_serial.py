"""A barcode scanner on a serial port (RS-232 or a USB-serial "COM emulation" mode).

    serial:///dev/ttyACM0?baudrate=9600&terminator=CR&prefix=0x02&aim=1

Scanners frame each code with a suffix the technician programs into them (CR by
default); some send none, so a pause ends the code. Whatever comes off the wire is
untrusted: a bad cable, a wrong baud rate or a scanner in the wrong mode produce
garbage, which is dropped with a warning (naming only its length) so a sale never stops
for it. A failing port raises DeviceIOError and the manager reconnects.
"""

from __future__ import annotations

import logging
import threading

from appliance.hal.address import Address
from appliance.hal.base import Emit, Scanner
from appliance.hal.errors import DeviceConfigError
from appliance.hal.events import Scanned
from appliance.hal.transports import SERIAL_OPTIONS, SerialTransport

log = logging.getLogger(__name__)

TERMINATORS: dict[str, bytes | None] = {
    "CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t", "ETX": b"\x03", "NONE": None,
}
MAX_CODE = 200  # characters; longer is line noise or a scanner stuck in a loop
MAX_PENDING = 1024  # bytes without a terminator before the buffer is given up
POLL = 0.05  # seconds between looks at the stop flag
GS = "\x1d"  # GS1 FNC1 as scanners transmit it inside GS1-128 / GS1 DataMatrix codes

# AIM symbology identifiers (ISO/IEC 15424): "]" + code character + modifier.
AIM_CODES = {
    "A": "Code39", "C": "Code128", "E": "EAN/UPC", "F": "Codabar", "G": "Code93", "H": "Code11",
    "I": "ITF", "L": "PDF417", "M": "MSI", "Q": "QR", "S": "Industrial2of5", "R": "Straight2of5",
    "U": "MaxiCode", "d": "DataMatrix", "e": "GS1-DataBar", "z": "Aztec", "X": "Other",
}
AIM_MODIFIED = {
    "C1": "GS1-128",  # FNC1 in the first position
    "E4": "EAN-8",
    "E3": "EAN/UPC+add-on",
    "d2": "GS1-DataMatrix",
    "Q3": "GS1-QR",
}
E0_BY_LENGTH = {13: "EAN-13", 12: "UPC-A", 8: "UPC-E"}  # ]E0 covers the whole EAN/UPC family


def option_bytes(name: str, text: str, address: Address) -> bytes:
    """An option given as literal text, or as hex bytes after 0x (prefix=0x02 is STX)."""
    if text[:2].lower() != "0x":
        return text.encode("utf-8")
    try:
        value = bytes.fromhex(text[2:])
    except ValueError:
        value = b""
    if not value:
        raise DeviceConfigError(f"{name}={text} in {address.raw!r} must be hex bytes after 0x, like 0x02 or 0x0d0a")
    return value


def decode_aim(code: str) -> tuple[str, str]:
    """(symbology, code without its AIM identifier); ("", code) when it carries none."""
    if len(code) < 3 or code[0] != "]" or code[1] not in AIM_CODES or not code[2].isalnum():
        return "", code
    ident, data = code[1:3], code[3:]
    if ident == "E0":
        return E0_BY_LENGTH.get(len(data), "EAN/UPC"), data
    return AIM_MODIFIED.get(ident, AIM_CODES[ident[0]]), data


class SerialScanner(Scanner):
    options = SERIAL_OPTIONS | {"terminator", "gap_ms", "prefix", "suffix", "aim"}

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        key = (address.param("terminator", "CR") or "").upper()
        if key not in TERMINATORS:
            raise DeviceConfigError(
                f"terminator={address.param('terminator')} in {address.raw!r} must be one of CR, LF, CRLF, TAB, ETX, none"
            )
        self.terminator = TERMINATORS[key]
        if self.terminator is not None and "gap_ms" in address.params:
            raise DeviceConfigError(f"gap_ms in {address.raw!r} only applies with terminator=none")
        self.gap = address.int_param("gap_ms", 50, 10, 1000) / 1000
        self.prefix = option_bytes("prefix", address.param("prefix") or "", address)
        self.suffix = option_bytes("suffix", address.param("suffix") or "", address)
        aim = address.param("aim", "0")
        if aim not in ("0", "1"):
            raise DeviceConfigError(f"aim={aim} in {address.raw!r} must be 0 or 1")
        self.aim = aim == "1"
        self.transport = SerialTransport(name, address)
        self.info = f"serial scanner on {address.target} (terminator {key.lower()})"

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def run(self, emit: Emit, stop: threading.Event) -> None:
        buffer = bytearray()
        discarding = False  # inside an over-long run: skip to the next terminator
        wait = self.gap if self.terminator is None else POLL
        while not stop.is_set():
            chunk = self.transport.read(256, wait)
            if self.terminator is None:
                if chunk:
                    buffer += chunk
                elif buffer:  # a pause of gap_ms ends the code
                    if not discarding:
                        self._deliver(bytes(buffer), emit)
                    buffer.clear()
                    discarding = False
            else:
                buffer += chunk
                while (end := buffer.find(self.terminator)) >= 0:
                    frame = bytes(buffer[:end])
                    del buffer[: end + len(self.terminator)]
                    if not discarding:
                        self._deliver(frame, emit)
                    discarding = False
            if len(buffer) > MAX_PENDING:
                log.warning("%s: dropped %d bytes with no end of code: check the terminator setting", self.name, len(buffer))
                buffer.clear()
                discarding = True

    def _deliver(self, frame: bytes, emit: Emit) -> None:
        scanned = self.decode(frame)
        if scanned is not None:
            emit(scanned)

    def decode(self, frame: bytes) -> Scanned | None:
        """The event for one framed code, or None (with a warning) for garbage."""
        frame = frame.lstrip(b"\r\n")  # a CRLF scanner on a CR setting leaves its LF at the front
        if not frame:
            return None
        if self.prefix and frame.startswith(self.prefix):
            frame = frame[len(self.prefix):]
        if self.suffix and frame.endswith(self.suffix):
            frame = frame[: -len(self.suffix)]
        try:
            code = frame.decode("utf-8")
        except UnicodeDecodeError:
            return self._drop("is not valid text (wrong baud rate?)", len(frame))
        symbology = ""
        if self.aim:
            symbology, code = decode_aim(code)
        if not code:
            return self._drop("holds no code after its prefix and symbology identifier", len(frame))
        if len(code) > MAX_CODE:
            return self._drop(f"is longer than {MAX_CODE} characters", len(frame))
        if not all(ch.isprintable() or ch == GS for ch in code):
            return self._drop("holds control characters (wrong baud rate or terminator?)", len(frame))
        return Scanned(self.name, code=code, symbology=symbology)

    def _drop(self, why: str, size: int) -> None:
        log.warning("%s: dropped a scan of %d bytes that %s", self.name, size, why)
        return None
