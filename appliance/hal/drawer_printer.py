"""A cash drawer on the receipt printer's kick-out connector (`printer://printer?pin=2`).

Most shop drawers plug into the printer: the drawer opens when the printer receives
ESC p m t1 t2 (pulse on connector pin 2 or 5 for t1 x 2 ms, off for t2 x 2 ms; Epson
ESC/POS reference). The address names the printer device of the configuration; the
manager links the two. The printer reports the drawer's switch in DLE EOT 1 bit 2.
"""

from __future__ import annotations

from typing import Any

from appliance.hal.address import Address
from appliance.hal.base import CashDrawer
from appliance.hal.errors import DeviceConfigError, DeviceUnavailable


class PrinterDrawer(CashDrawer):
    options = frozenset({"pin", "on_ms", "off_ms"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.printer_name = address.target
        pin = address.int_param("pin", 2, 2, 5)
        if pin not in (2, 5):
            raise DeviceConfigError(f"pin={pin} must be 2 or 5 (the kick-out connector's drive pins)")
        self.command = b"\x1bp" + bytes([
            0 if pin == 2 else 1,
            address.int_param("on_ms", 100, 2, 510) // 2,
            address.int_param("off_ms", 200, 2, 510) // 2,
        ])
        self.printer: Any = None
        self.info = f"on {self.printer_name}'s kick-out connector, pin {pin}"

    def open(self) -> None:
        if self.printer is None:
            raise DeviceUnavailable(f"the printer {self.printer_name!r} this drawer hangs on is not configured or not built",
                                    device=self.name)

    def kick(self) -> None:
        self.open()
        self.printer.write(self.command)

    def is_open(self) -> bool | None:
        reader = getattr(self.printer, "drawer_open", None)
        return reader() if reader is not None else None


def link(devices: dict[str, Any]) -> None:
    """Give every printer-hung drawer its printer (by the name in its address)."""
    for device in devices.values():
        if isinstance(device, PrinterDrawer):
            device.printer = devices.get(device.printer_name)
