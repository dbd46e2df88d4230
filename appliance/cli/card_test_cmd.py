"""`appliance card-test`: one card payment against a reader, outcome as JSON, for technicians in the field.

It runs the same kernels as the till (contact or contactless by the card's ATR) with
the terminal parameters of the configuration. With an acquirer (`--host` or
`[payments] host`) an approved test payment is reversed at once, so a technician's
test never leaves money reserved on a card; without one the card decides offline. The
JSON holds nothing a receipt could not: masked PAN, TVR/TSI, CVM, cryptogram type.
"""

from __future__ import annotations

import argparse
import itertools
import json
import queue
import secrets
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from appliance.cli.common import money, settings_from
from appliance.core import card_setup
from appliance.core.card_host import HostDown, HostNoAnswer, transmitted
from appliance.core.host_queue import SendError
from appliance.emv import contact, contactless
from appliance.emv.apdu import Channel
from appliance.emv.defaults import load_ca_keys
from appliance.emv.model import Candidate, OnlineRequest, OnlineResponse, Outcome, TerminalConfig, Transaction
from appliance.emv.tvr import tsi, tvr
from appliance.errors import InputError
from appliance.hal import address
from appliance.hal.cardreader_pcsc import PcscCardReader
from appliance.hal.errors import HalError
from appliance.hal.events import CardInserted
from appliance.native.secret import Secret


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("card-test", help="run one card payment against a reader and print the outcome as JSON")
    parser.add_argument("--reader", required=True, help="PC/SC reader name, or a unique part of it")
    parser.add_argument("--amount", default="1.00", help="amount of the test payment (default 1.00)")
    parser.add_argument("--pin", help="PIN to give when the card asks for one (default: PIN bypassed)")
    parser.add_argument("--host", help="acquirer as tcp://HOST:PORT (default: [payments] host; none: decide offline)")
    parser.add_argument("--ca-keys", help="CA public key file for offline data authentication (default: [payments] ca_keys)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a card (default 30)")
    parser.set_defaults(func=run)


class _Technician:
    """The cardholder side for a test: first application by priority, the PIN of the command line once.

    A PIN the card rejected is not offered again: the same wrong PIN would only count the
    card's PIN try counter down to blocked (Book 3 10.5.1), so the second ask is bypassed.
    """

    def __init__(self, pin: str | None):
        self._pin = Secret(pin.encode()) if pin else None
        self._given = False
        self.asked: list[str] = []

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        self.asked.append(f"application chosen: {candidates[0].label}")
        return candidates[0]

    def pin(self, *, online: bool, tries_left: int | None) -> Secret | None:
        kind = "online" if online else "offline"
        if self._pin is None:
            self.asked.append(f"{kind} PIN asked (bypassed)")
            return None
        if self._given:
            self.asked.append(f"{kind} PIN asked again (bypassed: the PIN given was wrong, "
                              f"{tries_left if tries_left is not None else 'unknown'} tries left)")
            return None
        self._given = True
        self.asked.append(f"{kind} PIN asked (given)")
        return self._pin


