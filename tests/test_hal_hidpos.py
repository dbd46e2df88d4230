"""The HID POS scanner against a fake USB device handle beneath pyusb.

Only the handle is fake: it is a pyusb backend (the layer libusb fills in real life), so
the driver's pyusb calls (find, descriptors, claim, control and interrupt transfers,
release) all run for real. Reports are built the way a Honeywell scanner in HID POS mode
sends them: 64 bytes, report id 2, byte count, AIM identifier, 56 data bytes, 2 vendor
bytes and the "continued" flag.
"""

from __future__ import annotations

import array
import errno
import functools
import threading
from collections import deque
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import usb.backend
import usb.core

from appliance.hal import registry
from appliance.hal.address import parse
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from appliance.hal.events import Scanned
from appliance.hal.scanner_hidpos import Assembler, HidPosScanner, parse_report, usage_pages
from tests.hal_running import running

# A HID POS scanner's report descriptor, item by item (after Honeywell's, trimmed).
POS_DESCRIPTOR = bytes([
    0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01,  # Usage Page (Bar Code Scanner), Usage (Bar Code Scanner), Application
    0x09, 0x12, 0xA1, 0x02, 0x85, 0x02,  # Usage (Scanned Data Report), Logical, Report ID 2
    0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x01,  # 0..255, 8 bits, 1 field
    0x05, 0x01, 0x09, 0x3B, 0x81, 0x02,  # Generic Desktop Byte Count, Input
    0x95, 0x03, 0x05, 0x8C, 0x09, 0xFB, 0x09, 0xFC, 0x09, 0xFD, 0x81, 0x02,  # Symbology Identifier 1-3
    0x95, 0x38, 0x09, 0xFE, 0x82, 0x02, 0x01,  # 56 x Decoded Data, Input (Buffered Bytes)
    0x06, 0x66, 0xFF, 0x95, 0x02, 0x09, 0x04, 0x09, 0x00, 0x81, 0x02,  # vendor page: code id, spare
    0x05, 0x8C, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x09, 0xFF, 0x81, 0x02,  # Decode Data Continued
    0xC0, 0xC0,
])
# A keyboard's: what the same scanner reports in keyboard mode.
KEYBOARD_DESCRIPTOR = bytes([0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0xC0])

TIMEOUT = "timeout"  # a queued read that times out, as when nobody scans


def report(data: bytes, aim: bytes = b"]E0", continued: bool = False, code_id: int = 0x64) -> bytes:
    """A 64-byte Scanned Data Report as Honeywell lays it out."""
    assert len(data) <= 56
    return bytes([0x02, len(data)]) + aim + data.ljust(56, b"\0") + bytes([code_id, 0, 1 if continued else 0])


def reports(data: bytes, aim: bytes = b"]Q1") -> list[bytes]:
    """A long code split into 56-byte reports, all but the last marked continued."""
    chunks = [data[i : i + 56] for i in range(0, len(data), 56)]
    return [report(chunk, aim, continued=i < len(chunks) - 1) for i, chunk in enumerate(chunks)]


