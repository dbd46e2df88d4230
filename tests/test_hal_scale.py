"""The serial scale over a real pseudo-terminal, in both protocols, and stable-weight detection.

A DeviceScript on the pty's master answers each request the driver sends with the frame
a scale would send (frames from the sources named in appliance/hal/scale_serial.py).
"""

from __future__ import annotations

import pytest

from appliance.hal.errors import DeviceIOError, DeviceTimeout
from appliance.hal.scale_serial import stable_weight
from tests.serial_pty import DeviceScript, build, pty  # noqa: F401  (fixtures)

STX, CR, LF, ETX = b"\x02", b"\r", b"\n", b"\x03"


def toledo(body: bytes) -> bytes:
    return STX + body + CR


def nci(*fields: bytes) -> bytes:
    return b"".join(LF + field + CR for field in fields) + ETX


@pytest.fixture
def scale(pty, build):
    def make(options: str = "protocol=toledo8217"):
        return build("scale", "scale", pty.url(options))

    return make


# --- Mettler Toledo 8213/8217


@pytest.mark.parametrize(("options", "body", "grams"), [
    ("protocol=toledo8217", b"01.234", 1234),
    ("protocol=toledo8217", b" 0.500N", 500),  # net weight after a tare
    ("protocol=toledo8217&unit=lb", b"001.00", 454),
    ("", b"00.000", 0),
])
def test_toledo_weight(pty, scale, options, body, grams):
    device = scale(options)
    with DeviceScript(pty, end=None).on(b"W", toledo(body)) as script:
        assert device.weigh(1.0) == (grams, True)
    assert script.commands == [b"W"]


def test_toledo_in_motion_is_not_stable(pty, scale):
    device = scale()
    with DeviceScript(pty, end=None).on(b"W", toledo(b"?A")):  # status byte 0x41: bit 0, motion
        assert device.weigh(1.0) == (0, False)


@pytest.mark.parametrize(("status", "code"), [(b"?B", "over_capacity"), (b"?D", "under_zero"), (b"?E", "under_zero")])
def test_toledo_over_capacity_and_under_zero_are_errors_a_technician_can_act_on(pty, scale, status, code):
    device = scale()
    with DeviceScript(pty, end=None).on(b"W", toledo(status)), pytest.raises(DeviceIOError) as caught:
        device.weigh(1.0)
    assert caught.value.code == code and "scale" in str(caught.value)


def test_a_scale_that_does_not_answer_times_out(pty, scale):
    device = scale()
    with DeviceScript(pty, end=None), pytest.raises(DeviceTimeout, match="no answer to the weight request"):
        device.weigh(0.2)


@pytest.mark.parametrize("answer", [b"\xff\xfejunk\r", toledo(b"12x.4"), toledo(b"1234"), b"\x02" + b"9" * 80])
def test_toledo_garbage_is_a_bad_frame(pty, scale, answer):
    device = scale()
    with DeviceScript(pty, end=None).on(b"W", answer), pytest.raises(DeviceIOError) as caught:
        device.weigh(0.5)
    assert caught.value.code == "bad_frame"


def test_a_late_answer_is_not_taken_for_the_next_one(pty, scale):
    device = scale()
    with DeviceScript(pty, end=None).on(b"W", None, toledo(b"02.000")):
        with pytest.raises(DeviceTimeout):
            device.weigh(0.2)
        pty.send(toledo(b"09.999"))  # the first answer, too late
        assert device.weigh(1.0) == (2000, True)


def test_toledo_parity_bits_are_ignored(pty, scale):
    device = scale("protocol=toledo8217&bytesize=8&parity=N")
    with DeviceScript(pty, end=None).on(b"W", bytes(b | 0x80 for b in toledo(b"01.500"))):
        assert device.weigh(1.0) == (1500, True)


def test_toledo_zero_and_tare(pty, scale):
    device = scale()
    with DeviceScript(pty, end=None).on(b"Z", toledo(b"?P")).on(b"T", toledo(b"?`")) as script:
        device.zero()
        device.tare()
    assert script.commands == [b"Z", b"T"]


