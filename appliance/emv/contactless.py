"""Contactless (tap) transactions: Entry Point and two kernels, qVSDC-style and Mastercard-style, always online.

EMV Contactless Book B (Entry Point): SELECT the PPSE, take the highest-priority
application the terminal accepts, refuse a tap above the application's contactless
limit, and hand over to the kernel the AID names. Two kernel paths are implemented:

- Visa (RID A000000003), after EMV Contactless Book C-3 / Visa VCPS qVSDC: one GET
  PROCESSING OPTIONS whose PDOL carries the Terminal Transaction Qualifiers and the
  transaction data; the card answers with its cryptogram; the AFL records, if any, are
  read for the PAN and expiry; cardholder verification follows the Card Transaction
  Qualifiers (CTQ) after the card has gone.
- Mastercard (RID A000000004), after EMV Contactless Book C-2 (M/Chip): GPO, READ
  RECORD, processing restrictions, cardholder verification from the CVM list with the
  kernel's two terminal capability sets (CVM required above the CVM limit, none at or
  below it), then one GENERATE AC asking for an ARQC.

This terminal never approves a tap offline: fDDA and CDA are not implemented, so an
offline approval (TC) could not be trusted. Both paths ask for an ARQC and the issuer's
answer is the outcome; there is no second GENERATE AC because the card has left the
field by then ("card read complete"). Not implemented: relay resistance, torn
transaction recovery, data storage, Mastercard mag-stripe mode, Visa MSD, and the
Visa/Mastercard offline spending amounts (docs/emv-contactless.md).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Callable, Mapping

from appliance.emv import apdu, contact, cvm, dol, records, restrictions, selection, tlv
from appliance.emv.apdu import CardError, CardRemoved, Channel
from appliance.emv.model import (
    AidConfig, Cardholder, GoOnline, OnlineRequest, OnlineResponse, Outcome, TerminalConfig, Transaction,
)
from appliance.emv.records import CardDataError
from appliance.emv.trace import shown_value
from appliance.emv.tvr import tvr as new_tvr
from appliance.native.secret import Secret

VISA, MASTERCARD = bytes.fromhex("A000000003"), bytes.fromhex("A000000004")
ABOVE_LIMIT = "amount above the contactless limit: insert or swipe the card"
CARD_REMOVED = "card removed: tap again"
READ_COMPLETE = "card read complete: the card may leave the field"

# Field 55 is the contact kernel's list plus the Form Factor Indicator the schemes ask of taps (9F6E).
FIELD_55 = contact.FIELD_55 + (0x9F6E,)

# Cryptogram Information Data (9F27) bits 8-7: the kind of cryptogram (Book 3 Table 14).
CID_KIND = {0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}

# Terminal Transaction Qualifiers (9F66), Book C-3 Annex A / Book A 5.7: byte 1 bit 3 online
# PIN supported, bit 2 signature supported; byte 2 bit 8 online cryptogram required, bit 7
# CVM required. Card Transaction Qualifiers (9F6C): byte 1 bit 8 online PIN required,
# bit 7 signature required; byte 2 bit 8 consumer device CVM performed.
TTQ_ONLINE_PIN, TTQ_SIGNATURE = 0x04, 0x02
TTQ_ONLINE_CRYPTOGRAM, TTQ_CVM_REQUIRED = 0x80, 0x40
CTQ_ONLINE_PIN, CTQ_SIGNATURE, CTQ_CDCVM = 0x80, 0x40, 0x80

# Terminal Capabilities (9F33) byte 2 for Mastercard taps: online PIN, signature, no CVM (Book 4 Annex A2).
CVM_REQUIRED_CAPS, NO_CVM_CAPS = 0x40 | 0x20 | 0x08, 0x08

# CVM Results (9F34) for the CVMs a tap can end with: method, condition, result (Book 3 Annex A).
CVM_RESULTS = {
    "online PIN": bytes([cvm.ONLINE_PIN, 0x00, cvm.UNKNOWN]),
    "signature": bytes([cvm.SIGNATURE, 0x00, cvm.UNKNOWN]),
    "consumer device CVM": bytes([cvm.NO_CVM, 0x00, cvm.SUCCESSFUL]),
    "no CVM": bytes([cvm.NO_CVM, 0x00, cvm.SUCCESSFUL]),
}


class TapDeclined(CardError):
    """The tap ends without going online; `decision` and the message go to the Outcome."""

    def __init__(self, message: str, *, decision: str = "failed", code: str = "tap_failed"):
        super().__init__(message, code=code)
        self.decision = decision


class _Tap:
    """One tap's state: terminal data sent to the card, what the card said, the outcome being built."""

    def __init__(self, channel: Channel, config: TerminalConfig, txn: Transaction, cardholder: Cardholder,
                 outcome: Outcome, on_read_complete: Callable[[], None] | None):
        self.channel, self.config, self.txn, self.cardholder = channel, config, txn, cardholder
        self.outcome = outcome
        self.on_read_complete = on_read_complete
        self.tvr = new_tvr()
        self.card: dict[int, bytes] = {}  # everything the card returned (GPO, records, GENERATE AC)
        self.terminal: dict[int, bytes] = {}  # what the terminal gives the card's DOLs
        self.pin: Secret | None = None

    def note(self, line: str) -> None:
        self.outcome.trace.append(line)

    def note_tags(self, title: str, tags: Mapping[int, bytes]) -> None:
        self.note(title)
        for tag, value in tags.items():
            self.note(f"  {tag:X} {shown_value(tlv.Node(tag, 0, 0, value, False))}")

    def card_gone(self) -> None:
        """Book A 5.x "card read complete": no more APDUs; the reader tells the cardholder to remove the card."""
        self.note(READ_COMPLETE)
        if self.on_read_complete is not None:
            self.on_read_complete()


