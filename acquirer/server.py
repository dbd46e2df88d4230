"""The reference acquirer host: framed ISO 8583 over TCP, a ledger tests can inspect, faults on demand.

What the terminal's HostClient is tested against, and what `appliance acquirer-sim`
runs. Authorisations (0100/0200) are decided by acquirer/rules.py after the ARQC check
of acquirer/issuer.py; advices (0220) and reversals (0400) are idempotent by terminal and
STAN, as acquirers require of repeated store-and-forward messages; a batch close (0500)
compares the terminal's totals with the host's. The ledger never holds a full PAN.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from acquirer import rules
from acquirer.issuer import CryptogramError, IssuerKeys, check_arqc
from acquirer.sealing import SealingError, SealingKey
from appliance.emv import iso8583, tlv, trace
from appliance.emv.iso8583 import MessageError, Totals

log = logging.getLogger("acquirer")


class StateFileError(ValueError):
    """The --state file exists but cannot be read back as a ledger."""


@dataclass(frozen=True)
class Faults:
    """Misbehaviour on purpose, to test the terminal's error paths.

    `slow` delays every answer by that many seconds; `drop` closes the connection
    without answering; `garbage` answers random bytes in a valid frame; `wrong_stan`
    answers with another STAN. The request is processed in every case (the worst case
    for the terminal: the host may have approved what the terminal never heard of).
    `fail_next` limits the faults to the next n requests; None keeps them on.
    """

    slow: float = 0.0
    drop: bool = False
    garbage: bool = False
    wrong_stan: bool = False
    fail_next: int | None = None


@dataclass
class Entry:
    """One authorisation or advice as the host books it (masked PAN only)."""

    kind: str  # "auth" (0100/0200) or "advice" (0220)
    mti: str
    terminal: str
    stan: str
    transmitted: str  # field 7 of the request, part of what a reversal names in 90
    processing_code: str
    amount: int
    response_code: str
    rrn: str
    auth_code: str = ""
    masked_pan: str = ""
    reversed: bool = False
    batch: str = ""  # the batch number it was settled in; "" while the batch is open

    @property
    def counts(self) -> bool:
        """In the open batch's totals: approved (online or offline), not reversed, not settled."""
        return self.response_code == "00" and not self.reversed and not self.batch


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    reversals: list[dict[str, str]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    rrn: int = 0

    @classmethod
    def load(cls, path: Path | None) -> "Ledger":
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls([Entry(**e) for e in data["entries"]], data["reversals"], data["batches"], int(data["rrn"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"{path}: not a ledger this host wrote ({exc.__class__.__name__}: {exc})") from None

    def save(self, path: Path | None) -> None:
        """Write then rename, so a crash mid-write leaves the previous state, never half a file."""
        if path is None:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def find(self, terminal: str, stan: str, *, kind: str | None = None, transmitted: str | None = None) -> Entry | None:
        for entry in reversed(self.entries):
            if entry.terminal == terminal and entry.stan == stan and kind in (None, entry.kind):
                if transmitted in (None, entry.transmitted):
                    return entry
        return None

    def totals(self, terminal: str) -> Totals:
        """The open batch of `terminal`: purchases are debits, refunds (processing code 20) credits."""
        open_entries = [e for e in self.entries if e.terminal == terminal and e.counts]
        debits = [e.amount for e in open_entries if not e.processing_code.startswith("20")]
        credits = [e.amount for e in open_entries if e.processing_code.startswith("20")]
        return Totals(len(debits), sum(debits), len(credits), sum(credits))


class Acquirer:
    """The host's business: one decision per request, booked in the ledger. Thread-safe."""

    def __init__(self, keys: IssuerKeys | None = None, state: Path | None = None, sealing: SealingKey | None = None):
        self.keys = keys
        self.sealing = sealing
        self.state = state
        self.ledger = Ledger.load(state)
        self._lock = threading.Lock()

    def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        mti = request["t"]
        reply: dict[str, Any] = {"t": iso8583.RESPONSE_MTI.get(mti, "0810")}
        for key in ("3", "4", "7", "11", "41", "42", "49"):
            if key in request:
                reply[key] = request[key]
        handler = {
            "0100": self._authorise, "0200": self._authorise, "0220": self._advice,
            "0400": self._reverse, "0500": self._close_batch, "0800": self._echo,
        }.get(mti)  # fmt: skip
        if handler is None:  # a response MTI sent to the host
            reply.update({"t": "0810", "39": "96"})
            return reply
        with self._lock:
            handler(request, reply)
            self.ledger.save(self.state)
        return reply

    def _next_rrn(self) -> str:
        self.ledger.rrn += 1
        return f"{self.ledger.rrn:012d}"

    def _echo(self, request: Mapping[str, Any], reply: dict[str, Any]) -> None:
        reply["39"] = "00"

    def _authorise(self, request: Mapping[str, Any], reply: dict[str, Any]) -> None:
        pan = rules.pan_of(request)
        cryptogram = None
        decision = None
        if "55" in request and self.keys is not None:
            try:
                cryptogram = check_arqc(self.keys, pan, request.get("23", ""), request["55"])
            except CryptogramError as exc:
                decision = rules.Decision("05", f"ARQC rejected: {exc}")
        if decision is None:
            decision = rules.decide(request, self.keys.pin_key if self.keys else None)
        rrn = self._next_rrn()
        reply.update({"37": rrn, "39": decision.response_code})
        auth_code = f"{int(rrn) % 1_000_000:06d}" if decision.response_code == "00" else ""
        if auth_code:
            reply["38"] = auth_code
        if cryptogram is not None:
            reply["55"] = tlv.encode(0x91, cryptogram.issuer_auth_data(decision.response_code))
        log.info("decision %s (%s) for %s", decision.response_code, decision.reason, trace.masked_pan(pan))
        self.ledger.entries.append(self._entry("auth", request, decision.response_code, rrn, auth_code))

    def _entry(self, kind: str, request: Mapping[str, Any], code: str, rrn: str, auth_code: str) -> Entry:
        return Entry(
            kind, request["t"], request.get("41", ""), request["11"], request.get("7", ""), request.get("3", "000000"),
            int(request.get("4", "0")), code, rrn, auth_code, trace.masked_pan(rules.pan_of(request)),
        )  # fmt: skip

    def _advice(self, request: Mapping[str, Any], reply: dict[str, Any]) -> None:
        terminal, stan = request.get("41", ""), request["11"]
        known = self.ledger.find(terminal, stan, kind="advice")
        if known is not None:
            log.info("advice STAN %s from %s already booked: acknowledged again", stan, terminal)
        else:
            request = self._opened(request)
            # The card approved offline (39 Y1/Y3); the issuer may still refuse to pay it
            # (a card it has blocked meanwhile): then the advice is answered with a decline.
            code = rules.decide(request, None).response_code if "2" in request else "00"
            if code != "00":
                log.info("advice STAN %s from %s: the issuer refuses it (%s)", stan, terminal, code)
            known = self._entry("advice", request, code, self._next_rrn(), request.get("38", ""))
            self.ledger.entries.append(known)
        reply.update({"37": known.rrn, "39": known.response_code})

    def _opened(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """An advice with its sealed card data (62) opened into fields 2, 14 and 23."""
        if "62" not in request:
            return request
        if self.sealing is None:
            log.info("advice with sealed card data but this host has no sealing key (--seal-key)")
            return request
        try:
            card = self.sealing.unseal(request["62"])
        except SealingError as exc:
            log.info("advice STAN %s: %s", request.get("11"), exc)
            return request
        opened = dict(request)
        opened.update({"2": card["pan"], "14": card.get("expiry", ""), "23": card.get("psn", "").zfill(3)})
        return opened

    def _reverse(self, request: Mapping[str, Any], reply: dict[str, Any]) -> None:
        reply["39"] = "00"  # always acknowledged: the terminal must stop resending it
        original = request.get("90", "")
        terminal = request.get("41", "")
        mti, stan, transmitted = original[:4], original[4:10], original[10:20]
        entry = self.ledger.find(terminal, stan, kind="auth", transmitted=transmitted)
        if entry is None or entry.mti != mti:
            log.info("reversal of unknown %s STAN %s from %s: acknowledged, nothing to undo", mti, stan, terminal)
        elif entry.reversed:
            log.info("reversal of STAN %s from %s repeated: acknowledged, already reversed", stan, terminal)
        else:
            entry.reversed = True
            self.ledger.reversals.append({"terminal": terminal, "stan": stan, "rrn": entry.rrn, "reason": request.get("60", "")})

    def _close_batch(self, request: Mapping[str, Any], reply: dict[str, Any]) -> None:
        terminal, batch = request.get("41", ""), request.get("60", "")
        try:
            theirs = Totals.from_field(request.get("63", ""))
        except MessageError:
            reply["39"] = "96"
            return
        ours = self.ledger.totals(terminal)
        code = "00" if theirs == ours else "95"
        # The batch closes either way: the host settles its own figures, and on "95" the
        # terminal's operator compares the two sets of totals (63 of the answer) by hand.
        for entry in self.ledger.entries:
            if entry.terminal == terminal and not entry.batch:
                entry.batch = batch or "?"
        self.ledger.batches.append({"terminal": terminal, "batch": batch, "terminal_totals": asdict(theirs),
                                    "host_totals": asdict(ours), "response_code": code})  # fmt: skip
        reply.update({"39": code, "60": batch, "63": ours.to_field()})


class _Handler(socketserver.BaseRequestHandler):
    server: "AcquirerServer"

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.server.idle_timeout)
        while True:  # several requests may share a connection
            try:
                raw = iso8583.read_frame(sock)
            except (iso8583.ConnectionClosed, OSError):
                return
            try:
                request = iso8583.decode(raw)
            except MessageError as exc:
                log.warning("<- unreadable message from %s (%s): connection closed", self.client_address[0], exc)
                return
            log.info("<- %s", iso8583.describe(request))
            faults = self.server.take_faults()
            reply = self.server.acquirer.handle(request)
            if faults.slow:
                time.sleep(faults.slow)
            if faults.drop:
                log.info("-> nothing (fault: drop)")
                return
            if faults.garbage:
                payload = b"\x00" + os.urandom(31)  # a NUL where the MTI's first digit belongs: never decodable
                log.info("-> 32 random bytes (fault: garbage)")
            else:
                if faults.wrong_stan:
                    reply["11"] = f"{(int(reply['11']) % 999_999) + 1:06d}"
                payload = iso8583.encode(reply)
                log.info("-> %s", iso8583.describe(reply))
            try:
                sock.sendall(iso8583.frame(payload))
            except OSError:  # the terminal gave up waiting (slow fault) and closed
                return


class AcquirerServer(socketserver.ThreadingTCPServer):
    """The host on a TCP port (0 picks a free one, see `address`); faults settable while it runs."""

    daemon_threads = True
    allow_reuse_address = True
    idle_timeout = 30.0

    def __init__(self, address: tuple[str, int], acquirer: Acquirer, faults: Faults | None = None):
        super().__init__(address, _Handler)
        self.acquirer = acquirer
        self.faults = faults or Faults()
        self._faults_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    @property
    def ledger(self) -> Ledger:
        return self.acquirer.ledger

    def set_faults(self, **changes: Any) -> None:
        """Replace faults at run time, e.g. `set_faults(drop=True, fail_next=1)`; `set_faults()` clears them."""
        with self._faults_lock:
            self.faults = Faults(**changes)

    def take_faults(self) -> Faults:
        """The faults for the request being handled, counting down `fail_next`."""
        with self._faults_lock:
            current = self.faults
            if current.fail_next is not None:
                left = current.fail_next - 1
                self.faults = replace(current, fail_next=left) if left > 0 else Faults()
                if current.fail_next <= 0:
                    return Faults()
            return current

    def start(self) -> "AcquirerServer":
        """Serve from a background thread (tests); `stop()` ends it."""
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="acquirer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
