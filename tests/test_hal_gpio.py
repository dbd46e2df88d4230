"""GPIO keypad, indicator and drawer against a fake RPi.GPIO that records every call with a timestamp.

The fake replaces RPi.GPIO at its API boundary (sys.modules), so the drivers run unchanged.
Keys and the drawer sensor are scripted per scan or per read, not per millisecond, so a
bounce pattern means the same thing on a fast laptop and a loaded CI runner.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator

import pytest

from appliance.hal import registry
from appliance.hal.address import parse
from appliance.hal.drawer_gpio import GpioDrawer
from appliance.hal.errors import DeviceConfigError, DeviceUnavailable, NotOnThisBoard
from appliance.hal.events import DrawerChanged, Event, KeyPressed, PinEntered, Secret
from appliance.hal.indicator_gpio import PATTERNS, GpioIndicator, Step
from appliance.hal.keypad_gpio import GpioKeypad
from tests.hal_running import WAIT, running


class FakeGPIO:
    """RPi.GPIO's API over simulated pins, recording each call as (monotonic time, call, args)."""

    BCM, BOARD = 11, 10
    OUT, IN = 0, 1
    LOW, HIGH = 0, 1
    PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22

    def __init__(self) -> None:
        self.mode: int | None = None
        self.history: list[tuple[float, str, tuple]] = []
        self.directions: dict[int, int] = {}
        self.levels: dict[int, int] = {}
        self.wiring: dict[int, Callable[[], int]] = {}  # an input whose level other pins decide
        self.output_hooks: list[Callable[[int, int], None]] = []
        self.scripts: dict[int, deque[int]] = {}
        self.changed = threading.Condition()

    def _record(self, call: str, *args: object) -> None:
        with self.changed:
            self.history.append((time.monotonic(), call, args))
            self.changed.notify_all()

    # -- the RPi.GPIO API the drivers use
    def setwarnings(self, flag: bool) -> None:
        self._record("setwarnings", flag)

    def setmode(self, mode: int) -> None:
        if self.mode is not None and mode != self.mode:
            raise ValueError("A different mode has already been set!")
        self.mode = mode
        self._record("setmode", mode)

    def setup(self, channel: int, direction: int, pull_up_down: int = 20, initial: int = -1) -> None:
        if self.mode is None:
            raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)")
        self._record("setup", channel, direction, pull_up_down, initial)
        self.directions[channel] = direction
        if direction == self.OUT:
            self.levels[channel] = self.LOW if initial == -1 else initial
        else:
            self.levels.setdefault(channel, self.HIGH if pull_up_down == self.PUD_UP else self.LOW)

    def output(self, channel: int, value: int) -> None:
        if self.directions.get(channel) != self.OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        self.levels[channel] = value
        for hook in self.output_hooks:
            hook(channel, value)
        self._record("output", channel, value)

    def input(self, channel: int) -> int:
        if channel not in self.directions:
            raise RuntimeError("You must setup() the GPIO channel first")
        if channel in self.wiring:
            return self.wiring[channel]()
        with self.changed:
            script = self.scripts.get(channel)
            if script:
                self.levels[channel] = script.popleft()
                self.changed.notify_all()
            return self.levels[channel]

    def cleanup(self, channel: int | list[int] | None = None) -> None:
        channels = list(self.directions) if channel is None else [channel] if isinstance(channel, int) else channel
        for pin in channels:
            self.directions.pop(pin, None)
        self._record("cleanup", tuple(channels))

    # -- what a test does to the pins
    def drive(self, pin: int, level: int) -> None:
        self.levels[pin] = level

    def script(self, pin: int, levels: list[int]) -> None:
        """Levels that successive reads of `pin` return; the last one stays."""
        with self.changed:
            self.scripts[pin] = deque(levels)

    def wait_script_read(self, pin: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: not self.scripts[pin], timeout=WAIT), "the script was never read"

    def writes(self, pin: int) -> list[tuple[float, int]]:
        return [(at, args[1]) for at, call, args in self.history if call == "output" and args[0] == pin]

    def levels_written(self, pin: int) -> list[int]:
        """The levels written to `pin`, repeats folded: what a logic analyser would show."""
        folded: list[int] = []
        for _, level in self.writes(pin):
            if not folded or folded[-1] != level:
                folded.append(level)
        return folded

    def wait_until(self, condition: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout=WAIT), "the pins never got there"

    def wait_for_write(self, pin: int, level: int) -> None:
        self.wait_until(lambda: any(v == level for _, v in self.writes(pin)))