def run(channel: Channel, config: TerminalConfig, txn: Transaction, cardholder: Cardholder, go_online: GoOnline, *,
        rng: random.Random | None = None, now: datetime | None = None,
        on_read_complete: Callable[[], None] | None = None) -> Outcome:
    """One tap from PPSE to the issuer's answer; `on_read_complete` is called when the card may leave the field."""
    outcome = Outcome(decision="failed", interface="contactless")
    tap = _Tap(channel, config, txn, cardholder, outcome, on_read_complete)
    try:
        selected = selection.select_application(channel, config, cardholder, contactless=True)
        outcome.aid, outcome.label = selected.aid, selected.label
        tap.note(f"selected {selected.aid.hex().upper()} {selected.label!r} from the PPSE")
        if txn.amount > selected.aid_config.contactless_limit:
            raise TapDeclined(ABOVE_LIMIT, code="above_contactless_limit")
        values = contact.terminal_values(config, selected.aid_config, txn, now or datetime.now(),
                                         contact.unpredictable_number(txn, rng))
        tap.terminal = {**values, 0x95: bytes(5), 0x84: selected.aid, 0x9F34: cvm.NOT_PERFORMED}
        tap.tvr.set(1, 8)  # offline data authentication was not performed: no fDDA/CDA here
        if selected.aid.startswith(VISA):
            _visa(tap, selected.pdol, selected.aid_config.cvm_limit)
        elif selected.aid.startswith(MASTERCARD):
            _mastercard(tap, selected.pdol, selected.aid_config)
        else:
            raise TapDeclined(f"no contactless kernel for application {selected.aid.hex().upper()}: insert the card",
                              code="no_kernel")
    except CardRemoved:
        outcome.decision, outcome.reason = "failed", CARD_REMOVED
        tap.note("card removed before the read was complete")
        return outcome
    except TapDeclined as exc:
        outcome.decision, outcome.reason = exc.decision, str(exc)
        tap.note(f"ended: {exc}")
        return outcome
    except CardError as exc:  # the card refused a command or left out data
        outcome.decision, outcome.reason = "failed", f"{exc}: insert or swipe the card"
        tap.note(f"card error: {exc}")
        return outcome
    except ValueError as exc:  # malformed TLV or DOL from the card
        outcome.decision, outcome.reason = "failed", f"the card sent malformed data ({exc}): insert or swipe the card"
        tap.note(f"card error: {exc}")
        return outcome
    _online(tap, go_online)
    return outcome