def _wait_for_card(reader: PcscCardReader, seconds: float) -> CardInserted:
    """The insertion (or a card already there) within `seconds`; a reader that fails while watched says so at once."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def watch() -> None:
        try:
            reader.run(events.put, stop)
        except HalError as exc:  # handed to the waiting thread, not lost with this one
            events.put(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, HalError):
                raise event
            if isinstance(event, CardInserted):
                return event
        raise InputError(f"no card in {reader.reader!r} within {seconds:g} s: insert or tap a card and try again")
    finally:
        stop.set()
        watcher.join()  # run() honours stop within WAIT_MS; its context must be gone before close()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.host is not None:
        settings = replace(settings, payments=replace(settings.payments, host=args.host))
    config = card_setup.terminal_config(settings)
    if args.ca_keys:
        config = replace(config, ca_keys=load_ca_keys(settings.resolve(args.ca_keys)))
    acquirer = card_setup.acquirer(settings)
    encrypt_pin = card_setup.pin_encryptor(settings)
    if args.pin is not None:
        config = _with_pin_entry(config, online=encrypt_pin is not None)
    amount = money(args.amount, settings)
    reader = PcscCardReader("card-test", address.parse(f"pcsc://{args.reader}"))
    try:
        reader.open()
        inserted = _wait_for_card(reader, args.wait)
        result = _pay(reader, inserted.contactless, config, acquirer, encrypt_pin, amount, args.pin)
    except HalError as exc:
        raise InputError(f"card reader: {exc}") from exc
    finally:
        reader.close()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["decision"] in ("approved", "approved_offline") else 1


def _with_pin_entry(config: TerminalConfig, *, online: bool) -> TerminalConfig:
    """`--pin` is the PIN pad: offline PIN always, online PIN only with a PIN key to encipher it.

    The till's configuration has a PIN pad only with a PIN key (card_setup), which would
    leave an offline-PIN card untestable here; without the key, Terminal Capabilities
    (9F33, Book 4 Annex A2) byte 2 bit 7 "enciphered PIN for online verification" is
    cleared so the card's CVM list moves on rather than sending a PIN the bank never gets.
    """
    capabilities = bytearray(config.capabilities)
    if not online:
        capabilities[1] &= ~0x40 & 0xFF
    return replace(config, pin_pad=True, capabilities=bytes(capabilities))


def _pay(reader: PcscCardReader, is_contactless: bool, config: TerminalConfig, acquirer: Any,
         encrypt_pin: Callable[[Secret, Secret], Secret] | None, amount: int, pin: str | None) -> dict[str, Any]:
    technician = _Technician(pin)
    channel = Channel(reader.transmit)
    stans = itertools.count(secrets.randbelow(900_000) + 1)
    host: dict[str, Any] = {"asked": False}

    def go_online(request: OnlineRequest) -> OnlineResponse:
        host["asked"] = True
        if acquirer is None:
            host["note"] = "no acquirer configured: decided offline"
            return OnlineResponse(False, "", unable_to_go_online=True)
        at = datetime.now().astimezone()
        stan = next(stans)
        try:
            pin_block = encrypt_pin(request.pin, request.pan) if request.pin is not None and encrypt_pin else None
            reply = acquirer.authorize(stan=stan, amount=amount, tip=0, request=request, pin_block=pin_block, at=at)
        except HostDown as exc:
            host["note"] = str(exc)
            return OnlineResponse(False, "", unable_to_go_online=True)
        except HostNoAnswer as exc:  # it may have been approved at the bank: reverse it as the till would
            host["note"] = str(exc)
            host["reversal"] = _reverse(acquirer, stan, amount, at, "no answer")
            return OnlineResponse(False, "Z3")
        if reply.approved:  # a test must not keep money on the card
            host["reversal"] = _reverse(acquirer, stan, amount, at, "card test")
        return OnlineResponse(reply.approved, reply.response_code, reply.auth_code, reply.issuer_auth_data)

    now = datetime.now()
    kernel = contactless.run if is_contactless else contact.run
    started = time.perf_counter()
    outcome = kernel(channel, config, Transaction(amount=amount), technician, go_online, now=now)
    return _report(outcome, channel.exchanges, time.perf_counter() - started, technician.asked, host)


def _reverse(acquirer: Any, stan: int, amount: int, at: datetime, reason: str) -> str:
    """The reversal's response code, or what went wrong: the technician must know money may still be held."""
    try:
        return acquirer.reversal({"original_mti": "0100", "amount": amount, "stan": stan,
                                  "transmitted": transmitted(at), "reason": reason})
    except SendError as exc:
        return f"not reversed ({exc}): ask the acquirer to reverse STAN {stan:06d}"


def _report(outcome: Outcome, exchanges: int, seconds: float, asked: list[str], host: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision": outcome.decision, "reason": outcome.reason, "interface": outcome.interface,
        "aid": outcome.aid.hex().upper(), "label": outcome.label, "masked_pan": outcome.masked_pan,
        "expiry": outcome.expiry, "tvr": outcome.tvr.hex().upper(), "tvr_bits": tvr(outcome.tvr).describe(),
        "tsi": outcome.tsi.hex().upper(), "tsi_bits": tsi(outcome.tsi).describe(), "cvm": outcome.cvm,
        "cvm_results": outcome.cvm_results.hex().upper(), "cryptogram_type": outcome.cryptogram_type,
        "authorisation_code": outcome.auth_code, "response_code": outcome.response_code,
        "signature_required": outcome.signature_required, "host": host, "cardholder": asked,
        "apdus": exchanges, "milliseconds": round(seconds * 1000, 1), "trace": outcome.trace,
    }