@pytest.mark.parametrize(("action", "status", "code"), [
    ("zero", b"?A", "zero_refused"), ("zero", b"?H", "zero_refused"), ("tare", b"?A", "tare_refused"),
])
def test_toledo_refused_zero_and_tare(pty, scale, action, status, code):
    device = scale()
    with DeviceScript(pty, end=None).on(action[0].upper().encode(), toledo(status)), pytest.raises(DeviceIOError) as caught:
        getattr(device, action)()
    assert caught.value.code == code


# --- NCI (Weigh-Tronix SCP-01)


@pytest.mark.parametrize(("frame", "reading"), [
    (nci(b"0001.25kg", b"00"), (1250, True)),
    (nci(b"0001.20kg", b"10"), (1200, False)),  # weight with "in motion"
    (nci(b"10"), (0, False)),  # status alone while moving
    (nci(b"0000.00kg", b"20"), (0, True)),
    (nci(b"0002.50LB", b"00"), (1134, True)),
    (nci(b"1lb 08.0oz", b"00"), (680, True)),
    (nci(b"0500g", b"S00"), (500, True)),  # SCP-02 status with its 'S'
    (nci(b"0001.00kg", b"0p0"), (1000, True)),  # a third status byte
])
def test_nci_weight(pty, scale, frame, reading):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR).on(b"W\r", frame) as script:
        assert device.weigh(1.0) == reading
    assert script.commands == [b"W\r"]


@pytest.mark.parametrize(("frame", "code"), [
    (nci(b"02"), "over_capacity"),
    (nci(b"-0000.10kg", b"01"), "under_zero"),
    (nci(b"-0000.10kg", b"00"), "under_zero"),
    (nci(b"0001.00kg", b"0p8"), "zero_error"),
    (nci(b"0001.00kg", b"40"), "scale_fault"),
    (nci(b"?"), "bad_frame"),
    (nci(b"0001.00st", b"00"), "bad_frame"),
    (nci(b"0001.00kg", b"AB"), "bad_frame"),
    (b"\x80\x81\x82" * 30, "bad_frame"),
])
def test_nci_errors(pty, scale, frame, code):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR).on(b"W\r", frame), pytest.raises(DeviceIOError) as caught:
        device.weigh(0.5)
    assert caught.value.code == code


def test_nci_ram_fault_names_the_fault(pty, scale):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR).on(b"W\r", nci(b"40")), pytest.raises(DeviceIOError, match="RAM error"):
        device.weigh(0.5)


def test_nci_zero_taken_and_refused(pty, scale):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR).on(b"Z\r", nci(b"20"), nci(b"00")):
        device.zero()
        with pytest.raises(DeviceIOError) as caught:
            device.zero()
    assert caught.value.code == "zero_refused"


def test_nci_has_no_tare_and_sends_nothing_for_it(pty, scale):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR) as script, pytest.raises(DeviceIOError, match="not supported by this protocol"):
        device.tare()
    assert script.commands == []


def test_nci_silent_scale_times_out(pty, scale):
    device = scale("protocol=nci")
    with DeviceScript(pty, end=CR), pytest.raises(DeviceTimeout):
        device.weigh(0.2)


# --- stable weight


def test_stable_weight_waits_for_agreeing_stable_readings(pty, scale):
    device = scale()
    readings = [b"?A", b"01.000", b"01.005", b"?A", b"01.005", b"01.005", b"01.005", b"09.999"]
    with DeviceScript(pty, end=None).on(b"W", *(toledo(r) for r in readings)) as script:
        assert stable_weight(device, samples=3, timeout=5.0, interval=0) == 1005
    assert len(script.commands) == 7


def test_stable_weight_gives_up_on_a_weight_that_never_settles(pty, scale):
    device = scale()
    script = DeviceScript(pty, end=None).on(b"W", toledo(b"?A"))
    script.repeat = True
    with script, pytest.raises(DeviceTimeout) as caught:
        stable_weight(device, samples=2, timeout=0.3, interval=0.01)
    assert caught.value.code == "unstable"


def test_stable_weight_passes_scale_errors_through(pty, scale):
    device = scale()
    with DeviceScript(pty, end=None).on(b"W", toledo(b"01.000"), toledo(b"?B")), pytest.raises(DeviceIOError) as caught:
        stable_weight(device, samples=3, interval=0)
    assert caught.value.code == "over_capacity"


def test_unplugged_scale_raises_a_device_io_error(pty, scale):
    device = scale()
    pty.unplug()
    with pytest.raises(DeviceIOError):
        device.weigh(0.5)
