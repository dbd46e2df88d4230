"""Serial scanner and magstripe reader over a real pseudo-terminal, and serial option checks.

The test plays the device on the pty's master; the driver runs on its own thread as the
manager runs it. Nothing here asserts on timing.
"""

from __future__ import annotations

import logging

import pytest

from appliance.hal import registry
from appliance.hal.errors import DeviceConfigError, DeviceIOError
from appliance.hal.events import Scanned, Swiped
from tests.hal_running import running
from tests.serial_pty import build, pty, settle, wait_until  # noqa: F401  (fixtures)

EAN13 = "4006381333931"
GS = "\x1d"


@pytest.fixture
def scanner(pty, build):
    return lambda options="": build("scanner", "scanner", pty.url(options))


# --- scanner


@pytest.mark.parametrize(("option", "end"), [
    ("", b"\r"), ("terminator=CR", b"\r"), ("terminator=LF", b"\n"), ("terminator=crlf", b"\r\n"),
    ("terminator=TAB", b"\t"), ("terminator=ETX", b"\x03"),
])
def test_each_terminator_ends_a_code(pty, scanner, option, end):
    with running(scanner(option)) as run:
        pty.send(EAN13.encode() + end + b"12345" + end)
        run.wait_for(2)
    assert run.events == [Scanned("scanner", code=EAN13), Scanned("scanner", code="12345")]


def test_without_terminator_a_pause_ends_the_code(pty, scanner):
    with running(scanner("terminator=none&gap_ms=200")) as run:
        pty.send(EAN13.encode())
        run.wait_for(1)
        pty.send(b"ABC-123")
        run.wait_for(2)
    assert [event.code for event in run.events] == [EAN13, "ABC-123"]


def test_a_code_split_across_two_writes_is_one_code(pty, scanner):
    with running(scanner()) as run:
        pty.send(b"400638")
        settle()
        pty.send(b"1333931\r")
        run.wait_for(1)
    assert [event.code for event in run.events] == [EAN13]


def test_a_crlf_scanner_on_a_cr_setting_still_gives_clean_codes(pty, scanner):
    with running(scanner("terminator=CR")) as run:
        pty.send(b"111\r\n222\r\n")
        run.wait_for(2)
    assert [event.code for event in run.events] == ["111", "222"]


def test_prefix_and_suffix_are_stripped_as_hex_or_text(pty, scanner):
    with running(scanner("prefix=0x02&suffix=END")) as run:
        pty.send(b"\x02" + EAN13.encode() + b"END\r" + b"NOPREFIX\r")
        run.wait_for(2)
    assert [event.code for event in run.events] == [EAN13, "NOPREFIX"]


@pytest.mark.parametrize(("sent", "code", "symbology"), [
    ("]E0" + EAN13, EAN13, "EAN-13"),
    ("]E0036000291452", "036000291452", "UPC-A"),
    ("]E496385074", "96385074", "EAN-8"),
    ("]C1" + "0112345678901231" + GS + "10ABC", "0112345678901231" + GS + "10ABC", "GS1-128"),
    ("]C0HELLO128", "HELLO128", "Code128"),
    ("]Q1https://example.com/p?id=1", "https://example.com/p?id=1", "QR"),
    ("]A0CODE39", "CODE39", "Code39"),
    ("]d2010123456789012", "010123456789012", "GS1-DataMatrix"),
    ("NOAIM", "NOAIM", ""),
])
def test_aim_identifiers_give_the_symbology_and_leave_the_code(pty, scanner, sent, code, symbology):
    with running(scanner("aim=1&prefix=0x02")) as run:
        pty.send(b"\x02" + sent.encode() + b"\r")
        run.wait_for(1)
    assert run.events == [Scanned("scanner", code=code, symbology=symbology)]


def test_without_aim_the_identifier_stays_in_the_code(pty, scanner):
    with running(scanner()) as run:
        pty.send(b"]E0" + EAN13.encode() + b"\r")
        run.wait_for(1)
    assert run.events == [Scanned("scanner", code="]E0" + EAN13)]


def test_garbage_is_dropped_with_a_warning_and_scanning_goes_on(pty, scanner, caplog):
    caplog.set_level(logging.WARNING, logger="appliance.hal.scanner_serial")
    with running(scanner()) as run:
        pty.send(b"\x01\x02\x7f\r")  # control characters
        pty.send(b"\xff\xfe\xc3\r")  # not UTF-8
        pty.send(b"9" * 201 + b"\r")  # too long
        pty.send(b"\x1b[A\r")  # an escape sequence
        pty.send(EAN13.encode() + b"\r")
        run.wait_for(1)
    assert [event.code for event in run.events] == [EAN13]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert any("valid text" in w for w in warnings) and any("longer than 200" in w for w in warnings)
    assert not any("999" in w for w in warnings), "a dropped scan's content is never logged"


def test_a_run_without_terminator_is_given_up_until_the_next_terminator(pty, scanner, caplog):
    with running(scanner()) as run:
        pty.send(b"7" * 1100)
        wait_until(lambda: any("no end of code" in r.getMessage() for r in caplog.records))
        pty.send(b"777\r" + EAN13.encode() + b"\r")  # the tail of the long run is not a code
        run.wait_for(1)
    assert [event.code for event in run.events] == [EAN13]