class KeyMatrix:
    """A key matrix on the fake pins: a row reads low while a held key joins it to a column driven low.

    `play()` scripts the held keys one full scan at a time (a scan starts when the first column
    is driven low), so "held for 2 scans" is exact whatever the machine's speed.
    """

    def __init__(self, gpio: FakeGPIO, keypad: GpioKeypad):
        self.gpio, self.rows, self.cols = gpio, keypad.rows, keypad.cols
        self.where = {key: (r, c) for r, row in enumerate(keypad.layout) for c, key in enumerate(row)}
        self.held: set[tuple[int, int]] = set()
        self.script: deque[set[tuple[int, int]]] = deque()
        self.scans = 0
        self.done = threading.Condition()
        gpio.output_hooks.append(self._on_output)
        for row in self.rows:
            gpio.wiring[row] = lambda row=row: self._level(row)

    def play(self, *scans: str | tuple[str, ...]) -> None:
        """One entry per scan: the key (or keys) held during it, "" for none."""
        with self.done:
            for held in scans:
                keys = (held,) if isinstance(held, str) else held
                self.script.append({self.where[key] for key in keys if key})

    def hold(self, key: str, scans: int) -> list[str]:
        return [key] * scans

    def wait_played(self, extra_scans: int = 6) -> None:
        """Wait until the script is over and the keys have been released for a few scans."""
        with self.done:
            assert self.done.wait_for(lambda: not self.script, timeout=WAIT), "the keypad stopped scanning"
            target = self.scans + extra_scans
            assert self.done.wait_for(lambda: self.scans >= target, timeout=WAIT), "the keypad stopped scanning"

    def _on_output(self, pin: int, level: int) -> None:
        if pin == self.cols[0] and level == FakeGPIO.LOW:
            with self.done:
                self.held = self.script.popleft() if self.script else set()
                self.scans += 1
                self.done.notify_all()

    def _level(self, row_pin: int) -> int:
        r = self.rows.index(row_pin)
        for held_r, held_c in self.held:
            if held_r == r and self.gpio.levels[self.cols[held_c]] == FakeGPIO.LOW:
                return FakeGPIO.LOW
        return FakeGPIO.HIGH


@pytest.fixture
def gpio(monkeypatch: pytest.MonkeyPatch) -> FakeGPIO:
    fake = FakeGPIO()
    package = types.ModuleType("RPi")
    package.GPIO = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "RPi", package)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", fake)
    return fake


KEYPAD = "gpio://keypad?rows=5,6,13,19&cols=12,16,20"


@pytest.fixture
def keypad(gpio: FakeGPIO) -> Iterator[GpioKeypad]:
    pad = registry.create("keypad", "keypad", KEYPAD + "&scan_ms=1&debounce_ms=3")  # 3 scans, as by default, but quicker
    assert isinstance(pad, GpioKeypad)
    pad.open()
    yield pad
    pad.close()


def keys_of(events: list[Event]) -> list[str]:
    return [e.key for e in events if isinstance(e, KeyPressed)]


# -- keypad


