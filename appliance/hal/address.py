"""Device addresses as URLs, so a technician changes hardware by editing one line.

    serial:///dev/ttyUSB0?baudrate=9600     usb://04b8:0202      tcp://10.0.0.9:9100
    evdev:///dev/input/by-id/usb-scanner    gpio://keypad?rows=5,6,13,19&cols=12,16,20
    pcsc://ACS ACR122U                      file:///dev/usb/lp0  sim://printer
    printer://printer?pin=2  (a drawer on the named printer's kick-out connector)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from appliance.hal.errors import DeviceConfigError

SCHEMES = ("serial", "usb", "tcp", "evdev", "gpio", "pcsc", "file", "sim", "printer")


@dataclass(frozen=True)
class Address:
    scheme: str
    target: str  # a path, host:port, vid:pid, a reader name or a simulator name
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    def __str__(self) -> str:
        return self.raw

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def int_param(self, name: str, default: int, low: int = 0, high: int = 10**9) -> int:
        text = self.params.get(name)
        if text is None:
            return default
        try:
            value = int(text, 0)
        except ValueError:
            raise DeviceConfigError(f"{name}={text!r} in {self.raw!r} must be a whole number") from None
        if not low <= value <= high:
            raise DeviceConfigError(f"{name}={value} in {self.raw!r} must be between {low} and {high}")
        return value

    def int_list(self, name: str) -> list[int]:
        text = self.params.get(name, "")
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise DeviceConfigError(f"{name}={text!r} in {self.raw!r} must be numbers separated by commas") from None

    def check_params(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.params) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise DeviceConfigError(f"unknown option {unknown[0]!r} in {self.raw!r}; this driver takes: {known}")


def parse(text: str) -> Address:
    """Parse and check the form of an address; drivers check their own options."""
    if not isinstance(text, str) or "://" not in text:
        raise DeviceConfigError(f"{text!r} is not a device address like serial:///dev/ttyUSB0 or sim://printer")
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceConfigError(f"unknown address scheme {scheme!r} in {text!r}; known: {', '.join(SCHEMES)}")
    target = (parts.netloc + parts.path) if scheme != "tcp" else parts.netloc
    if not target:
        raise DeviceConfigError(f"{text!r} names no device after {scheme}://")
    params: dict[str, str] = {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise DeviceConfigError(f"the options in {text!r} must look like ?name=value&name=value") from None
    for name, value in pairs:
        if name in params:
            raise DeviceConfigError(f"option {name!r} is given twice in {text!r}")
        params[name] = value
    if scheme == "tcp":
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise DeviceConfigError(f"{text!r} needs a host and a port, like tcp://10.0.0.9:9100")
    if scheme == "usb":
        vid, _, pid = target.partition(":")
        try:
            int(vid, 16), int(pid, 16)
        except ValueError:
            raise DeviceConfigError(f"{text!r} needs a USB vendor:product id in hex, like usb://04b8:0202") from None
    return Address(scheme, target, params, text.strip())
