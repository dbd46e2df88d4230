"""Chip and contactless card readers through PC/SC (pcscd), with pyscard's low-level API.

Address: `pcsc://<reader name, or the start of it>`, e.g. `pcsc://ACS ACR122U` for
"ACS ACR122U PICC Interface 00 00" (pcscd appends slot numbers that change with the USB
port). Option `contactless=auto|0|1` says whether an inserted card is a tap; `auto` reads
the ATR and the reader name.

This module moves APDUs and reports card presence; T=0 GET RESPONSE chaining, selection
and everything EMV live in appliance.emv. APDU contents carry card data (PAN, tracks,
cryptograms), so only lengths and status words are ever logged.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from smartcard import scard

from appliance.hal.address import Address
from appliance.hal.base import CardReader, Emit
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from appliance.hal.events import CardInserted, CardRemoved

log = logging.getLogger(__name__)

WAIT_MS = 250  # longest SCardGetStatusChange wait, so `stop` is honoured within a quarter second
GONE_WAIT_MS = 1000  # pcscd polls most drivers for presence every 400 ms (PCSCLITE_STATUS_POLL_RATE)

# PC/SC error names by value, for messages and error codes (pyscard exports them all).
ERROR_NAMES = {getattr(scard, name) & 0xFFFFFFFF: name for name in dir(scard)
               if name.startswith(("SCARD_E_", "SCARD_W_", "SCARD_F_"))}

# The card left the reader: pcsc-lite reports an exchange the driver could not complete
# (the card went mid-command) as NOT_TRANSACTED, calls on a handle after pcscd saw the card
# go as REMOVED_CARD, and a connect to an empty slot as NO_SMARTCARD.
CARD_GONE = frozenset({scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NOT_TRANSACTED, scard.SCARD_E_NO_SMARTCARD})

# The reader or pcscd went away: the manager should reopen (with backoff).
READER_GONE_STATES = scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE

# Reader names that say "contactless": ACS "... PICC Interface", HID "OMNIKEY 5x21-CL",
# Identiv "uTrust 3700 F CL Reader", "... Contactless Reader".
CONTACTLESS_NAME = re.compile(r"\b(PICC|CL|contactless)\b", re.IGNORECASE)


# What a technician should check, where the PC/SC wording misleads. libpcsclite reports a
# connection that pcscd closed as SECURITY_VIOLATION ("Access denied"): that is how its
# polkit refusal looks, and also how a pcscd that is shutting down looks.
HINTS = {
    scard.SCARD_E_NO_SERVICE: "pcscd is not running (systemctl status pcscd.socket)",
    scard.SCARD_W_SECURITY_VIOLATION: "pcscd closed the connection: it is stopping, or its polkit rules refuse this user",
}


def _name(hresult: int) -> str:
    return ERROR_NAMES.get(hresult & 0xFFFFFFFF, f"0x{hresult & 0xFFFFFFFF:08X}")


def _describe(hresult: int) -> str:
    text = HINTS.get(hresult) or scard.SCardGetErrorMessage(hresult).strip().rstrip(".")
    return f"{text} ({_name(hresult)})"


def is_contactless_atr(atr: bytes) -> bool:
    """A PC/SC contactless pseudo-ATR: 3B 8n 80 01 ... (PC/SC part 3, 3.1.3.2.3).

    Contactless cards have no ATR; the reader makes one up with TS=3B, T0=8n (TD1
    present, n historical bytes), TD1=80 (TD2 present, T=0), TD2=01 (T=1).
    """
    return len(atr) >= 4 and atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2] == 0x80 and atr[3] == 0x01


def is_contactless(atr: bytes, reader: str, mode: str = "auto") -> bool:
    """Whether a card is a tap: `mode` "1"/"0" says so outright; "auto" asks the ATR, then the reader name."""
    if mode != "auto":
        return mode == "1"
    return is_contactless_atr(atr) or bool(CONTACTLESS_NAME.search(reader))


def choose_reader(wanted: str, present: list[str]) -> str:
    """The reader named exactly `wanted`, else the first whose name starts with it, else the one that contains it.

    pcscd appends " 00 00"-style slot numbers that depend on plug order, so a prefix is the
    stable way to name a reader model; on a multi-slot reader the first slot is taken. A
    part from the middle ("00 01", the second slot) must name one reader only.
    """
    if wanted in present:
        return wanted
    matches = [reader for reader in present if reader.startswith(wanted)]
    if len(matches) > 1:
        log.warning("pcsc://%s matches %d readers (%s); using %r: give the full name to choose another",
                    wanted, len(matches), ", ".join(map(repr, matches)), matches[0])
    if matches:
        return matches[0]
    matches = [reader for reader in present if wanted in reader]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(repr(reader) for reader in (matches or present)) or "none"
    if matches:
        raise DeviceUnavailable(f"{wanted!r} is part of several reader names ({listed}): give more of the name")
    raise DeviceUnavailable(f"no PC/SC reader named {wanted!r} (or containing it); readers present: {listed}. "
                            "Check it is plugged in and its driver installed (`pcscd -f -d` says why not)")


class PcscCardReader(CardReader):
    """One PC/SC reader slot: presence events from `run()`, APDUs through `transmit()`.

    `run()` and `transmit()` are called on different threads, so each has its own PC/SC
    context: pcsc-lite serialises calls on one context, and a GetStatusChange waiting on
    it would hold up every APDU for its whole timeout.
    """

    options = frozenset({"contactless"})

    def __init__(self, name: str, address: Address):
        super().__init__(name, address)
        self.contactless_mode = address.param("contactless", "auto")
        if self.contactless_mode not in ("auto", "0", "1"):
            raise DeviceConfigError(f"contactless={self.contactless_mode} in {address.raw!r} must be auto, 0 or 1")
        self.reader = ""  # the full reader name, found at open()
        self._context: Any = None  # for transmit() and probe()
        self._card: Any = None  # card handle, connected on the first APDU after an insertion
        self._protocol = 0
        self._lock = threading.Lock()  # guards _card: run() drops it when the card leaves

    def open(self) -> None:
        """Find the reader; DeviceUnavailable (naming the readers present) when it is not there."""
        self.close()
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceUnavailable(f"cannot reach pcscd: {_describe(hresult)}", device=self.name)
        try:
            hresult, readers = scard.SCardListReaders(context, [])
            if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
                readers = []
            elif hresult != scard.SCARD_S_SUCCESS:
                raise DeviceUnavailable(f"cannot list readers: {_describe(hresult)}", device=self.name)
            self.reader = choose_reader(self.address.target, list(readers))
        except DeviceUnavailable as exc:
            scard.SCardReleaseContext(context)
            exc.device = self.name
            raise
        self._context = context
        self.info = self.reader

    def close(self) -> None:
        with self._lock:
            self._drop_card()
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None

    def probe(self) -> str:
        """The reader's full name and whether a card is in it (or on it)."""
        state, atr = self._state(self._require_context(), 0)
        if state & scard.SCARD_STATE_PRESENT:
            return f"{self.reader}: card present (ATR {atr.hex(' ').upper()})"
        return f"{self.reader}: no card"

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Report insertions and removals until `stop`; DeviceIOError when the reader goes away.

        SCardGetStatusChange blocks in pcscd until the slot changes or WAIT_MS passes, so
        events arrive as pcscd sees them (it polls most drivers every 400 ms).
        """
        self._require_context()
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceIOError(f"cannot reach pcscd: {_describe(hresult)}", device=self.name, code=_name(hresult))
        try:
            known = scard.SCARD_STATE_UNAWARE  # the first call answers at once with the current state
            present = False
            while not stop.is_set():
                state, atr = self._state(context, WAIT_MS, known)
                known = state & ~scard.SCARD_STATE_CHANGED
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    continue
                present = not present
                with self._lock:
                    self._drop_card()  # a handle from before an insertion belongs to another card
                if present:
                    contactless = is_contactless(atr, self.reader, self.contactless_mode)
                    log.info("%s: card inserted (%s, ATR %s)", self.name,
                             "contactless" if contactless else "contact", atr.hex(" ").upper())
                    emit(CardInserted(self.name, atr=atr, contactless=contactless))
                else:
                    log.info("%s: card removed", self.name)
                    emit(CardRemoved(self.name))
        finally:
            scard.SCardReleaseContext(context)

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        """Exchange one raw APDU (ISO 7816-4); no GET RESPONSE chaining here, appliance.emv does it.

        DeviceIOError code "card_removed" when the card is no longer there; otherwise the
        PC/SC error name (e.g. SCARD_E_NO_SERVICE when pcscd stopped).
        """
        context = self._require_context()
        with self._lock:
            if self._card is None:
                self._connect(context)
            hresult, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
            if hresult != scard.SCARD_S_SUCCESS or len(response) < 2:
                self._drop_card()
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._error(hresult, f"APDU of {len(apdu)} bytes failed")
        if len(response) < 2:
            raise self._no_status_word(context, len(response))
        data, sw1, sw2 = bytes(response[:-2]), response[-2], response[-1]
        log.debug("%s: APDU %d bytes -> %d bytes, SW %02X%02X", self.name, len(apdu), len(data), sw1, sw2)
        return data, sw1, sw2

    def _connect(self, context: Any) -> None:
        # Shared mode: a technician's pcsc_scan or opensc-tool may look at the reader too.
        hresult, card, protocol = scard.SCardConnect(context, self.reader, scard.SCARD_SHARE_SHARED,
                                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._error(hresult, "cannot connect to the card")
        self._card, self._protocol = card, protocol

    def _drop_card(self) -> None:
        """Forget the card handle (caller holds the lock); the next APDU connects afresh."""
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None

    def _error(self, hresult: int, doing: str) -> DeviceIOError:
        if hresult in CARD_GONE:
            return DeviceIOError(f"{doing}: the card was removed ({_name(hresult)})", device=self.name,
                                 code="card_removed")
        return DeviceIOError(f"{doing}: {_describe(hresult)}", device=self.name, code=_name(hresult))

    def _no_status_word(self, context: Any, received: int) -> DeviceIOError:
        """A "successful" answer without SW1 SW2 (ISO 7816-4 5.1 makes them mandatory).

        Some drivers (vpcd, when the card's socket closes mid-command) report a card pulled
        during an APDU this way; pcscd only marks the slot empty at its next poll, so wait
        that long before calling it a removal rather than a faulty card.
        """
        state, _ = self._state(context, 0)
        if state & scard.SCARD_STATE_PRESENT:
            state, _ = self._state(context, GONE_WAIT_MS, state & ~scard.SCARD_STATE_CHANGED)
        if not state & scard.SCARD_STATE_PRESENT:
            return DeviceIOError("the card was removed during the APDU", device=self.name, code="card_removed")
        return DeviceIOError(f"the card answered {received} bytes, without a status word", device=self.name,
                             code="bad_response")

    def _state(self, context: Any, timeout_ms: int, known: int = scard.SCARD_STATE_UNAWARE) -> tuple[int, bytes]:
        """(event state, ATR) of our reader, waiting up to `timeout_ms` for a change from `known`."""
        hresult, states = scard.SCardGetStatusChange(context, timeout_ms, [(self.reader, known)])
        if hresult == scard.SCARD_E_TIMEOUT:
            return known, b""
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceIOError(f"lost the reader {self.reader!r}: {_describe(hresult)}", device=self.name,
                                code=_name(hresult))
        _, state, atr = states[0]
        if state & READER_GONE_STATES:
            raise DeviceIOError(f"the reader {self.reader!r} is gone (unplugged?)", device=self.name,
                                code="reader_gone")
        return state, bytes(atr)

    def _require_context(self) -> Any:
        if self._context is None:
            raise DeviceUnavailable("not open", device=self.name)
        return self._context
