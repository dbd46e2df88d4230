"""Receipts as printer bytes: golden ESC/POS, rendering back to text and PNG, drivers and status."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import qrcode
from PIL import Image

from appliance.cli.demo import label
from appliance.display import escpos_render
from appliance.display.document import Barcode, Pair, Qr, Rule, Text
from appliance.display.escpos import copy_banner, qr_image, to_escpos
from appliance.display.receipt import receipt
from appliance.display.testpage import logo, printer_test_page
from appliance.hal import registry
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from tests.conftest import CHIPS, COLA, MILK, make_settings

FIXTURES = Path(__file__).parent / "fixtures" / "escpos"


@pytest.fixture
def settings(tmp_path):
    """A shop that prints a link under each receipt: the golden files hold its QR code."""
    return make_settings(tmp_path, receipt={"qr_url": "https://receipt.example.com/{receipt_no}"})


def _golden(name: str, data: bytes) -> None:
    path = FIXTURES / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} changed; UPDATE_GOLDEN=1 to accept"


@pytest.fixture
def sale_doc(till):
    till.scan(COLA, quantity=3000)
    till.scan(label("22", "10001", 1234))
    till.scan(CHIPS, quantity=3000)
    till.scan(MILK)
    return till.pay("cash", 10000)


@pytest.mark.parametrize("columns, dots", [(32, 384), (48, 576)])
@pytest.mark.parametrize("chinese", [True, False])
def test_receipt_bytes_match_the_golden_files(till, sale_doc, columns, dots, chinese):
    data = to_escpos(receipt(sale_doc, till.settings), columns=columns, dots=dots, chinese=chinese)
    _golden(f"sale-{columns}{'-zh' if chinese else ''}.bin", data)
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1dV\x42\x03")
    assert (b"\x1c&" in data) is chinese


def test_rendered_text_reads_like_the_receipt(till, sale_doc):
    data = to_escpos(receipt(sale_doc, till.settings), columns=48, dots=576, chinese=True)
    lines = escpos_render.to_text(data, 48)
    text = "\n".join(lines)
    assert "演示便利店 Demo Mart" in text and sale_doc["receipt_no"] in text
    total = f"¥{sale_doc['total'] // 100}.{sale_doc['total'] % 100:02d}"
    assert any(line.startswith("合计 TOTAL") and line.endswith(total) for line in lines), total
    assert "[code128 " + sale_doc["receipt_no"] + "]" in text
    assert any(line.strip().startswith("[image ") for line in lines)  # the QR code


def test_without_a_chinese_font_the_latin_stays_legible(till, sale_doc):
    data = to_escpos(receipt(sale_doc, till.settings), columns=48, dots=576, chinese=False)
    assert b"\x1c&" not in data and "可".encode("gb18030") not in data
    assert "Demo Mart" in "\n".join(escpos_render.to_text(data, 48))


def test_the_png_shows_chinese_text_a_qr_code_and_a_logo(tmp_path):
    page = printer_test_page("演示便利店 Demo Mart", "T01", 48)
    data = to_escpos(page, columns=48, dots=576, chinese=True)
    path = escpos_render.to_png(data, 576, tmp_path / "page.png")
    image = Image.open(path).convert("L")
    assert image.width == 576 + 32
    paper = escpos_render.parse(data)
    rasters = [item for item in paper.items if isinstance(item, escpos_render.Raster)]
    assert len(rasters) == 2 and paper.cuts == 1
    # The QR code on paper is exactly the QR code of the data, module by module.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data("https://receipt.example/T01/TEST")
    code.make(fit=True)
    matrix = code.get_matrix()
    qr = rasters[1]
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            assert qr.dark(c * 4 + 2, r * 4 + 2) == dark
    # The logo's ring is on paper where it was drawn.
    ring = rasters[0]
    assert ring.dark(48, 1) and not ring.dark(0, 0)
    # The Chinese line is drawn with real glyphs: dark pixels where its characters are.
    y = 16 + 48 + 4 + 48 + 4  # margin, logo, big shop name
    band = image.crop((16, y, 16 + 12 * 20, y + 24))
    assert band.getextrema()[0] < 64, "the Chinese title line is blank"
    assert escpos_render.find_font() is not None, "fonts-wqy-microhei is part of make test's packages"


def test_unknown_commands_are_reported_not_guessed():
    with pytest.raises(escpos_render.RenderError, match="byte 2: unknown command ESC b't'"):
        escpos_render.parse(b"\x1b@\x1bt\x00")
    with pytest.raises(escpos_render.RenderError, match="cut short"):
        escpos_render.parse(b"\x1dv0\x00\x02\x00\x10\x00\xff")


def test_a_copy_is_marked(till, sale_doc):
    data = copy_banner(48, True) + to_escpos(receipt(sale_doc, till.settings), columns=48, dots=576, chinese=True)
    assert "*** 副本 COPY ***" in escpos_render.to_text(data, 48)[0]


def test_a_qr_too_wide_for_the_paper_is_shrunk():
    gray, width, _ = qr_image("x" * 200, 6)
    assert width > 384
    data = to_escpos([Qr("x" * 200, module=6)], columns=32, dots=384, chinese=False)
    raster = next(i for i in escpos_render.parse(data).items if isinstance(i, escpos_render.Raster))
    assert raster.width <= 384 + 7


# ---- drivers


class FakePrinter:
    """A network printer on localhost: keeps what it receives, answers DLE EOT with set bytes."""

    def __init__(self, answers: dict[int, int] | None):
        self.answers = answers
        self.received = bytearray()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.received += chunk
                if chunk[:2] == b"\x10\x04" and self.answers is not None and chunk[2] in self.answers:
                    conn.sendall(bytes([self.answers[chunk[2]]]))

    def close(self) -> None:
        self.server.close()


@pytest.mark.parametrize("answers, online, paper, cover", [
    ({1: 0x16, 2: 0x12, 4: 0x12}, True, "ok", False),
    ({1: 0x16, 2: 0x12, 4: 0x1E}, True, "near_end", False),
    ({1: 0x16, 2: 0x12, 4: 0x72}, True, "out", False),
    ({1: 0x16, 2: 0x16, 4: 0x12}, True, "ok", True),
    ({1: 0x1E, 2: 0x12, 4: 0x12}, False, "ok", False),
    ({1: 0xFF}, False, "unknown", False),  # garbage is not a status
    (None, False, "unknown", False),  # a printer that never answers
])
def test_network_printer_status(answers, online, paper, cover):
    fake = FakePrinter(answers)
    try:
        printer = registry.create("printer", "printer", f"tcp://127.0.0.1:{fake.port}?paper=58")
        status = printer.status()
        assert (status.online, status.paper, status.cover_open) == (online, paper, cover)
        assert (printer.columns, printer.dots) == (32, 384)
        printer.close()
    finally:
        fake.close()


def test_network_printer_receives_the_bytes():
    fake = FakePrinter({1: 0x16, 2: 0x12, 4: 0x12})
    try:
        printer = registry.create("printer", "printer", f"tcp://127.0.0.1:{fake.port}?status=0")
        data = to_escpos([Text("可乐"), Pair("a", "1.00"), Rule(), Barcode("X1")], columns=48, dots=576, chinese=True) * 5
        printer.write(data)
        printer.close()
        fake.thread.join(timeout=5)
        assert bytes(fake.received) == data
    finally:
        fake.close()


def test_no_printer_at_the_address_is_unavailable():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    printer = registry.create("printer", "printer", f"tcp://127.0.0.1:{port}")
    assert not printer.status().online
    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        printer.write(b"x")


def test_file_printer_and_serial_printer_over_a_pty(tmp_path):
    out = tmp_path / "lp0"
    printer = registry.create("printer", "printer", f"file://{out}?profile=TM-T20II")
    assert (printer.columns, printer.dots) == (48, 576)
    printer.write(b"\x1b@hello\n")
    printer.close()
    assert out.read_bytes() == b"\x1b@hello\n"
    master, slave = os.openpty()
    try:
        serial_printer = registry.create("printer", "printer", f"serial://{os.ttyname(slave)}?baudrate=19200&status=0")
        serial_printer.write(b"\x1b@serial\n")
        assert os.read(master, 100) == b"\x1b@serial\n"
        serial_printer.close()
    finally:
        os.close(master)
        os.close(slave)


def test_usb_printer_through_a_mocked_handle(mocker):
    import usb.core
    import usb.util

    written = []
    out_ep = mocker.Mock(bEndpointAddress=0x01)
    out_ep.write.side_effect = lambda data, timeout: written.append(bytes(data)) or len(data)
    in_ep = mocker.Mock(bEndpointAddress=0x82)
    in_ep.read.side_effect = lambda size, timeout: bytes([0x16])
    handle = mocker.Mock()
    handle.is_kernel_driver_active.return_value = True
    handle.get_active_configuration.return_value = {(0, 0): [out_ep, in_ep]}
    mocker.patch.object(usb.core, "find", return_value=handle)
    mocker.patch.object(usb.util, "find_descriptor", side_effect=lambda intf, custom_match: next(e for e in intf if custom_match(e)))
    mocker.patch.object(usb.util, "dispose_resources")
    printer = registry.create("printer", "printer", "usb://04b8:0202")
    printer.write(b"\x1b@usb\n")
    assert written == [b"\x1b@usb\n"]
    handle.detach_kernel_driver.assert_called_once_with(0)
    assert printer.status().online
    out_ep.write.side_effect = usb.core.USBError("pipe error")
    with pytest.raises(DeviceIOError, match="USB write failed"):
        printer.write(b"more")


def test_usb_printer_not_plugged_in(mocker):
    import usb.core

    mocker.patch.object(usb.core, "find", return_value=None)
    printer = registry.create("printer", "printer", "usb://04b8:0202")
    with pytest.raises(DeviceUnavailable, match="no USB device 04b8:0202"):
        printer.open()


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:9100?paper=57", "paper=57 must be 58 or 80"),
    ("tcp://127.0.0.1:9100?profile=NOPE", "unknown printer profile 'NOPE'"),
    ("serial:///dev/ttyS0?parity=X", "parity=X"),
    ("serial:///dev/ttyS0?speed=9600", "unknown option 'speed'"),
    ("tcp://127.0.0.1:9100?baudrate=9600", "unknown option 'baudrate'"),
])
def test_bad_printer_options_name_the_device(address, message):
    with pytest.raises(DeviceConfigError, match=message) as err:
        registry.create("front_printer", "printer", address)
    assert str(err.value).startswith("front_printer: ")


def test_logo_is_thresholded_from_grayscale():
    image = logo(16, 16)
    assert len(image.gray) == 256


def test_a_drawer_on_the_printers_kick_out_connector():
    from appliance.hal.drawer_printer import link

    printer = registry.create("printer", "printer", "sim://printer")
    drawer = registry.create("drawer", "drawer", "printer://printer?pin=5&on_ms=60&off_ms=120")
    with pytest.raises(DeviceUnavailable, match="not configured"):
        drawer.kick()
    link({"printer": printer, "drawer": drawer})
    drawer.kick()
    assert printer.jobs == [b"\x1bp\x01\x1e\x3c"]
    with pytest.raises(DeviceConfigError, match="pin=3"):
        registry.create("drawer", "drawer", "printer://printer?pin=3")


def test_the_printer_reports_the_drawer_switch():
    fake = FakePrinter({1: 0x16 | 0x04})
    try:
        printer = registry.create("printer", "printer", f"tcp://127.0.0.1:{fake.port}")
        assert printer.drawer_open() is True
        printer.close()
    finally:
        fake.close()
