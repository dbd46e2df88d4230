"""Customer display frames: every line exactly the display's width, amounts at the right edge."""

from __future__ import annotations

import pytest

from appliance.display import customer
from appliance.display.text import width
from appliance.hal import registry


@pytest.mark.parametrize("chinese", [True, False])
@pytest.mark.parametrize("columns", [16, 20, 40])
def test_frames_fit_the_display(chinese, columns):
    frames = [
        customer.welcome("演示便利店 Demo Mart with a very long name", columns, chinese),
        customer.item("可口可乐 Coca-Cola 330ml can, chilled", 350, 1234567, 2, columns, chinese),
        customer.total(1234567, 2, columns, chinese),
        customer.paid(50000, 123, 2, columns, chinese),
        customer.change(1150, 2, columns, chinese),
        customer.thanks(columns, chinese),
        customer.change(1150, 2, columns, chinese, e_receipt=True),
        customer.thanks(columns, chinese, e_receipt=True),
    ]
    for frame in frames:
        assert len(frame) == 2 and all(width(line) == columns for line in frame), frame


def test_item_frame_reads_right():
    assert customer.item("可口可乐 330ml", 350, 1050, 2, 20, True) == ("可口可乐 330ml  3.50", "合计           10.50")
    assert customer.change(1150, 2, 20, False)[0] == "CHANGE         11.50"
    assert all(line.isascii() for line in customer.welcome("Shop", 20, False))


def test_with_digital_receipts_the_end_of_a_sale_points_to_the_qr_code():
    assert customer.change(1150, 2, 20, True, e_receipt=True) == ("找零           11.50", "   扫码看电子小票   ")
    assert customer.thanks(20, False, e_receipt=True) == ("     THANK YOU      ", " SCAN QR: E-RECEIPT ")
    assert customer.thanks(20, False) == ("     THANK YOU      ", "    SEE YOU SOON    ")


def test_frames_go_to_the_display_driver():
    display = registry.create("display", "display", "sim://display")
    display.show(customer.total(2140, 2, display.columns, False))
    assert display.current == ("TO PAY              ", "               21.40")
