"""A retail scale on a serial port, polled with the Mettler Toledo 8213/8217 or the NCI protocol.

    serial:///dev/ttyUSB1?protocol=toledo8217&unit=kg     (9600 baud 7E1 unless the address says otherwise)
    serial:///dev/ttyUSB1?protocol=nci

Both protocols are request/answer: the terminal asks, the scale answers once. Sources
for the frames:

- toledo8217: METTLER TOLEDO DIVA Service Manual (72191202), the Toledo "Command
  Descriptions" and "Scale Status Byte Bit Definitions" (6.1.3.2, 6.1.4.3), and Toledo8217Protocol
  of Odoo's hw_scale driver (addons/hw_scale/controllers/main.py). 'W' is answered with
  STX + weight digits with a decimal point (+ 'N' when net) + CR, or, when the scale is in
  motion, under zero or over capacity, with STX '?' + one status byte + CR. 'Z' (zero) and
  'T' (tare) are answered with the status frame. The frame carries no unit: `unit=kg|lb`
  says what the scale is set to.
- nci: the NCI general serial protocol (Avery Weigh-Tronix SCP-01; as printed in the
  Weigh-Tronix 7821 User Instructions section 6.3, the DIVA Service Manual's NCI pages
  and the Ohaus Aviator 7000 service manual's status byte table). "W<CR>" is answered
  with LF weight+unit CR LF status-bytes CR ETX, or LF status-bytes CR ETX alone; "Z<CR>"
  with the status. SCP-01 has no tare command, so `tare()` says so.

Bytes are taken as 7-bit (the parity bit masked) because both protocols are 7E1 and a port
left at 8N1 would otherwise read the parity bit as bit 7 of the characters.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from appliance.hal.address import Address
from appliance.hal.base import Scale
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceTimeout
from appliance.hal.transports import SERIAL_OPTIONS, SerialTransport

GRAMS_PER = {"kg": Decimal(1000), "g": Decimal(1), "lb": Decimal("453.59237"), "oz": Decimal("28.349523125")}
SERIAL_DEFAULTS = {"baudrate": "9600", "bytesize": "7", "parity": "E", "stopbits": "1"}
MAX_ANSWER = 64  # bytes; any real answer is shorter, so more without an end is noise
STX, CR, ETX = 0x02, 0x0D, 0x03


def to_grams(*amounts: tuple[bytes, str]) -> int:
    """Whole grams in a sum of (decimal digits, unit) amounts, rounded once at the end."""
    total = sum(Decimal(digits.decode()) * GRAMS_PER[unit] for digits, unit in amounts)
    return int(Decimal(total).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Status:
    """What the scale's status bits say, in both protocols' terms."""

    moving: bool = False
    under_zero: bool = False
    over_capacity: bool = False
    at_zero: bool = False
    outside_zero_range: bool = False  # Toledo: too far from zero for 'Z' to take
    zero_error: bool = False  # NCI: zero not captured since power-up
    fault: str = ""  # a hardware fault the scale reports about itself


class BadFrame(Exception):
    """An answer that is not what the protocol allows; the driver turns it into DeviceIOError."""


class Protocol(ABC):
    name: str
    weigh_command: bytes
    zero_command: bytes | None
    tare_command: bytes | None

    @abstractmethod
    def frame(self, buffer: bytes) -> bytes | None:
        """The complete answer at the start of `buffer`, or None while it is still arriving."""

    @abstractmethod
    def parse(self, frame: bytes) -> tuple[int | None, Status]:
        """(grams or None when the answer holds no weight, status); raises BadFrame."""

    def zero_taken(self, status: Status) -> bool:
        return not status.moving and not status.outside_zero_range


class Toledo8217(Protocol):
    name = "toledo8217"
    weigh_command, zero_command, tare_command = b"W", b"Z", b"T"
    WEIGHT = re.compile(rb" *(\d*\.\d+)(N?)")

    def __init__(self, unit: str):
        self.unit = unit

    def frame(self, buffer: bytes) -> bytes | None:
        end = buffer.find(CR)
        if end < 0:
            if len(buffer) > MAX_ANSWER:
                raise BadFrame("no CR")
            return None
        start = buffer.rfind(STX, 0, end)
        if start < 0:
            raise BadFrame("no STX before the CR")
        return buffer[start + 1 : end]

    def parse(self, frame: bytes) -> tuple[int | None, Status]:
        if len(frame) == 2 and frame[0] == ord("?"):
            bits = frame[1]  # bit 6 is always 1, bit 7 is parity
            return None, Status(
                moving=bool(bits & 0x01), over_capacity=bool(bits & 0x02), under_zero=bool(bits & 0x04),
                outside_zero_range=bool(bits & 0x08), at_zero=bool(bits & 0x10),
            )
        match = self.WEIGHT.fullmatch(frame)
        if not match:
            raise BadFrame("neither a weight nor a status")
        return to_grams((match.group(1), self.unit)), Status()


class Nci(Protocol):
    name = "nci"
    weigh_command, zero_command, tare_command = b"W\r", b"Z\r", None
    WEIGHT = re.compile(rb" *(-?) *(\d*\.?\d+) *([A-Za-z]{1,2}) *")
    POUNDS_OUNCES = re.compile(rb" *(\d+) *lb +(\d*\.?\d+) *oz *", re.IGNORECASE)
    FAULTS = ((0, 0x04, "RAM"), (0, 0x08, "EEPROM"), (1, 0x04, "ROM"), (1, 0x08, "calibration"))

    def frame(self, buffer: bytes) -> bytes | None:
        end = buffer.find(ETX)
        if end < 0:
            if len(buffer) > MAX_ANSWER:
                raise BadFrame("no ETX")
            return None
        return buffer[:end]

    def parse(self, frame: bytes) -> tuple[int | None, Status]:
        fields = [field.strip(b"\n") for field in frame.split(b"\r")]
        fields = [field for field in fields if field]
        if fields == [b"?"]:
            raise BadFrame("the scale did not understand the command")
        if not 1 <= len(fields) <= 2:
            raise BadFrame(f"{len(fields)} fields")
        status = self._status(fields[-1])
        if len(fields) == 1:
            return None, status
        return self._grams(fields[0], status), status

    def zero_taken(self, status: Status) -> bool:
        return status.at_zero and not status.moving  # SCP-01: an ignored 'Z' leaves "at zero" clear

    def _status(self, field: bytes) -> Status:
        data = field[1:] if field[:1] == b"S" else field  # SCP-02 scales put an 'S' in front
        if len(data) < 2 or any(b & 0x30 != 0x30 for b in data):  # bits 4 and 5 are always 1
            raise BadFrame("no status bytes")
        faults = [name for index, bit, name in self.FAULTS if data[index] & bit]
        return Status(
            moving=bool(data[0] & 0x01), at_zero=bool(data[0] & 0x02),
            under_zero=bool(data[1] & 0x01), over_capacity=bool(data[1] & 0x02),
            zero_error=len(data) > 2 and bool(data[2] & 0x08),
            fault=" and ".join(faults),
        )

    def _grams(self, field: bytes, status: Status) -> int:
        if match := self.POUNDS_OUNCES.fullmatch(field):
            return to_grams((match.group(1), "lb"), (match.group(2), "oz"))
        match = self.WEIGHT.fullmatch(field)
        if not match:
            raise BadFrame("no weight before the status")
        unit = match.group(3).decode().lower()
        if unit not in GRAMS_PER:
            raise BadFrame(f"unit {unit!r}")
        grams = to_grams((match.group(2), unit))
        return -grams if match.group(1) else grams


class SerialScale(Scale):
    options = SERIAL_OPTIONS | {"protocol", "unit"}

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        protocol = address.param("protocol", "toledo8217")
        unit = address.param("unit")
        if protocol == "toledo8217":
            if unit not in (None, "kg", "lb"):
                raise DeviceConfigError(f"unit={unit} in {address.raw!r} must be kg or lb (as the scale is set)")
            self.protocol: Protocol = Toledo8217(unit or "kg")
        elif protocol == "nci":
            if unit is not None:
                raise DeviceConfigError(f"unit in {address.raw!r} does not apply to protocol=nci: its answers carry the unit")
            self.protocol = Nci()
        else:
            raise DeviceConfigError(f"protocol={protocol} in {address.raw!r} must be toledo8217 or nci")
        port = Address(address.scheme, address.target, {**SERIAL_DEFAULTS, **address.params}, address.raw)
        self.transport = SerialTransport(name, port)
        self.lock = threading.Lock()  # one request/answer on the wire at a time
        self.info = f"{self.protocol.name} scale on {address.target}"

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def probe(self) -> str:
        grams, stable = self.weigh(1.0)
        return f"{self.info}: {grams} g, {'stable' if stable else 'in motion'}"

    def weigh(self, timeout: float = 2.0) -> tuple[int, bool]:
        """(grams, stable); grams is 0 when the scale only says it is moving."""
        grams, status = self._exchange(self.protocol.weigh_command, timeout, "weight request")
        if status.fault:
            raise DeviceIOError(f"the scale reports a {status.fault} error: it needs service",
                                device=self.name, code="scale_fault")
        if status.over_capacity:
            raise DeviceIOError("over capacity: take the goods off and weigh less at a time",
                                device=self.name, code="over_capacity")
        if status.under_zero or (grams is not None and grams < 0):
            raise DeviceIOError("under zero: empty the platter and zero the scale",
                                device=self.name, code="under_zero")
        if status.zero_error:
            raise DeviceIOError("the scale has not set zero since power-up: empty the platter and zero it",
                                device=self.name, code="zero_error")
        if status.moving:
            return grams or 0, False
        if grams is None:
            if status.at_zero:
                return 0, True
            raise DeviceIOError(f"the scale sent its status but no weight: check it is set to the {self.protocol.name} protocol",
                                device=self.name, code="no_weight")
        return grams, True

    def zero(self) -> None:
        """Set zero with the platter empty; refused by the scale while moving or loaded."""
        _, status = self._exchange(self._command("zero"), 2.0, "zero command")
        if not self.protocol.zero_taken(status):
            raise DeviceIOError("the scale did not set zero: empty the platter, wait until it is still and retry",
                                device=self.name, code="zero_refused")

    def tare(self) -> None:
        """Take the goods on the platter as tare; refused by the scale while moving."""
        _, status = self._exchange(self._command("tare"), 2.0, "tare command (tare must be enabled in the scale's setup)")
        if status.moving:
            raise DeviceIOError("the scale did not take the tare: wait until it is still and retry",
                                device=self.name, code="tare_refused")

    def _command(self, action: str) -> bytes:
        command = getattr(self.protocol, f"{action}_command")
        if command is None:
            raise DeviceIOError(f"{action} is not supported by this protocol ({self.protocol.name}): use the scale's own key",
                                device=self.name, code="not_supported")
        return command

    def _exchange(self, command: bytes, timeout: float, what: str) -> tuple[int | None, Status]:
        with self.lock:
            self._discard_stale_input()
            self.transport.write(command)
            deadline = time.monotonic() + timeout
            answer = bytearray()
            while (left := deadline - time.monotonic()) > 0:
                answer += bytes(b & 0x7F for b in self.transport.read(MAX_ANSWER, left))
                try:
                    frame = self.protocol.frame(bytes(answer))
                    if frame is not None:
                        return self.protocol.parse(frame)
                except BadFrame as exc:
                    raise DeviceIOError(
                        f"unreadable answer to the {what} ({exc}; {len(answer)} bytes): check the baud rate, "
                        f"parity and that the scale is set to the {self.protocol.name} protocol",
                        device=self.name, code="bad_frame",
                    ) from exc
        if answer:
            raise DeviceIOError(f"the answer to the {what} stopped after {len(answer)} bytes: check the cable",
                                device=self.name, code="bad_frame")
        raise DeviceTimeout(f"no answer to the {what} within {timeout} s: check the cable, the baud rate and that "
                            f"the scale is set to the {self.protocol.name} protocol", device=self.name)

    def _discard_stale_input(self) -> None:
        """Drop what came before our request (a late answer to a timed-out one), so answers pair up."""
        for _ in range(16):
            if not self.transport.read(256, 0):
                return


def stable_weight(scale: Scale, samples: int = 3, timeout: float = 5.0, interval: float = 0.1) -> int:
    """Grams once `samples` consecutive stable readings agree, so a bouncing platter never prices goods.

    The scale's own "stable" flag is necessary but not enough: some scales flag stability
    on a single quiet A/D cycle. `timeout` bounds the settling; each reading has weigh()'s
    own timeout, and over/under errors and a silent scale raise as from weigh().
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    deadline = time.monotonic() + timeout
    last: int | None = None
    agreeing = 0
    while time.monotonic() < deadline:
        grams, stable = scale.weigh()
        if not stable:
            last, agreeing = None, 0
        elif grams == last:
            agreeing += 1
        else:
            last, agreeing = grams, 1
        if agreeing >= samples:
            return grams
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    raise DeviceTimeout(f"the weight did not settle within {timeout} s ({samples} equal stable readings needed)",
                        device=scale.name, code="unstable")