def test_keypad_reads_the_default_layout(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        for key in ("1", "5", "9", "CLEAR", "0", "ENTER"):
            matrix.play(*matrix.hold(key, 4), *[""] * 4)
        matrix.wait_played()
    assert keys_of(run.events) == ["1", "5", "9", "CLEAR", "0", "ENTER"]


def test_by_default_a_key_counts_after_three_scans_5_ms_apart() -> None:
    pad = GpioKeypad("k", parse(KEYPAD))
    assert (pad.scans_needed, pad.scan_s) == (3, 0.005)
    assert pad.layout[3] == ("CLEAR", "0", "ENTER")
    assert GpioKeypad("k", parse("gpio://keypad?rows=5,6,13,19&cols=12,16,20,21")).layout[0] == ("1", "2", "3", "F1")


def test_chatter_shorter_than_the_debounce_gives_no_key(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        matrix.play("5", "", "5", "5", "", "5", "", "", "5", "5", "")
        matrix.wait_played()
    assert run.events == []


def test_a_bouncing_press_gives_one_key(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        # contacts bounce on the way down and on the way up, around a steady press
        matrix.play("5", "", "5", "", "5", "5", "5", "5", "5", "", "5", "", "5", "", "", "", "")
        matrix.wait_played()
    assert keys_of(run.events) == ["5"]


def test_a_long_press_gives_one_key(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        matrix.play(*matrix.hold("8", 100))
        matrix.wait_played()
    assert keys_of(run.events) == ["8"]


def test_keys_in_sequence_and_the_same_key_twice(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        matrix.play(*matrix.hold("1", 5), *[""] * 5, *matrix.hold("2", 5), *[""] * 5, *matrix.hold("2", 5))
        matrix.wait_played()
    assert keys_of(run.events) == ["1", "2", "2"]


def test_a_second_key_pressed_while_the_first_is_held(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    with running(keypad) as run:
        matrix.play(*matrix.hold("4", 5), *[("4", "6")] * 5, *matrix.hold("6", 5))
        matrix.wait_played()
    assert keys_of(run.events) == ["4", "6"]


def test_pin_entry_sends_one_secret_and_no_keys(
    keypad: GpioKeypad, gpio: FakeGPIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    matrix = KeyMatrix(gpio, keypad)
    keypad.begin_pin_entry()
    with running(keypad) as run:
        for key in ("9", "CLEAR", "1", "2", "3", "4", "ENTER", "7"):
            matrix.play(*matrix.hold(key, 4), *[""] * 4)
        matrix.wait_played()
    assert run.events[0] == PinEntered("keypad", pin=Secret(b"1234"))
    assert keys_of(run.events) == ["7"]  # the key after ENTER is an ordinary key again
    assert "1234" not in repr(run.events)
    messages = [record.getMessage() for record in caplog.records]
    assert messages, "PIN entry should leave a trace that it happened"
    assert not any(digit in message for message in messages for digit in "0123456789")


def test_pin_digits_left_over_from_an_abandoned_entry_are_forgotten(keypad: GpioKeypad, gpio: FakeGPIO) -> None:
    matrix = KeyMatrix(gpio, keypad)
    keypad.begin_pin_entry()
    with running(keypad) as run:
        matrix.play(*matrix.hold("5", 4), *[""] * 4)
        matrix.wait_played()
        keypad.begin_pin_entry()  # the daemon starts again (say, a new card)
        for key in ("1", "2", "3", "4", "ENTER"):
            matrix.play(*matrix.hold(key, 4), *[""] * 4)
        matrix.wait_played()
    assert run.events == [PinEntered("keypad", pin=Secret(b"1234"))]


def test_a_layout_option_names_the_keys(gpio: FakeGPIO) -> None:
    pad = GpioKeypad("k", parse("gpio://keypad?rows=5,6&cols=12,16&layout=1,2/ENTER,CANCEL&debounce_ms=5&scan_ms=5"))
    pad.open()
    matrix = KeyMatrix(gpio, pad)
    with running(pad) as run:
        matrix.play("CANCEL", "", "2", "")
        matrix.wait_played()
    pad.close()
    assert keys_of(run.events) == ["CANCEL", "2"]


def test_the_keypad_wiring_is_set_up_and_cleaned_up(gpio: FakeGPIO) -> None:
    pad = GpioKeypad("k", parse(KEYPAD + "&layout=1,2,3/4,5,6/7,8,9/CLEAR,0,ENTER"))
    pad.open()
    setups = {args[0]: args[1:] for _, call, args in gpio.history if call == "setup"}
    assert setups[12] == (gpio.OUT, gpio.PUD_OFF, gpio.HIGH)  # columns idle high
    assert setups[5] == (gpio.IN, gpio.PUD_UP, -1)  # rows pulled up
    assert gpio.mode == gpio.BCM
    pad.close()
    pad.close()  # twice is harmless
    cleanups = [args for _, call, args in gpio.history if call == "cleanup"]
    assert cleanups == [((12, 16, 20, 5, 6, 13, 19),)]  # only its own pins
    assert gpio.directions == {}


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("gpio://keypad?cols=12,16,20", "needs rows="),
        ("gpio://keypad?rows=5,6,13,19&cols=12,16,99", "BCM pins are 0 to 27"),
        ("gpio://keypad?rows=5,6,13,19&cols=12,16,5", "pin 5 is used for both rows and cols"),
        ("gpio://keypad?rows=5,6&cols=12,16", "give layout="),
        ("gpio://keypad?rows=5,6&cols=12,16&layout=1,2/3", "2 rows of 2 keys"),
        ("gpio://keypad?rows=5,6&cols=12,16&layout=1,2/3,1", "'1' appears twice"),
        ("gpio://keypad?rows=5,6&cols=12,16&layout=1,2/3,Ä", "must be 1-8 of"),
        ("gpio://keypad?rows=5,6,13,19&cols=12,16,20&scan_ms=0", "scan_ms=0"),
        ("gpio://keypad?rows=5,6,13,19&cols=12,16,20&repeat=1", "unknown option 'repeat'"),
    ],
)
def test_keypad_configuration_errors(url: str, complaint: str) -> None:
    with pytest.raises(DeviceConfigError, match=complaint):
        registry.create("k", "keypad", url)


# -- off the board


def test_off_the_board_open_says_gpio_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real RPi.GPIO (the "board" extra) refuses to import here with RuntimeError; without
    # it the import fails with ImportError. Either way the technician reads the same thing.
    monkeypatch.delitem(sys.modules, "RPi.GPIO", raising=False)
    keypad = registry.create("k", "keypad", KEYPAD)
    with pytest.raises(NotOnThisBoard, match=r"^k: GPIO is not available on this board \(.+\)$") as caught:
        keypad.open()
    assert caught.value.code == "not_on_this_board"
    assert isinstance(caught.value, DeviceUnavailable) and isinstance(caught.value, OSError)


@pytest.mark.parametrize("kind, url", [
    ("keypad", KEYPAD),
    ("indicator", "gpio://indicator?led_green=17"),
    ("drawer", "gpio://drawer?solenoid=23"),
])
def test_without_rpi_gpio_every_gpio_device_reports_not_on_this_board(
    monkeypatch: pytest.MonkeyPatch, kind: str, url: str
) -> None:
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)  # makes the import raise ImportError
    device = registry.create("dev", kind, url)
    with pytest.raises(NotOnThisBoard, match="GPIO is not available on this board"):
        device.open()


# -- indicator


def quick(patterns: dict[str, tuple[Step, ...]]) -> dict[str, tuple[Step, ...]]:
    """The same patterns with 1 ms steps, so playing them takes no time."""
    return {name: tuple(Step(step.on, 1) for step in steps) for name, steps in patterns.items()}


@pytest.fixture
def indicator(gpio: FakeGPIO) -> Iterator[GpioIndicator]:
    device = registry.create("lamp", "indicator", "gpio://indicator?led_green=17&led_red=27&buzzer=22")
    assert isinstance(device, GpioIndicator)
    device.patterns = quick(PATTERNS)
    device.open()
    yield device
    device.close()


@pytest.mark.parametrize("pattern, lamp, other", [("ok", 17, 27), ("error", 27, 17)])
def test_ok_and_error_beep_with_their_colour(
    indicator: GpioIndicator, gpio: FakeGPIO, pattern: str, lamp: int, other: int
) -> None:
    indicator.signal(pattern)
    gpio.wait_for_write(lamp, gpio.LOW)  # the lamp goes off last
    assert gpio.levels_written(lamp) == [1, 0]
    assert gpio.levels_written(22) == [1, 0]  # buzzer on, then off
    assert gpio.levels_written(other) == [0]  # the other colour never lights
    buzzer_off = next(i for i, (_, call, args) in enumerate(gpio.history) if args == (22, 0))
    lamp_off = max(i for i, (_, call, args) in enumerate(gpio.history) if args == (lamp, 0))
    assert buzzer_off < lamp_off  # the beep is shorter than the light


def test_error_is_a_beep_with_red_longer_than_ok() -> None:
    ok, error = PATTERNS["ok"], PATTERNS["error"]
    assert all("led_red" in step.on for step in error) and not any("led_green" in step.on for step in error)
    beep = {name: sum(s.ms for s in steps if "buzzer" in s.on) for name, steps in PATTERNS.items()}
    assert beep["error"] > beep["ok"] > 0
    assert sum(s.ms for s in ok) < sum(s.ms for s in error)
    assert PATTERNS["idle"] == ()


def test_attention_beeps_three_times(indicator: GpioIndicator, gpio: FakeGPIO) -> None:
    indicator.signal("attention")
    gpio.wait_until(lambda: gpio.levels_written(22) == [1, 0] * 3 and gpio.levels_written(27) == [1, 0] * 3)
    assert gpio.levels_written(17) == [0]


def test_signal_returns_at_once_and_a_new_signal_cuts_the_old_one_short(gpio: FakeGPIO) -> None:
    lamp = GpioIndicator("lamp", parse("gpio://indicator?led_red=27"))
    lamp.patterns = {"error": (Step(frozenset({"led_red"}), 60_000),), "idle": ()}
    lamp.open()
    lamp.signal("error")  # a minute-long pattern: returning at all shows the caller was not held
    gpio.wait_for_write(27, gpio.HIGH)
    lamp.signal("idle")
    gpio.wait_for_write(27, gpio.LOW)
    lamp.close()
    assert gpio.levels_written(27) == [1, 0]
    assert [args for _, call, args in gpio.history if call == "cleanup"] == [((27,),)]


def test_indicator_misuse_is_reported(gpio: FakeGPIO) -> None:
    lamp = GpioIndicator("lamp", parse("gpio://indicator?buzzer=22"))
    with pytest.raises(DeviceUnavailable, match="not open"):
        lamp.signal("ok")
    lamp.open()
    with pytest.raises(DeviceConfigError, match="unknown signal 'party'; known: ok, error, attention, idle"):
        lamp.signal("party")
    lamp.close()


@pytest.mark.parametrize("url, complaint", [
    ("gpio://indicator", "names no pin"),
    ("gpio://indicator?led_green=17&buzzer=17", "pin 17 is used for both led_green and buzzer"),
    ("gpio://indicator?led_blue=5", "unknown option 'led_blue'"),
])
def test_indicator_configuration_errors(url: str, complaint: str) -> None:
    with pytest.raises(DeviceConfigError, match=complaint):
        registry.create("lamp", "indicator", url)


# -- drawer


DRAWER = "gpio://drawer?solenoid=23&sensor=24&pulse_ms=20&open_level=high&debounce_ms=30"


@pytest.fixture
def drawer(gpio: FakeGPIO) -> Iterator[GpioDrawer]:
    device = registry.create("drawer", "drawer", DRAWER)
    assert isinstance(device, GpioDrawer)
    device.open()
    yield device
    device.close()


def test_kick_pulses_the_solenoid_for_pulse_ms(drawer: GpioDrawer, gpio: FakeGPIO) -> None:
    drawer.kick()
    (on_at, on), (off_at, off) = gpio.writes(23)
    assert (on, off) == (gpio.HIGH, gpio.LOW)
    assert off_at - on_at >= 0.020  # sleep never returns early: a lower bound that cannot flake
    assert gpio.levels[23] == gpio.LOW


def test_the_sensor_reads_open_at_the_configured_level(drawer: GpioDrawer, gpio: FakeGPIO) -> None:
    gpio.drive(24, gpio.HIGH)
    assert drawer.is_open() is True
    gpio.drive(24, gpio.LOW)
    assert drawer.is_open() is False
    low = GpioDrawer("d", parse("gpio://drawer?solenoid=23&sensor=24&open_level=low"))
    low.open()
    assert low.is_open() is True
    low.close()


def test_a_drawer_without_sensor_cannot_tell(gpio: FakeGPIO) -> None:
    blind = GpioDrawer("d", parse("gpio://drawer?solenoid=23"))
    blind.open()
    assert blind.is_open() is None
    with running(blind) as run:
        pass
    assert run.events == []
    blind.close()


def test_the_sensor_is_watched_with_debounce(drawer: GpioDrawer, gpio: FakeGPIO) -> None:
    assert drawer.reads_needed == 3
    H, L = gpio.HIGH, gpio.LOW
    gpio.script(24, [
        L, L, L,
        H, L, H, L,  # chatter: never three readings in a row
        H, H, L, H, H, H, H, H,  # opened, bouncing on the way
        L, H, L, L, L, L, L,  # shut, bouncing too
    ])
    with running(drawer) as run:
        gpio.wait_script_read(24)  # each change is reported before the next reading is taken
    assert run.events == [DrawerChanged("drawer", open=False), DrawerChanged("drawer", open=True),
                      DrawerChanged("drawer", open=False)]


@pytest.mark.parametrize("url, complaint", [
    ("gpio://drawer?sensor=24", "needs solenoid="),
    ("gpio://drawer?solenoid=23&sensor=23", "pin 23 is used for both solenoid and sensor"),
    ("gpio://drawer?solenoid=23&pulse_ms=5000", "pulse_ms=5000"),
    ("gpio://drawer?solenoid=23&open_level=up", "open_level='up'"),
])
def test_drawer_configuration_errors(url: str, complaint: str) -> None:
    with pytest.raises(DeviceConfigError, match=complaint):
        registry.create("drawer", "drawer", url)
