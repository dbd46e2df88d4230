"""Byte transports: the only code that touches a port, a socket, a USB endpoint or a device file.

Drivers build bytes and call `write`/`read`; a transport moves them and turns every
library failure into DeviceUnavailable (could not open) or DeviceIOError / DeviceTimeout
(failed in use), with the cause chained. pyserial and pyusb are imported on first use.
"""

from __future__ import annotations

import os
import select
import socket
from abc import ABC, abstractmethod
from typing import Any

from appliance.hal.address import Address
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceTimeout, DeviceUnavailable

SERIAL_OPTIONS = frozenset({"baudrate", "bytesize", "parity", "stopbits", "rtscts", "xonxoff"})


class Transport(ABC):
    def __init__(self, device: str):
        self.device = device

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes, waiting at most `timeout` s; b"" when nothing came."""
        raise DeviceIOError("this connection cannot be read from", device=self.device, code="write_only")


def _flag(address: Address, name: str, device: str) -> bool:
    value = address.param(name, "0")
    if value not in ("0", "1"):
        raise DeviceConfigError(f"{name}={value} in {address.raw!r} must be 0 or 1", device=device)
    return value == "1"


class SerialTransport(Transport):
    """A serial port through pyserial (`serial:///dev/ttyUSB0?baudrate=9600&parity=E`)."""

    def __init__(self, device: str, address: Address):
        super().__init__(device)
        self.path = address.target
        self.settings = {
            "baudrate": address.int_param("baudrate", 9600, 50, 4_000_000),
            "bytesize": address.int_param("bytesize", 8, 5, 8),
            "parity": (address.param("parity", "N") or "N").upper(),
            "stopbits": address.int_param("stopbits", 1, 1, 2),
            "rtscts": _flag(address, "rtscts", device),
            "xonxoff": _flag(address, "xonxoff", device),
        }
        if self.settings["parity"] not in ("N", "E", "O", "M", "S"):
            raise DeviceConfigError(f"parity={self.settings['parity']} must be N, E, O, M or S", device=device)
        self.port: Any = None

    def open(self) -> None:
        import serial

        try:
            self.port = serial.Serial(self.path, timeout=0.1, write_timeout=5, **self.settings)
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {exc}", device=self.device) from exc

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            finally:
                self.port = None

    def write(self, data: bytes) -> None:
        import serial

        if self.port is None:
            raise DeviceUnavailable("not open", device=self.device)
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"{self.path} stopped taking data", device=self.device) from exc
        except (serial.SerialException, OSError) as exc:
            raise DeviceIOError(f"writing to {self.path} failed: {exc}", device=self.device) from exc

    def read(self, size: int, timeout: float) -> bytes:
        import serial

        if self.port is None:
            raise DeviceUnavailable("not open", device=self.device)
        # Wait here rather than through pyserial's timeout: its read(size) waits for all `size`
        # bytes where a driver wants what has come so far (as TcpTransport gives it), and each
        # change of its timeout re-applies every port setting (tcsetattr) on each read.
        try:
            if not select.select([self.port.fileno()], [], [], timeout)[0]:
                return b""
            # Readable with nothing waiting is a vanished device: read(1) raises for it.
            return bytes(self.port.read(max(1, min(self.port.in_waiting, size))))
        except (serial.SerialException, OSError, TypeError) as exc:  # TypeError: pyserial on a vanished fd
            raise DeviceIOError(f"reading from {self.path} failed: {exc}", device=self.device) from exc


class TcpTransport(Transport):
    """A network printer's raw port (`tcp://10.0.0.9:9100`)."""

    def __init__(self, device: str, address: Address):
        super().__init__(device)
        host, _, port = address.target.rpartition(":")
        self.host, self.port_number = host, int(port)
        self.sock: socket.socket | None = None

    def open(self) -> None:
        try:
            self.sock = socket.create_connection((self.host, self.port_number), timeout=3)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot connect to {self.host}:{self.port_number}: {exc}", device=self.device) from exc

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def write(self, data: bytes) -> None:
        if self.sock is None:
            raise DeviceUnavailable("not connected", device=self.device)
        try:
            self.sock.settimeout(10)
            self.sock.sendall(data)
        except socket.timeout as exc:
            raise DeviceTimeout(f"{self.host} stopped taking data", device=self.device) from exc
        except OSError as exc:
            raise DeviceIOError(f"sending to {self.host} failed: {exc}", device=self.device) from exc

    def read(self, size: int, timeout: float) -> bytes:
        if self.sock is None:
            raise DeviceUnavailable("not connected", device=self.device)
        try:
            self.sock.settimeout(timeout)
            return self.sock.recv(size)
        except socket.timeout:
            return b""
        except OSError as exc:
            raise DeviceIOError(f"reading from {self.host} failed: {exc}", device=self.device) from exc


