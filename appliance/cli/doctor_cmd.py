"""`appliance doctor`: the field technician's check of every configured device.

Lists the devices, probes each (driver, address, online, what it reports, last error),
and on request prints a test page, opens the drawer (a journaled no-sale), beeps, shows
a test frame on the customer display, or waits for a scan, a key or a card. With `--sim`
the same runs against simulators (and the simulated scanner, keypad and card are
"used" by the doctor itself). Exit status 4 when a required device is missing or a
requested check failed.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from typing import Any

from appliance import native
from appliance.cli.common import approver, open_store, settings_from, sign_in
from appliance.config import Settings
from appliance.core.clock import SystemClock
from appliance.core.drawer import no_sale
from appliance.core.till import Till
from appliance.display.escpos import to_escpos
from appliance.display.escpos_render import to_png
from appliance.display.testpage import printer_test_page
from appliance.errors import InputError
from appliance.hal import registry
from appliance.hal.base import Device, InputDevice
from appliance.hal.drawer_printer import link
from appliance.hal.errors import HalError
from appliance.hal.events import CardInserted, Event, KeyPressed, Scanned

EXIT_HARDWARE = 4
WAITS = {"scan": ("scanner", Scanned), "key": ("keypad", KeyPressed), "card": ("card_reader", CardInserted)}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("doctor", help="check the terminal's devices (for field technicians)")
    parser.add_argument("--sim", action="store_true", help="check simulators instead of the configured hardware")
    parser.add_argument("--test-page", action="store_true", help="print the test page")
    parser.add_argument("--png", type=Path, help="with --sim: save the printed paper as a PNG image")
    parser.add_argument("--open-drawer", action="store_true", help="open the drawer (a journaled no-sale)")
    parser.add_argument("--operator", help="operator code for --open-drawer (PIN from $APPLIANCE_PIN)")
    parser.add_argument("--supervisor", help="supervisor code approving --open-drawer")
    parser.add_argument("--reason", default="", help="why the drawer is opened")
    parser.add_argument("--beep", action="store_true", help="sound the buzzer and light the LED")
    parser.add_argument("--display", action="store_true", help="show a test frame on the customer display")
    parser.add_argument("--wait", choices=sorted(WAITS), help="wait for a scan, a key press or a card")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    parser.add_argument("--json", action="store_true", help="the status table as JSON")
    parser.set_defaults(func=run)


def _specs(settings: Settings, sim: bool) -> list[tuple[str, str, str, bool]]:
    return [(d.name, d.kind, f"sim://{d.kind}" if sim else d.address, d.required) for d in settings.devices]


def _probe(
    name: str, kind: str, address: str, required: bool, built: Device | HalError
) -> tuple[dict[str, Any], Device | None]:
    row: dict[str, Any] = {"name": name, "kind": kind, "address": address, "required": required,
                           "driver": "", "online": False, "info": "", "error": ""}
    try:
        if isinstance(built, HalError):
            raise built
        device = built
        row["driver"] = type(device).__name__
        device.open()
        row["info"] = device.probe()
        row["online"] = True
        return row, device
    except HalError as exc:
        row["error"] = str(exc)
        return row, None


def _first(devices: dict[str, Device], kind: str) -> Device | None:
    return next((d for d in devices.values() if d.kind == kind), None)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    built = {}
    for name, kind, address, required in _specs(settings, args.sim):
        try:
            built[name] = registry.create(name, kind, address)
        except HalError as exc:
            built[name] = exc
    link({name: d for name, d in built.items() if not isinstance(d, HalError)})
    rows, devices = [], {}
    for spec in _specs(settings, args.sim):
        row, device = _probe(*spec, built[spec[0]])
        rows.append(row)
        if device is not None:
            devices[row["name"]] = device
    failures = [f"required device {r['name']} ({r['kind']}) is missing: {r['error']}"
                for r in rows if r["required"] and not r["online"]]
    try:
        failures += _actions(args, settings, devices)
    finally:
        for device in devices.values():
            device.close()
    if args.json:
        print(json.dumps({"native": native.describe(), "devices": rows, "problems": failures}, indent=2,
                         ensure_ascii=False))
    else:
        _table(rows)
        print(native.describe())
        for problem in failures:
            print(f"PROBLEM: {problem}")
    return EXIT_HARDWARE if failures else 0


def _table(rows: list[dict[str, Any]]) -> None:
    print(f"{'device':<14}{'kind':<14}{'driver':<18}{'online':<8}{'address / info / error'}")
    for r in rows:
        detail = r["info"] if r["online"] else r["error"]
        flag = "yes" if r["online"] else ("NO" if r["required"] else "no")
        print(f"{r['name']:<14}{r['kind']:<14}{r['driver'] or '-':<18}{flag:<8}{r['address']}")
        if detail:
            print(f"{'':<54}{detail}")


def _actions(args: argparse.Namespace, settings: Settings, devices: dict[str, Device]) -> list[str]:
    problems = []

    def attempt(what: str, kind: str, action) -> None:
        device = _first(devices, kind)
        if device is None:
            problems.append(f"{what}: no working {kind}")
            return
        try:
            action(device)
            print(f"{what}: done on {device.name}")
        except HalError as exc:
            problems.append(f"{what}: {exc}")

    if args.test_page:
        def print_page(printer: Any) -> None:
            page = printer_test_page(settings.shop.name, settings.device.id, printer.columns)
            printer.write(to_escpos(page, columns=printer.columns, dots=printer.dots, chinese=printer.chinese))
            if args.png is not None and hasattr(printer, "output"):
                print(f"paper image: {to_png(bytes(printer.output), printer.dots, args.png)}")
        attempt("test page", "printer", print_page)
    if args.open_drawer:
        _open_drawer(args, settings, devices, problems)
    if args.beep:
        attempt("beep", "indicator", lambda d: d.signal("ok"))
    if args.display:
        attempt("display", "display", lambda d: d.show(("APPLIANCE DOCTOR", "0123456789ABCDEFGHIJ")))
    if args.wait:
        kind, wanted = WAITS[args.wait]
        device = _first(devices, kind)
        if device is None:
            problems.append(f"wait for {args.wait}: no working {kind}")
        else:
            event = _wait(device, wanted, args.timeout, args.sim)
            if event is None:
                problems.append(f"no {args.wait} within {args.timeout:g} s from {device.name}")
            else:
                print(f"{args.wait} received from {device.name}: {_describe(event)}")
    return problems


def _open_drawer(args: argparse.Namespace, settings: Settings, devices: dict[str, Device], problems: list[str]) -> None:
    drawer = _first(devices, "drawer")
    if drawer is None:
        problems.append("open drawer: no working drawer")
        return
    if not args.operator:
        raise InputError("--open-drawer needs --operator (and a supervisor's approval and --reason)")
    with open_store(settings) as store:
        till = Till(settings, store, SystemClock())
        operator = sign_in(till, args.operator)
        no_sale(store, operator, approver(till, args.supervisor), args.reason, device=settings.device.id,
                at=till.clock.now())
    try:
        drawer.kick()  # type: ignore[attr-defined]
        print(f"drawer opened (no sale journaled): {drawer.name}")
    except HalError as exc:
        problems.append(f"open drawer: {exc}")


def _wait(device: Device, wanted: type, timeout: float, sim: bool) -> Event | None:
    """Run the input device's loop until the wanted event arrives or the time is up."""
    assert isinstance(device, InputDevice)
    got: list[Event] = []
    stop = threading.Event()

    def emit(event: Event) -> None:
        if isinstance(event, wanted):
            got.append(event)
            stop.set()

    if sim:  # nobody stands at a simulator: the doctor uses it like a technician would
        {"scanner": lambda: device.scan("6900000000014"), "keypad": lambda: device.press("5"),  # type: ignore[attr-defined]
         "card_reader": lambda: device.insert(_TestCard())}[device.kind]()  # type: ignore[attr-defined]
    worker = threading.Thread(target=_run_quietly, args=(device, emit, stop), daemon=True)
    worker.start()
    stop.wait(timeout)
    stop.set()
    worker.join(timeout=2)
    return got[0] if got else None


def _run_quietly(device: Any, emit, stop: threading.Event) -> None:
    try:
        device.run(emit, stop)
    except HalError as exc:
        print(f"{device.name}: {exc}")
        stop.set()


def _describe(event: Event) -> str:
    if isinstance(event, Scanned):
        return event.code
    if isinstance(event, KeyPressed):
        return event.key
    if isinstance(event, CardInserted):
        return f"ATR {event.atr.hex(' ').upper()}{' (contactless)' if event.contactless else ''}"
    return type(event).__name__


class _TestCard:
    """What the simulated reader holds during `doctor --sim --wait card`: answers 6A82 to everything."""

    atr = bytes.fromhex("3B00")

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        return b"", 0x6A, 0x82