def _read(tap: _Tap, pdol: bytes) -> records.Processing:
    """GPO, then READ RECORD for every AFL entry; the card's answers go into tap.card."""
    processing = records.gpo(tap.channel, pdol, tap.terminal)
    tap.card.update(processing.data)
    tap.note_tags("GET PROCESSING OPTIONS", processing.data)
    if processing.afl:
        read = records.read_afl(tap.channel, processing.afl)
        duplicated = sorted(set(read.tags) & set(processing.data) - {0x82, 0x94})
        if duplicated:  # Book 3 7.5 applied across GPO and records: one value per tag
            raise CardDataError(f"tag {duplicated[0]:X} appears in the GPO answer and in a record")
        tap.card.update(read.tags)
        tap.note_tags("records", read.tags)
    return processing


def _visa(tap: _Tap, pdol: bytes, cvm_limit: int) -> None:
    """qVSDC: the cryptogram comes with the GPO answer; CVM from the CTQ once the card is gone."""
    ttq = bytearray(tap.config.ttq)
    ttq[1] |= TTQ_ONLINE_CRYPTOGRAM  # this terminal approves taps online only
    cvm_required = tap.txn.amount > cvm_limit
    if cvm_required:
        ttq[1] |= TTQ_CVM_REQUIRED
    tap.terminal[0x9F66] = bytes(ttq)
    tap.terminal[0x95] = bytes(tap.tvr)  # the TVR the card's cryptogram covers: it may not change later
    if not pdol or 0x9F66 not in dict(dol.parse(pdol)):
        raise TapDeclined("the card's PDOL lacks the Terminal Transaction Qualifiers (9F66): insert the card",
                          code="not_qvsdc")
    _read(tap, pdol)
    _require(tap, 0x9F26, 0x9F27, 0x9F36, 0x9F10)
    tap.card_gone()
    _cryptogram(tap)
    method = _visa_cvm(ttq, tap.card.get(0x9F6C), cvm_required)
    if method == "online PIN":
        tap.pin = tap.cardholder.pin(online=True, tries_left=None)
        if tap.pin is None:
            method = "failed"
            tap.note("online PIN entry bypassed: the issuer decides")
    tap.outcome.cvm = method
    tap.outcome.cvm_results = CVM_RESULTS.get(method, bytes([cvm.FAIL, 0x00, cvm.FAILED]))
    tap.terminal[0x9F34] = tap.outcome.cvm_results
    tap.outcome.signature_required = method == "signature"
    tap.outcome.icc_data = _field_55(tap)  # 9F34 is not in a qVSDC cryptogram: field 55 gets the final one


def _visa_cvm(ttq: bytes, ctq: bytes | None, cvm_required: bool) -> str:
    """The CVM for a qVSDC tap (VCPS 2.x 5.3.x): the card's CTQ asks, the reader's TTQ must support it."""
    if ctq is not None and len(ctq) >= 2:
        if ctq[0] & CTQ_ONLINE_PIN and ttq[0] & TTQ_ONLINE_PIN:
            return "online PIN"
        if ctq[1] & CTQ_CDCVM:
            return "consumer device CVM"
        if ctq[0] & CTQ_SIGNATURE and ttq[0] & TTQ_SIGNATURE:
            return "signature"
    if not cvm_required:
        return "no CVM"
    # CVM required but the card named none the reader can do: signature, else online PIN (VCPS: CTQ absent)
    if ttq[0] & TTQ_SIGNATURE:
        return "signature"
    if ttq[0] & TTQ_ONLINE_PIN:
        return "online PIN"
    raise TapDeclined("this tap needs cardholder verification the reader cannot do: insert the card",
                      code="cvm_not_possible")