class FakeHandle(usb.backend.IBackend):
    """A USB HID device with one interface and one interrupt IN endpoint, behind pyusb's backend API."""

    def __init__(self, descriptor: bytes = POS_DESCRIPTOR, interface_class: int = 3, configured: bool = True):
        self.descriptor = descriptor
        self.interface_class = interface_class
        self.configuration = 1 if configured else 0
        self.kernel_driver = True
        self.claimed: set[int] = set()
        self.calls: list[tuple] = []
        self.reads: deque[bytes | str | usb.core.USBError] = deque()
        self.open = False

    # descriptors
    def enumerate_devices(self) -> Iterator[str]:
        yield "scanner"

    def get_device_descriptor(self, dev: str) -> SimpleNamespace:
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0,
            bMaxPacketSize0=64, idVendor=0x05E0, idProduct=0x1200, bcdDevice=0x0100, iManufacturer=0, iProduct=0,
            iSerialNumber=0, bNumConfigurations=1, address=5, bus=1, port_number=2, port_numbers=(2,), speed=2)

    def get_configuration_descriptor(self, dev: str, config: int) -> SimpleNamespace:
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=34, bNumInterfaces=1, bConfigurationValue=1,
                               iConfiguration=0, bmAttributes=0x80, bMaxPower=50, extra_descriptors=[])

    def get_interface_descriptor(self, dev: str, intf: int, alt: int, config: int) -> SimpleNamespace:
        if (intf, alt) != (0, 0):
            raise IndexError("no such interface")
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0, bNumEndpoints=1,
                               bInterfaceClass=self.interface_class, bInterfaceSubClass=0, bInterfaceProtocol=0,
                               iInterface=0, extra_descriptors=[])

    def get_endpoint_descriptor(self, dev: str, ep: int, intf: int, alt: int, config: int) -> SimpleNamespace:
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=0x81, bmAttributes=0x03,
                               wMaxPacketSize=64, bInterval=1, bRefresh=0, bSynchAddress=0, extra_descriptors=[])

    # the handle
    def open_device(self, dev: str) -> str:
        self.open = True
        return "handle"

    def close_device(self, handle: str) -> None:
        self.open = False
        self.calls.append(("close",))

    def get_configuration(self, handle: str) -> int:
        return self.configuration

    def set_configuration(self, handle: str, value: int) -> None:
        self.calls.append(("set_configuration", value))
        self.configuration = value

    def is_kernel_driver_active(self, handle: str, intf: int) -> bool:
        return self.kernel_driver

    def detach_kernel_driver(self, handle: str, intf: int) -> None:
        self.calls.append(("detach", intf))
        self.kernel_driver = False

    def attach_kernel_driver(self, handle: str, intf: int) -> None:
        self.calls.append(("attach", intf))
        self.kernel_driver = True

    def claim_interface(self, handle: str, intf: int) -> None:
        if self.kernel_driver:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        self.calls.append(("claim", intf))
        self.claimed.add(intf)

    def release_interface(self, handle: str, intf: int) -> None:
        self.calls.append(("release", intf))
        self.claimed.discard(intf)

    def ctrl_transfer(self, handle: str, request_type: int, request: int, value: int, index: int, data, timeout: int) -> int:
        self.calls.append(("control", request_type, request, value, index))
        assert (request_type, request, value) == (0x81, 0x06, 0x2200), "only GET_DESCRIPTOR(Report) is expected"
        size = min(len(data), len(self.descriptor))
        data[:size] = array.array("B", self.descriptor[:size])
        return size

    def intr_read(self, handle: str, ep: int, intf: int, buff, timeout: int) -> int:
        assert intf in self.claimed, "read from an interface not claimed"
        item = self.reads.popleft() if self.reads else TIMEOUT
        if item == TIMEOUT:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        if isinstance(item, usb.core.USBError):
            raise item
        buff[: len(item)] = array.array("B", item)
        return len(item)


@pytest.fixture
def handle(monkeypatch: pytest.MonkeyPatch) -> FakeHandle:
    fake = FakeHandle()
    monkeypatch.setattr(usb.core, "find", functools.partial(usb.core.find, backend=fake))
    return fake


@pytest.fixture
def scanner(handle: FakeHandle) -> Iterator[HidPosScanner]:
    device = registry.create("scanner", "scanner", "usb://05e0:1200?interface=0")
    assert isinstance(device, HidPosScanner)
    device.open()
    yield device
    device.close()


# -- the report layout


def test_a_report_carries_count_aim_identifier_and_data() -> None:
    part = parse_report(report(b"6900000000014"))
    assert part is not None
    assert (part.data, part.symbology, part.continued) == (b"6900000000014", "]E0", False)
    assert parse_report(report(b"x" * 56, continued=True)).continued  # type: ignore[union-attr]


def test_the_continued_flag_is_the_last_byte_of_a_62_byte_report_too() -> None:
    short = bytes([0x02, 3]) + b"]C0" + b"ABC".ljust(56, b"\0") + b"\x01"
    assert len(short) == 62
    assert parse_report(short) == parse_report(report(b"ABC", b"]C0", continued=True))


