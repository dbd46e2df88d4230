"""The device manager: events to an asyncio queue, offline and back, hotplug, addresses and registry."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from appliance.hal import address, registry
from appliance.hal.errors import DeviceConfigError, HalError
from appliance.hal.events import CardInserted, DeviceOffline, DeviceOnline, KeyPressed, PinEntered, Scanned, Secret
from appliance.hal.hotplug import Hotplug
from appliance.hal.manager import DeviceManager, asyncio_emitter

SIMS = [(kind, kind, f"sim://{kind}", kind == "printer") for kind in
        ("scanner", "keypad", "card_reader", "stripe_reader", "scale", "printer", "drawer", "display", "indicator")]


def wait_for(events: list, predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in list(events):
            if predicate(event):
                return event
        time.sleep(0.01)
    raise AssertionError(f"no matching event in {events!r}")


@pytest.fixture
def manager():
    events: list = []
    lock = threading.Lock()

    def emit(event):
        with lock:
            events.append(event)

    m = DeviceManager(SIMS, emit, backoff=(0.02, 0.2))
    m.events = events
    m.start()
    yield m
    m.stop()


def test_every_simulator_comes_online(manager):
    for name, *_ in SIMS:
        wait_for(manager.events, lambda e, n=name: isinstance(e, DeviceOnline) and e.device == n)
    assert manager.missing_required() == []


def test_scans_and_keys_arrive_as_typed_events(manager):
    scanner = manager.device("scanner")
    wait_for(manager.events, lambda e: isinstance(e, DeviceOnline) and e.device == "scanner")
    scanner.scan("6900000000014", "E0")
    event = wait_for(manager.events, lambda e: isinstance(e, Scanned))
    assert (event.device, event.code, event.symbology) == ("scanner", "6900000000014", "E0")
    keypad = manager.device("keypad")
    keypad.press("7")
    assert wait_for(manager.events, lambda e: isinstance(e, KeyPressed)).key == "7"


def test_pin_entry_never_emits_digits(manager):
    keypad = manager.device("keypad")
    keypad.begin_pin_entry()
    keypad.press("1", "2", "3", "4", "ENTER")
    event = wait_for(manager.events, lambda e: isinstance(e, PinEntered))
    assert event.pin.reveal() == b"1234"
    assert "1234" not in repr(event) and not any(isinstance(e, KeyPressed) for e in manager.events)


def test_an_unplugged_device_goes_offline_and_comes_back(manager):
    scanner = manager.device("scanner")
    wait_for(manager.events, lambda e: isinstance(e, DeviceOnline) and e.device == "scanner")
    scanner.unplug()
    offline = wait_for(manager.events, lambda e: isinstance(e, DeviceOffline) and e.device == "scanner")
    assert "unplugged" in offline.reason and not manager.states["scanner"].online
    scanner.plug()
    manager.retry_now()
    wait_for(manager.events, lambda e: isinstance(e, DeviceOnline) and e.device == "scanner" and e.at > offline.at)
    scanner.scan("123")
    wait_for(manager.events, lambda e: isinstance(e, Scanned) and e.code == "123")


def test_output_devices_are_used_through_the_manager(manager):
    printer = manager.device("printer")
    manager.use("printer", lambda p: p.write(b"hello"))
    assert printer.jobs == [b"hello"]
    printer.plugged = False
    with pytest.raises(HalError):
        manager.use("printer", lambda p: p.write(b"lost"))
    wait_for(manager.events, lambda e: isinstance(e, DeviceOffline) and e.device == "printer")
    assert [s.name for s in manager.missing_required()] == ["printer"]
    printer.plugged = True
    manager.use("printer", lambda p: p.write(b"back"))
    assert manager.states["printer"].online and printer.jobs[-1] == b"back"


def test_a_device_that_cannot_be_built_is_reported_not_fatal():
    events: list = []
    m = DeviceManager([("printer", "printer", "sim://printer?paper=57", True)], events.append)
    assert m.device("printer") is None and "paper=57" in m.states["printer"].last_error
    m.start()
    m.stop()


def test_events_reach_an_asyncio_queue_from_device_threads():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        m = DeviceManager([("card", "card_reader", "sim://card", False)], asyncio_emitter(asyncio.get_running_loop(), queue),
                          backoff=(0.02, 0.2))
        m.start()
        try:
            assert isinstance(await asyncio.wait_for(queue.get(), 5), DeviceOnline)

            class Card:
                atr = b"\x3b\x00"

                def transmit(self, apdu):
                    return b"", 0x90, 0x00

            m.device("card").insert(Card())
            event = await asyncio.wait_for(queue.get(), 5)
            assert isinstance(event, CardInserted) and event.atr == b"\x3b\x00"
        finally:
            m.stop()

    asyncio.run(main())


def test_hotplug_add_events_retry_devices():
    seen = []
    hotplug = Hotplug(lambda action, path: seen.append((action, path)))

    class Udev:
        def __init__(self, action, subsystem, device_path):
            self.action, self.subsystem, self.device_path = action, subsystem, device_path

    hotplug.handle(Udev("add", "tty", "/devices/usb1/ttyACM0"))
    hotplug.handle(Udev("remove", "input", "/devices/usb1/input7"))
    hotplug.handle(Udev("change", "tty", "/x"))
    hotplug.handle(Udev("add", "block", "/devices/sda"))
    assert seen == [("add", "/devices/usb1/ttyACM0"), ("remove", "/devices/usb1/input7")]


def test_secret_never_shows_its_content():
    secret = Secret(b"%B4761739001010119^DOE/JOHN^2212?")
    assert "4761" not in repr(secret) and "4761" not in str(secret) and len(secret) == 33


@pytest.mark.parametrize("url, message", [
    ("printer", "not a device address"),
    ("bluetooth://aa:bb", "unknown address scheme 'bluetooth'"),
    ("serial://", "names no device"),
    ("tcp://10.0.0.9", "needs a host and a port"),
    ("tcp://10.0.0.9:99999", "needs a host and a port"),
    ("usb://epson", "vendor:product id in hex"),
    ("sim://printer?paper=58&paper=80", "given twice"),
])
def test_bad_addresses(url, message):
    with pytest.raises(DeviceConfigError, match=message):
        address.parse(url)


def test_registry_names_what_a_kind_accepts():
    with pytest.raises(DeviceConfigError, match="no printer driver for pcsc:// addresses; printer takes file, serial, sim, tcp, usb"):
        registry.create("p", "printer", "pcsc://reader")
    with pytest.raises(DeviceConfigError, match="unknown device kind 'toaster'"):
        registry.create("t", "toaster", "sim://toaster")
    parsed = address.parse("gpio://keypad?rows=5,6,13,19&cols=12,16,20")
    assert (parsed.scheme, parsed.target, parsed.int_list("rows")) == ("gpio", "keypad", [5, 6, 13, 19])
    assert address.parse("pcsc://ACS ACR122U 00 00").target == "ACS ACR122U 00 00"


def test_a_udev_add_brings_an_unplugged_device_back_at_once():
    """The backoff here is a minute; only the plug-in event can bring the scanner back in time."""
    events: list = []
    m = DeviceManager([("scanner", "scanner", "sim://scanner", True)], events.append, backoff=(60.0, 60.0))
    m.start()
    try:
        scanner = m.device("scanner")
        wait_for(events, lambda e: isinstance(e, DeviceOnline))
        scanner.unplug()
        offline = wait_for(events, lambda e: isinstance(e, DeviceOffline))
        scanner.plug()
        m.watch_hotplug()

        class Udev:
            action, subsystem, device_path = "add", "tty", "/devices/usb1/ttyACM0"

        m.hotplug.handle(Udev())
        wait_for(events, lambda e: isinstance(e, DeviceOnline) and e.at > offline.at)
    finally:
        m.stop()


def test_abandoned_pin_entry_keeps_no_digits(manager):
    keypad = manager.device("keypad")
    keypad.begin_pin_entry()
    keypad.press("9", "9")
    keypad.end_pin_entry()  # the card was pulled
    keypad.press("5")  # an ordinary key again
    assert wait_for(manager.events, lambda e: isinstance(e, KeyPressed)).key == "5"
    keypad.begin_pin_entry()
    keypad.press("1", "2", "3", "4", "ENTER")
    assert wait_for(manager.events, lambda e: isinstance(e, PinEntered)).pin.reveal() == b"1234"


def test_a_wrong_request_does_not_take_a_device_offline(manager):
    from appliance.hal.errors import DeviceConfigError

    wait_for(manager.events, lambda e: isinstance(e, DeviceOnline) and e.device == "indicator")

    def typo(device):
        raise DeviceConfigError("unknown pattern 'typo'")

    with pytest.raises(DeviceConfigError):
        manager.use("indicator", typo)
    assert manager.states["indicator"].online
