"""Which driver serves which kind of device at which address scheme; imported only when used.

Drivers that need RPi.GPIO, pyusb, evdev or pyscard import them inside their own module,
so a terminal without that library (or that board) still starts with the others.
"""

from __future__ import annotations

import importlib

from appliance.hal.address import Address, parse
from appliance.hal.base import KINDS, Device
from appliance.hal.errors import DeviceConfigError

DRIVERS: dict[tuple[str, str], str] = {
    ("scanner", "sim"): "appliance.hal.sim_input:SimScanner",
    ("scanner", "serial"): "appliance.hal.scanner_serial:SerialScanner",
    ("scanner", "evdev"): "appliance.hal.scanner_evdev:EvdevScanner",
    ("scanner", "usb"): "appliance.hal.scanner_hidpos:HidPosScanner",
    ("keypad", "sim"): "appliance.hal.sim_input:SimKeypad",
    ("keypad", "gpio"): "appliance.hal.keypad_gpio:GpioKeypad",
    ("keypad", "evdev"): "appliance.hal.keypad_evdev:EvdevKeypad",
    ("stripe_reader", "sim"): "appliance.hal.sim_input:SimStripeReader",
    ("stripe_reader", "serial"): "appliance.hal.stripe_serial:SerialStripeReader",
    ("card_reader", "sim"): "appliance.hal.sim_input:SimCardReader",
    ("card_reader", "pcsc"): "appliance.hal.cardreader_pcsc:PcscCardReader",
    ("scale", "sim"): "appliance.hal.sim_input:SimScale",
    ("scale", "serial"): "appliance.hal.scale_serial:SerialScale",
    ("printer", "sim"): "appliance.hal.sim_output:SimPrinter",
    ("printer", "serial"): "appliance.hal.printer_escpos:EscposPrinter",
    ("printer", "usb"): "appliance.hal.printer_escpos:EscposPrinter",
    ("printer", "tcp"): "appliance.hal.printer_escpos:EscposPrinter",
    ("printer", "file"): "appliance.hal.printer_escpos:EscposPrinter",
    ("drawer", "sim"): "appliance.hal.sim_output:SimDrawer",
    ("drawer", "gpio"): "appliance.hal.drawer_gpio:GpioDrawer",
    ("drawer", "printer"): "appliance.hal.drawer_printer:PrinterDrawer",
    ("display", "sim"): "appliance.hal.sim_output:SimDisplay",
    ("display", "serial"): "appliance.hal.display_vfd:VfdDisplay",
    ("indicator", "sim"): "appliance.hal.sim_output:SimIndicator",
    ("indicator", "gpio"): "appliance.hal.indicator_gpio:GpioIndicator",
}


def driver_path(kind: str, scheme: str) -> str:
    if kind not in KINDS:
        raise DeviceConfigError(f"unknown device kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    path = DRIVERS.get((kind, scheme))
    if path is None:
        schemes = sorted(s for k, s in DRIVERS if k == kind)
        raise DeviceConfigError(f"no {kind} driver for {scheme}:// addresses; {kind} takes {', '.join(schemes)}")
    return path


def create(name: str, kind: str, address: str | Address) -> Device:
    """Build (but do not open) the driver for a configured device."""
    addr = parse(address) if isinstance(address, str) else address
    module_name, _, class_name = driver_path(kind, addr.scheme).partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:  # a driver whose library is missing is a configuration problem
        raise DeviceConfigError(f"the {kind} driver for {addr.scheme}:// cannot load: {exc}", device=name) from exc
    try:
        return cls(name, addr)
    except DeviceConfigError as exc:
        exc.device = name
        raise