def test_unplugging_the_scanner_ends_run_with_a_device_io_error(pty, scanner):
    with pytest.raises(DeviceIOError, match="scanner"):
        with running(scanner()) as run:
            pty.send(b"123\r")
            run.wait_for(1)
            pty.unplug()
            run.wait_ended()


# --- magstripe reader

PAN = "4111111111111111"
TRACK1 = f"%B{PAN}^DOE/JOHN^2912101123456789?".encode()
TRACK2 = f";{PAN}=2912101123456789?".encode()


@pytest.fixture
def stripe(pty, build):
    return build("msr", "stripe_reader", pty.url())


def swiped(run) -> list[bytes]:
    assert all(isinstance(event, Swiped) for event in run.events)
    return [event.tracks.reveal() for event in run.events]


def test_tracks_1_and_2_arrive_as_one_secret(pty, stripe):
    with running(stripe) as run:
        pty.send(TRACK1 + TRACK2 + b"\r\n")
        run.wait_for(1)
    assert swiped(run) == [TRACK1 + TRACK2]
    assert PAN not in repr(run.events)


def test_track_2_only_and_a_swipe_with_track_3(pty, stripe):
    with running(stripe) as run:
        pty.send(TRACK2 + b"\r")
        pty.send(TRACK2 + b";0123456789=0123?\n")
        run.wait_for(2)
    assert swiped(run) == [TRACK2, TRACK2 + b";0123456789=0123?"]


def test_a_swipe_split_across_writes_is_one_swipe(pty, stripe):
    with running(stripe) as run:
        pty.send(TRACK1[:20])
        settle()
        pty.send(TRACK1[20:] + TRACK2 + b"\r")
        run.wait_for(1)
    assert swiped(run) == [TRACK1 + TRACK2]


def test_a_track_the_reader_failed_on_is_left_out(pty, stripe):
    with running(stripe) as run:
        pty.send(b"%E?" + TRACK2 + b"\r")
        run.wait_for(1)
    assert swiped(run) == [TRACK2]


def test_garbage_and_unreadable_swipes_are_dropped_and_no_track_data_is_logged(pty, stripe, caplog):
    caplog.set_level(logging.DEBUG)
    with running(stripe) as run:
        pty.send(b"hello " + PAN.encode() + b"\r")  # not track data, though it holds a PAN
        pty.send(b"%B" + PAN.encode() + b"^DOE\r")  # track 1 without its end sentinel
        pty.send(b"\xff\x00\x80\r")
        pty.send(b"%E?;E?\r")  # read errors on every track
        pty.send(TRACK1 + TRACK2 + b"\r")
        run.wait_for(1)
    assert swiped(run) == [TRACK1 + TRACK2]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 4
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert PAN not in text and "DOE" not in text and "2912" not in text, text


def test_unplugging_the_stripe_reader_ends_run_with_a_device_io_error(pty, stripe):
    with pytest.raises(DeviceIOError):
        with running(stripe) as run:
            pty.unplug()
            run.wait_ended()


# --- addresses and options


@pytest.mark.parametrize(("kind", "options", "message"), [
    ("scanner", "baudrate=fast", "whole number"),
    ("scanner", "baudrate=10", "between 50"),
    ("scanner", "speed=9600", "unknown option 'speed'"),
    ("scanner", "terminator=FOO", "CR, LF, CRLF, TAB, ETX, none"),
    ("scanner", "gap_ms=40", "only applies with terminator=none"),
    ("scanner", "terminator=none&gap_ms=5", "between 10 and 1000"),
    ("scanner", "prefix=0xZZ", "hex bytes after 0x"),
    ("scanner", "aim=yes", "must be 0 or 1"),
    ("scanner", "parity=X", "N, E, O, M or S"),
    ("stripe_reader", "rtscts=yes", "must be 0 or 1"),
    ("stripe_reader", "terminator=CR", "unknown option 'terminator'"),
    ("scale", "protocol=dibal", "toledo8217 or nci"),
    ("scale", "unit=stone", "kg or lb"),
    ("scale", "protocol=nci&unit=kg", "does not apply"),
    ("display", "cmdset=foo", "epson or cd5220"),
    ("display", "charset=latin1", "ascii or gb18030"),
])
def test_bad_options_are_refused_when_the_driver_is_built(kind, options, message):
    with pytest.raises(DeviceConfigError, match=message) as caught:
        registry.create("dev1", kind, f"serial:///dev/ttyUSB9?{options}")
    assert caught.value.device == "dev1"


@pytest.mark.parametrize("kind", ["scanner", "stripe_reader", "scale", "display"])
def test_every_serial_driver_takes_the_serial_port_options(kind):
    device = registry.create("dev1", kind, "serial:///dev/ttyUSB9?baudrate=19200&bytesize=8&parity=N&stopbits=1&rtscts=0&xonxoff=0")
    assert device.transport.settings["baudrate"] == 19200