def _mastercard(tap: _Tap, pdol: bytes, aid_config: AidConfig) -> None:
    """M/Chip: GPO, records, restrictions, CVM list with the kernel's capability sets, GENERATE AC for an ARQC."""
    processing = _read(tap, pdol)
    _require(tap, 0x8C)
    for line in restrictions.check(tap.card, tap.terminal[0x9A].hex(), tap.txn, tap.config, aid_config, tap.tvr):
        tap.note(f"processing restrictions: {line}")
    # Book C-2 "CVM Capability - CVM Required / No CVM Required": above the limit the reader
    # offers online PIN and signature; at or below it, no CVM only. Offline PIN is never offered on a tap.
    caps = bytearray(tap.config.capabilities)
    caps[1] = caps[1] & CVM_REQUIRED_CAPS if tap.txn.amount > aid_config.cvm_limit else NO_CVM_CAPS
    kernel_config = dataclasses.replace(tap.config, capabilities=bytes(caps))
    tap.terminal[0x9F33] = bytes(caps)
    result = cvm.verify(tap.channel, tap.card, processing.aip, tap.txn, kernel_config, tap.cardholder, tap.tvr)
    for line in result.notes:
        tap.note(f"CVM: {line}")
    tap.pin = result.online_pin
    tap.outcome.cvm, tap.outcome.cvm_results = result.method, result.results
    tap.outcome.signature_required = result.signature
    tap.terminal[0x9F34] = result.results
    tap.terminal[0x95] = bytes(tap.tvr)
    cdol1 = dol.build(tap.card[0x8C], {**tap.card, **tap.terminal})
    data, _ = tap.channel.exchange(apdu.generate_ac(0x80, cdol1))
    answer = contact.generate_ac_answer(data)
    tap.card.update(answer)
    tap.note_tags("GENERATE AC (ARQC asked)", answer)
    tap.card_gone()
    _cryptogram(tap)


def _require(tap: _Tap, *tags: int) -> None:
    missing = [f"{tag:X}" for tag in tags if tag not in tap.card]
    if missing:
        tap.tvr.set(1, 6)
        raise CardDataError(f"the card did not give {', '.join(missing)}")


def _cryptogram(tap: _Tap) -> None:
    """Only an ARQC goes further: an AAC is the card's decline, and a TC cannot be trusted without fDDA/CDA."""
    kind = CID_KIND.get(tap.card[0x9F27][0] & 0xC0, "")
    outcome = tap.outcome
    outcome.cryptogram_type, outcome.cryptogram = kind, tap.card[0x9F26]
    outcome.tvr = bytes(tap.tvr)
    outcome.icc_data = _field_55(tap)
    if kind == "AAC":
        raise TapDeclined("declined by the card", decision="declined_offline", code="card_declined")
    if kind != "ARQC":
        raise TapDeclined("the card offered an offline approval this terminal cannot check: insert the card",
                          code="offline_not_supported")


def _field_55(tap: _Tap) -> bytes:
    return contact.field_55({**tap.terminal, **tap.card}, FIELD_55)


def _account(tap: _Tap) -> records.Account:
    """The account data from 5A/5F24/5F34 or 57; a tap without a usable PAN or expiry is ICC data missing."""
    try:
        found = records.account(tap.card)
    except CardDataError:
        tap.tvr.set(1, 6)
        raise
    if len(found.expiry) != 4 or not found.expiry.isdigit():
        tap.tvr.set(1, 6)
        raise CardDataError("the card gave no usable expiry date (5F24 or 57)")
    return found


def _online(tap: _Tap, go_online: GoOnline) -> None:
    """Send the ARQC; the issuer's answer is the outcome (no second GENERATE AC: the card has gone)."""
    outcome = tap.outcome
    try:
        found = _account(tap)
    except CardDataError as exc:
        outcome.decision, outcome.reason = "failed", f"{exc}: insert or swipe the card"
        return
    outcome.pan, outcome.masked_pan, outcome.expiry, outcome.psn = found.pan, found.masked_pan, found.expiry, found.psn
    tap.note(f"online: {outcome.masked_pan}, ARQC, CVM {outcome.cvm}")
    response: OnlineResponse = go_online(OnlineRequest(
        pan=found.pan, track2=found.track2, psn=found.psn, expiry=found.expiry, icc_data=outcome.icc_data,
        pin=tap.pin, entry_mode="071"))
    tap.pin = None
    outcome.response_code, outcome.auth_code = response.response_code, response.auth_code
    if response.unable_to_go_online:
        outcome.decision, outcome.reason, outcome.response_code = "declined_offline", "bank unreachable", "Z3"
    elif response.approved:
        outcome.decision, outcome.reason = "approved", "approved by the issuer"
    else:
        outcome.decision, outcome.reason = "declined", f"card declined ({response.response_code})"
    tap.note(f"issuer: {outcome.decision} ({outcome.response_code})")
