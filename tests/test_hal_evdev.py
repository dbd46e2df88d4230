"""The evdev scanner and keypad against a fake input device that hands out real evdev.InputEvents.

/dev/input is not there in tests, so evdev.InputDevice is replaced at its boundary by a
device whose file descriptor is a real pipe: select() wakes on it as on an event device,
and read() yields InputEvent objects with timestamps, as the kernel's would. Keystrokes
carry the EV_MSC and EV_SYN events a real keyboard sends around each key.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from collections.abc import Iterator

import evdev
import pytest
from evdev import InputEvent
from evdev import ecodes as e

from appliance.hal import registry
from appliance.hal.address import parse
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from appliance.hal.events import KeyPressed, PinEntered, Scanned, Secret
from appliance.hal.keypad_evdev import EvdevKeypad
from appliance.hal.scanner_evdev import EvdevScanner
from tests.hal_running import running

PATH = "/dev/input/by-id/usb-Fake_Scanner-event-kbd"


class FakeInputDevice:
    """What the drivers use of evdev.InputDevice, with the calls recorded and the events scripted."""

    def __init__(self, path: str):
        self.path = path
        self.name = "Fake Scanner"
        self.calls: list[str] = []
        self.grab_error: OSError | None = None
        self._pending: deque[InputEvent] = deque()
        self._failure: OSError | None = None
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()

    def fileno(self) -> int:
        return self._wake_r

    def grab(self) -> None:
        self.calls.append("grab")
        if self.grab_error is not None:
            raise self.grab_error

    def ungrab(self) -> None:
        self.calls.append("ungrab")

    def close(self) -> None:
        self.calls.append("close")
        os.close(self._wake_r)
        os.close(self._wake_w)

    def read(self) -> Iterator[InputEvent]:
        # A generator, like evdev's: errors surface when the caller starts iterating.
        with self._lock:
            os.read(self._wake_r, 4096)
            if self._failure is not None:
                raise self._failure
            if not self._pending:
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
            batch = list(self._pending)
            self._pending.clear()
        yield from batch

    # -- what a test does
    def send(self, events: list[InputEvent]) -> None:
        with self._lock:
            self._pending.extend(events)
            os.write(self._wake_w, b".")

    def fail(self, error: OSError) -> None:
        with self._lock:
            self._failure = error
            os.write(self._wake_w, b".")


class Keyboard:
    """Builds the events of key presses, with kernel-like timestamps that the test controls."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def event(self, type_: int, code: int, value: int) -> InputEvent:
        sec, usec = divmod(round(self.now * 1_000_000), 1_000_000)
        return InputEvent(sec, usec, type_, code, value)

    def key(self, code: int, value: int) -> list[InputEvent]:
        self.now += 0.002
        return [self.event(e.EV_MSC, e.MSC_SCAN, 0x70000 + code), self.event(e.EV_KEY, code, value),
                self.event(e.EV_SYN, e.SYN_REPORT, 0)]

    def tap(self, *codes: int, shift: bool = False) -> list[InputEvent]:
        events = self.key(e.KEY_LEFTSHIFT, 1) if shift else []
        for code in codes:
            events += self.key(code, 1) + self.key(code, 0)
        return events + (self.key(e.KEY_LEFTSHIFT, 0) if shift else [])

    def type(self, text: str) -> list[InputEvent]:
        """Keys for text on a US keyboard: the test's own table, independent of the driver's."""
        shifted = {"!": e.KEY_1, "@": e.KEY_2, "$": e.KEY_4, "_": e.KEY_MINUS, "?": e.KEY_SLASH, ":": e.KEY_SEMICOLON,
                   "{": e.KEY_LEFTBRACE, '"': e.KEY_APOSTROPHE, "~": e.KEY_GRAVE, "|": e.KEY_BACKSLASH, ">": e.KEY_DOT}
        plain = {"-": e.KEY_MINUS, "/": e.KEY_SLASH, ".": e.KEY_DOT, " ": e.KEY_SPACE, "=": e.KEY_EQUAL,
                 "]": e.KEY_RIGHTBRACE, "\\": e.KEY_BACKSLASH, ",": e.KEY_COMMA, "'": e.KEY_APOSTROPHE}
        events: list[InputEvent] = []
        for char in text:
            if char.isdigit():
                events += self.tap(getattr(e, f"KEY_{char}"))
            elif char.isalpha():
                events += self.tap(getattr(e, f"KEY_{char.upper()}"), shift=char.isupper())
            elif char in shifted:
                events += self.tap(shifted[char], shift=True)
            else:
                events += self.tap(plain[char])
        return events

    def enter(self) -> list[InputEvent]:
        return self.tap(e.KEY_ENTER)


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> list[FakeInputDevice]:
    """Replaces evdev.InputDevice; each device the drivers open is appended here."""
    opened: list[FakeInputDevice] = []

    def open_device(path: str) -> FakeInputDevice:
        if not path.startswith("/dev/input/by-id/usb-Fake"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        opened.append(FakeInputDevice(path))
        return opened[-1]

    monkeypatch.setattr(evdev, "InputDevice", open_device)
    return opened


@pytest.fixture
def scanner(devices: list[FakeInputDevice]) -> Iterator[EvdevScanner]:
    device = registry.create("scanner", "scanner", f"evdev://{PATH}?grab=1")
    assert isinstance(device, EvdevScanner)
    device.open()
    yield device
    device.close()


@pytest.fixture
def keys() -> Keyboard:
    return Keyboard()


# -- scanner


def test_the_scanner_is_grabbed_and_released(scanner: EvdevScanner, devices: list[FakeInputDevice]) -> None:
    assert devices[0].path == PATH
    assert devices[0].calls == ["grab"]
    assert scanner.info == "Fake Scanner"
    scanner.close()
    scanner.close()
    assert devices[0].calls == ["grab", "ungrab", "close"]


def test_grab_can_be_turned_off_for_field_debugging(devices: list[FakeInputDevice]) -> None:
    scanner = EvdevScanner("s", parse(f"evdev://{PATH}?grab=0"))
    scanner.open()
    scanner.close()
    assert devices[0].calls == ["close"]


def test_codes_are_decoded_with_a_us_keymap_and_shift(
    scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard
) -> None:
    text = "Ab-9!@$_ ?:{~|>xYz/.,=]\\'\""
    with running(scanner) as run:
        devices[0].send(keys.type(text) + keys.enter())
        devices[0].send(keys.type("HTTPS://EXAMPLE.COM/Q?ID=42") + keys.tap(e.KEY_KPENTER))
        events = run.wait_for(2)
    assert events == [Scanned("scanner", code=text), Scanned("scanner", code="HTTPS://EXAMPLE.COM/Q?ID=42")]


def test_right_shift_and_keypad_keys(scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard) -> None:
    events = (keys.key(e.KEY_RIGHTSHIFT, 1) + keys.tap(e.KEY_A) + keys.key(e.KEY_RIGHTSHIFT, 0)
              + keys.tap(e.KEY_A, e.KEY_KP1, e.KEY_KPDOT, e.KEY_KP0, e.KEY_KPMINUS) + keys.enter())
    with running(scanner) as run:
        devices[0].send(events)
        assert run.wait_for(1) == [Scanned("scanner", code="Aa1.0-")]


def test_digits_are_digits_whatever_the_hosts_layout(
    scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a French (AZERTY) host the unshifted top row types &é"'(-è_çà, and Num Lock off
    # turns the keypad into arrows. Neither reaches us: only key codes and our own table do.
    monkeypatch.setenv("XKB_DEFAULT_LAYOUT", "fr")
    top_row = keys.tap(e.KEY_1, e.KEY_2, e.KEY_3, e.KEY_4, e.KEY_5, e.KEY_6, e.KEY_7, e.KEY_8, e.KEY_9, e.KEY_0)
    keypad = keys.tap(*(getattr(e, f"KEY_KP{d}") for d in range(10)))
    with running(scanner) as run:
        devices[0].send(top_row + keys.enter() + keypad + keys.enter())
        events = run.wait_for(2)
    assert [ev.code for ev in events] == ["1234567890", "0123456789"]


def test_unknown_keys_repeats_and_releases_are_ignored(
    scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard
) -> None:
    noise = (keys.tap(e.KEY_LEFTCTRL, e.KEY_CAPSLOCK, e.KEY_F5, e.KEY_UP, e.KEY_MUTE, e.KEY_TAB, e.KEY_LEFTALT)
             + keys.key(e.KEY_7, 1) + keys.key(e.KEY_7, 2) + keys.key(e.KEY_7, 2) + keys.key(e.KEY_7, 0))
    with running(scanner) as run:
        devices[0].send(keys.type("12") + noise + keys.type("3") + keys.enter())
        assert run.wait_for(1) == [Scanned("scanner", code="1273")]
    assert run.events == [Scanned("scanner", code="1273")]


def test_enter_alone_scans_nothing(scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard) -> None:
    with running(scanner) as run:
        devices[0].send(keys.enter() + keys.enter() + keys.type("5") + keys.enter())
        assert run.wait_for(1) == [Scanned("scanner", code="5")]


def test_a_scan_that_never_ended_is_dropped_after_a_pause(
    scanner: EvdevScanner, devices: list[FakeInputDevice], keys: Keyboard, caplog: pytest.LogCaptureFixture
) -> None:
    partial = keys.type("690000")
    keys.now += 1.0  # kernel time: a second later the next scan starts
    with running(scanner) as run:
        devices[0].send(partial + keys.type("6900000000014") + keys.enter())
        assert run.wait_for(1) == [Scanned("scanner", code="6900000000014")]
    assert "dropped 6 characters of a scan that never ended" in caplog.text


def test_aim_identifiers_become_the_symbology(devices: list[FakeInputDevice], keys: Keyboard) -> None:
    scanner = EvdevScanner("s", parse(f"evdev://{PATH}?aim=1"))
    scanner.open()
    with running(scanner) as run:
        devices[0].send(keys.type("]E06900000000014") + keys.enter() + keys.type("]Q1https://x.cn/a") + keys.enter())
        events = run.wait_for(2)
    scanner.close()
    assert events == [Scanned("s", code="6900000000014", symbology="]E0"), Scanned("s", code="https://x.cn/a", symbology="]Q1")]


def test_a_vanished_device_is_an_io_error(scanner: EvdevScanner, devices: list[FakeInputDevice]) -> None:
    with pytest.raises(DeviceIOError, match=f"scanner: {PATH} has gone") as caught:
        with running(scanner) as run:
            devices[0].fail(OSError(errno.ENODEV, "No such device"))
            run.wait_ended()
    assert caught.value.code == "gone"
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.ENODEV


def test_other_read_failures_are_io_errors_too(scanner: EvdevScanner, devices: list[FakeInputDevice]) -> None:
    with pytest.raises(DeviceIOError, match="reading .* failed") as caught:
        with running(scanner) as run:
            devices[0].fail(OSError(errno.EIO, "Input/output error"))
            run.wait_ended()
    assert caught.value.code == "io"


def test_a_missing_device_is_unavailable(devices: list[FakeInputDevice]) -> None:
    scanner = EvdevScanner("s", parse("evdev:///dev/input/by-id/usb-Nothing-event-kbd"))
    with pytest.raises(DeviceUnavailable, match="cannot open /dev/input/by-id/usb-Nothing-event-kbd: No such file"):
        scanner.open()


def test_a_device_another_program_holds_is_unavailable(
    devices: list[FakeInputDevice], monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = FakeInputDevice(PATH)
    busy.grab_error = OSError(errno.EBUSY, "Device or resource busy")
    monkeypatch.setattr(evdev, "InputDevice", lambda path: busy)
    with pytest.raises(DeviceUnavailable, match="another program has grabbed it; `fuser -v .*` names it"):
        EvdevScanner("s", parse(f"evdev://{PATH}")).open()
    assert busy.calls == ["grab", "close"]


def test_run_before_open_is_refused() -> None:
    scanner = EvdevScanner("s", parse(f"evdev://{PATH}"))
    with pytest.raises(DeviceUnavailable, match="not open"):
        scanner.run(lambda event: None, threading.Event())


@pytest.mark.parametrize("kind, url, complaint", [
    ("scanner", f"evdev://{PATH}?grab=yes", "grab='yes'"),
    ("scanner", f"evdev://{PATH}?layout=fr", "unknown option 'layout'"),
    ("keypad", f"evdev://{PATH}?aim=1", "unknown option 'aim'"),
])
def test_configuration_errors(kind: str, url: str, complaint: str) -> None:
    with pytest.raises(DeviceConfigError, match=complaint):
        registry.create("dev", kind, url)


# -- keypad


@pytest.fixture
def keypad(devices: list[FakeInputDevice]) -> Iterator[EvdevKeypad]:
    device = registry.create("pad", "keypad", f"evdev://{PATH}")
    assert isinstance(device, EvdevKeypad)
    device.open()
    yield device
    device.close()


def test_keypad_keys_have_names(keypad: EvdevKeypad, devices: list[FakeInputDevice], keys: Keyboard) -> None:
    codes = [e.KEY_KP7, e.KEY_3, e.KEY_KPDOT, e.KEY_KPENTER, e.KEY_ENTER, e.KEY_BACKSPACE, e.KEY_ESC,
             e.KEY_F1, e.KEY_F12, e.KEY_NUMLOCK, e.KEY_KPPLUS, e.KEY_0]
    with running(keypad) as run:
        devices[0].send(keys.tap(*codes) + keys.key(e.KEY_KP4, 1) + keys.key(e.KEY_KP4, 2) + keys.key(e.KEY_KP4, 0))
        events = run.wait_for(11)
    assert [ev.key for ev in events if isinstance(ev, KeyPressed)] == [
        "7", "3", ".", "ENTER", "ENTER", "CLEAR", "CLEAR", "F1", "F12", "0", "4"]
    assert devices[0].calls == ["grab"]


def test_keypad_pin_entry(
    keypad: EvdevKeypad, devices: list[FakeInputDevice], keys: Keyboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    keypad.begin_pin_entry()
    with running(keypad) as run:
        devices[0].send(keys.tap(e.KEY_KP9, e.KEY_BACKSPACE, e.KEY_KP2, e.KEY_KP4, e.KEY_6, e.KEY_8, e.KEY_F2,
                                 e.KEY_KPENTER, e.KEY_KP5))
        events = run.wait_for(2)
    assert events == [PinEntered("pad", pin=Secret(b"2468")), KeyPressed("pad", key="5")]
    messages = [record.getMessage() for record in caplog.records]
    assert messages and not any(digit in message for message in messages for digit in "0123456789")