def test_a_report_without_an_aim_identifier_has_no_symbology() -> None:
    assert parse_report(report(b"123", aim=b"\0\0\0")).symbology == ""  # type: ignore[union-attr]


def test_other_reports_are_not_scans() -> None:
    assert parse_report(bytes([0x04, 1, 2, 3])) is None
    assert parse_report(b"") is None


@pytest.mark.parametrize("bad, complaint", [
    (bytes([0x02, 1, 0x5D]), "too short"),
    (bytes([0x02, 57]) + b"]E0" + bytes(59), "byte count 57 is more than the 56"),
    (bytes([0x02, 9]) + b"]E0" + b"1234", "byte count 9 is more than the 4"),
])
def test_malformed_reports_are_refused(bad: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_report(bad)


def test_codes_longer_than_one_report_are_joined() -> None:
    codes = Assembler("s")
    text = "https://example.com/" + "x" * 120
    parts = reports(text.encode())
    assert len(parts) == 3
    assert [codes.add(part, now=1.0) for part in parts] == [None, None, (text, "]Q1")]


def test_a_code_whose_rest_never_comes_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    codes = Assembler("s", gap_s=0.5)
    first, _ = reports(b"A" * 60)
    assert codes.add(first, now=10.0) is None
    codes.expire(now=10.4)  # still within the gap: kept
    codes.expire(now=10.6)
    assert codes.add(report(b"4006381333931"), now=20.0) == ("4006381333931", "]E0")
    assert "dropped 56 bytes of a code whose last report never came" in caplog.text


def test_a_malformed_report_drops_the_code_it_interrupts(caplog: pytest.LogCaptureFixture) -> None:
    codes = Assembler("s")
    assert codes.add(report(b"A" * 56, continued=True), now=1.0) is None
    assert codes.add(bytes([0x02, 200, 0x5D]), now=1.0) is None
    assert codes.add(report(b"12345"), now=1.0) == ("12345", "]E0")
    assert "ignored a malformed report" in caplog.text


def test_a_suffix_is_taken_off_and_utf8_is_read() -> None:
    codes = Assembler("s")
    assert codes.add(report(b"ABC-123\r\n"), now=1.0) == ("ABC-123", "]E0")
    assert codes.add(report("收银台".encode(), aim=b"]Q1"), now=1.0) == ("收银台", "]Q1")
    assert codes.add(report(b"\xa3100"), now=1.0) == ("£100", "]E0")  # not UTF-8: byte for byte


def test_the_report_descriptor_shows_hid_pos_mode() -> None:
    assert 0x8C in usage_pages(POS_DESCRIPTOR)
    assert usage_pages(KEYBOARD_DESCRIPTOR) == {0x01, 0x07}
    extended = bytes([0x0B, 0x02, 0x00, 0x8C, 0x00, 0xA1, 0x01, 0xC0])  # Usage (0x008C0002) in four bytes
    assert usage_pages(extended) == {0x8C}
    long_item = bytes([0xFE, 2, 0x10, 0x05, 0x8C]) + bytes([0x05, 0x01])  # the 05 8C inside is data
    assert usage_pages(long_item) == {0x01}


# -- the driver over pyusb


def test_open_takes_the_interface_from_the_kernel_and_close_gives_it_back(
    scanner: HidPosScanner, handle: FakeHandle
) -> None:
    assert handle.calls == [("detach", 0), ("claim", 0), ("control", 0x81, 0x06, 0x2200, 0)]
    assert scanner.info == "HID POS scanner 05e0:1200"
    scanner.close()
    scanner.close()
    assert handle.calls[3:] == [("release", 0), ("attach", 0), ("close",)]
    assert not handle.open


def test_an_unconfigured_device_is_configured(handle: FakeHandle) -> None:
    handle.configuration = 0
    scanner = HidPosScanner("s", parse("usb://05e0:1200"))
    scanner.open()
    scanner.close()
    assert ("set_configuration", 1) in handle.calls


def test_scans_are_emitted_with_their_symbology(scanner: HidPosScanner, handle: FakeHandle) -> None:
    long_code = b"01095011015300031722123110ABC123" * 3
    handle.reads.extend([
        TIMEOUT, report(b"6900000000014"), TIMEOUT, TIMEOUT,  # nobody scanning is not an error
        *reports(long_code), bytes([0x04, 0, 0, 0]),  # a report of another kind is skipped
        report(b"CODE39", aim=b"]A0"),
    ])
    with running(scanner) as run:
        events = run.wait_for(3)
    assert events == [
        Scanned("scanner", code="6900000000014", symbology="]E0"),
        Scanned("scanner", code=long_code.decode(), symbology="]Q1"),
        Scanned("scanner", code="CODE39", symbology="]A0"),
    ]


def test_a_usb_error_while_reading_is_an_io_error(scanner: HidPosScanner, handle: FakeHandle) -> None:
    handle.reads.extend([report(b"1"), usb.core.USBError("Pipe error", errno=errno.EPIPE)])
    with pytest.raises(DeviceIOError, match="scanner: reading 05e0:1200 failed") as caught:
        with running(scanner) as run:
            run.wait_ended()
    assert run.events == [Scanned("scanner", code="1", symbology="]E0")]
    assert isinstance(caught.value.__cause__, usb.core.USBError)


def test_an_unplugged_scanner_is_gone(scanner: HidPosScanner, handle: FakeHandle) -> None:
    handle.reads.append(usb.core.USBError("No such device (it may have been disconnected)", errno=errno.ENODEV))
    with pytest.raises(DeviceIOError, match="05e0:1200 has gone") as caught:
        with running(scanner) as run:
            run.wait_ended()
    assert caught.value.code == "gone"


def test_no_such_device_is_unavailable(handle: FakeHandle) -> None:
    with pytest.raises(DeviceUnavailable, match="no USB device 05e0:9999 is plugged in"):
        HidPosScanner("s", parse("usb://05e0:9999")).open()


def test_a_scanner_in_keyboard_mode_is_explained_and_left_to_the_kernel(handle: FakeHandle) -> None:
    handle.descriptor = KEYBOARD_DESCRIPTOR
    with pytest.raises(DeviceUnavailable, match="not a HID POS bar code scanner .* 'USB HID POS' programming code"):
        HidPosScanner("s", parse("usb://05e0:1200")).open()
    assert handle.calls[-3:] == [("release", 0), ("attach", 0), ("close",)]
    assert handle.kernel_driver


def test_a_failed_claim_is_unavailable_and_leaves_the_device_as_found(handle: FakeHandle) -> None:
    handle.detach_kernel_driver = lambda handle_, intf: None  # type: ignore[method-assign]  # the detach did not take
    with pytest.raises(DeviceUnavailable, match="cannot claim USB device 05e0:1200: .*Resource busy") as caught:
        HidPosScanner("s", parse("usb://05e0:1200")).open()
    assert isinstance(caught.value.__cause__, usb.core.USBError)
    assert handle.claimed == set() and not handle.open


@pytest.mark.parametrize("interface_class, url, complaint", [
    (3, "usb://05e0:1200?interface=1", "has no interface 1"),
    (7, "usb://05e0:1200", r"interface 0 of 05e0:1200 is not HID \(class 7\)"),
])
def test_the_wrong_interface_is_a_configuration_error(
    handle: FakeHandle, interface_class: int, url: str, complaint: str
) -> None:
    handle.interface_class = interface_class
    with pytest.raises(DeviceConfigError, match=complaint):
        HidPosScanner("s", parse(url)).open()
    assert not handle.open


def test_run_before_open_is_refused() -> None:
    with pytest.raises(DeviceUnavailable, match="not open"):
        HidPosScanner("s", parse("usb://05e0:1200")).run(lambda event: None, threading.Event())


@pytest.mark.parametrize("url, complaint", [
    ("usb://05e0:1200?interface=16", "interface=16"),
    ("usb://05e0:1200?timeout=5", "unknown option 'timeout'"),
])
def test_configuration_errors(url: str, complaint: str) -> None:
    with pytest.raises(DeviceConfigError, match=complaint):
        registry.create("s", "scanner", url)