class FileTransport(Transport):
    """A device file such as /dev/usb/lp0 (write only), or a plain file for captures."""

    def __init__(self, device: str, address: Address):
        super().__init__(device)
        self.path = address.target
        self.fd: int | None = None

    def open(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {exc.strerror}", device=self.device) from exc

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def write(self, data: bytes) -> None:
        if self.fd is None:
            raise DeviceUnavailable("not open", device=self.device)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            raise DeviceIOError(f"writing to {self.path} failed: {exc.strerror}", device=self.device) from exc


class UsbTransport(Transport):
    """A USB printer's bulk endpoints through pyusb (`usb://04b8:0202?interface=0`)."""

    def __init__(self, device: str, address: Address):
        super().__init__(device)
        vid, _, pid = address.target.partition(":")
        self.vid, self.pid = int(vid, 16), int(pid, 16)
        self.interface = address.int_param("interface", 0, 0, 15)
        self.handle: Any = None
        self.out_ep: Any = None
        self.in_ep: Any = None

    def open(self) -> None:
        try:
            import usb.core
            import usb.util
        except ImportError as exc:
            raise DeviceUnavailable(f"pyusb is not installed: {exc}", device=self.device) from exc
        try:
            handle = usb.core.find(idVendor=self.vid, idProduct=self.pid)
        except usb.core.NoBackendError as exc:
            raise DeviceUnavailable("no USB backend (libusb-1.0 missing)", device=self.device) from exc
        if handle is None:
            raise DeviceUnavailable(f"no USB device {self.vid:04x}:{self.pid:04x} is plugged in", device=self.device)
        try:
            if handle.is_kernel_driver_active(self.interface):
                handle.detach_kernel_driver(self.interface)
            handle.set_configuration()
            interface = handle.get_active_configuration()[(self.interface, 0)]
            direction = usb.util.endpoint_direction
            self.out_ep = usb.util.find_descriptor(
                interface, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT
            )
            self.in_ep = usb.util.find_descriptor(
                interface, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN
            )
        except usb.core.USBError as exc:
            raise DeviceUnavailable(f"cannot claim USB device {self.vid:04x}:{self.pid:04x}: {exc}", device=self.device) from exc
        if self.out_ep is None:
            raise DeviceUnavailable("the USB device has no OUT endpoint: is it a printer?", device=self.device)
        self.handle = handle

    def close(self) -> None:
        if self.handle is not None:
            import usb.util

            usb.util.dispose_resources(self.handle)
            self.handle = None

    def write(self, data: bytes) -> None:
        import usb.core

        if self.handle is None:
            raise DeviceUnavailable("not open", device=self.device)
        try:
            written = self.out_ep.write(data, timeout=10000)
        except usb.core.USBTimeoutError as exc:
            raise DeviceTimeout("the USB device stopped taking data", device=self.device) from exc
        except usb.core.USBError as exc:
            raise DeviceIOError(f"USB write failed: {exc}", device=self.device) from exc
        if written != len(data):
            raise DeviceIOError(f"USB write took {written} of {len(data)} bytes", device=self.device)

    def read(self, size: int, timeout: float) -> bytes:
        import usb.core

        if self.handle is None or self.in_ep is None:
            raise DeviceUnavailable("not open or no IN endpoint", device=self.device)
        try:
            return bytes(self.in_ep.read(size, timeout=int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise DeviceIOError(f"USB read failed: {exc}", device=self.device) from exc


TRANSPORTS = {"serial": SerialTransport, "tcp": TcpTransport, "file": FileTransport, "usb": UsbTransport}
OPTIONS = {"serial": SERIAL_OPTIONS, "tcp": frozenset(), "file": frozenset(), "usb": frozenset({"interface"})}


def for_address(device: str, address: Address) -> Transport:
    return TRANSPORTS[address.scheme](device, address)
