"""The EMV contact kernel: one chip transaction from application selection to the final cryptogram.

EMV Book 3 section 10 in order: selection (selection.py), initiate application
processing and read records (records.py), offline data authentication (oda.py),
processing restrictions (restrictions.py), cardholder verification (cvm.py), terminal
risk management (risk.py), terminal action analysis (action.py), first GENERATE AC, the
online authorisation through `go_online`, issuer authentication and the second
GENERATE AC (Book 3 10.9-10.11). Card trouble never raises: it ends in an Outcome with
decision "failed" and a reason a merchant can act on. The trace shows every step and
the TVR bits by name, with the PAN masked and no track data.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from appliance.emv import action, apdu, cvm, dol, oda, records, restrictions, risk, tlv
from appliance.emv.apdu import CardError, CardRemoved, Channel
from appliance.emv.model import (AidConfig, Cardholder, GoOnline, OnlineRequest, Outcome, TerminalConfig,
                                 Transaction)
from appliance.emv.selection import NoApplication, Selected, SelectionCancelled, select_application
from appliance.emv.tvr import Bits, tsi, tvr
from appliance.native.secret import Secret

log = logging.getLogger(__name__)

# Field 55 (ICC system related data) of an authorisation or advice, in this order; absent tags are left out.
FIELD_55 = (0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
            0x9F34, 0x9F33, 0x9F35, 0x84, 0x9F09, 0x5F34)
MANDATORY = {0x5A: "PAN", 0x5F24: "expiry date", 0x8C: "CDOL1", 0x8D: "CDOL2"}  # Book 3 7.2
CID_TYPES = {0x00: action.AAC, 0x40: action.TC, 0x80: action.ARQC}  # 9F27 bits 8-7
UNABLE_ONLINE_APPROVED, UNABLE_ONLINE_DECLINED = b"Y3", b"Z3"  # 8A the terminal sets (Book 4 Annex A6)


def terminal_values(config: TerminalConfig, aid_config: AidConfig, txn: Transaction, when: datetime,
                    unpredictable_number: bytes) -> dict[int, bytes]:
    """What the terminal answers to a PDOL, CDOL or DDOL (EMV Book 3 Annex A, Book 4 Annex A)."""
    return {
        0x9F02: bytes.fromhex(f"{txn.amount:012d}"),
        0x9F03: bytes.fromhex(f"{txn.other_amount:012d}"),
        0x9F1A: config.country,
        0x5F2A: config.currency,
        0x5F36: bytes.fromhex(f"{config.currency_exponent:02d}"),
        0x9A: bytes.fromhex(txn.date or when.strftime("%y%m%d")),
        0x9F21: bytes.fromhex(txn.time or when.strftime("%H%M%S")),
        0x9C: bytes([txn.type]),
        0x9F37: unpredictable_number,
        0x9F35: bytes([config.terminal_type]),
        0x9F33: config.capabilities,
        0x9F40: config.additional_capabilities,
        0x9F66: config.ttq,
        0x9F09: aid_config.version,
        0x9F1C: config.terminal_id.encode("ascii").ljust(8)[:8],
        0x9F16: config.merchant_id.encode("ascii").ljust(15)[:15],
        0x9F4E: config.merchant_name.encode("ascii", "replace"),
    }


def unpredictable_number(txn: Transaction, rng: random.Random | None) -> bytes:
    """9F37: the transaction's own, else 4 bytes from a caller's (test) rng, else from the OS (Book 4 Annex A)."""
    if txn.unpredictable_number:
        return txn.unpredictable_number
    return rng.randbytes(4) if rng is not None else secrets.token_bytes(4)


def field_55(values: Mapping[int, bytes], tags: tuple[int, ...] = FIELD_55) -> bytes:
    """ICC system related data (ISO 8583 field 55): `tags` in order, those without a value left out."""
    return tlv.encode_all((tag, values[tag]) for tag in tags if tag in values)


def generate_ac_answer(data: bytes) -> dict[int, bytes]:
    """9F27, 9F36, 9F26 (and 9F10) from a GENERATE AC answer, format 1 (80) or 2 (77) (Book 3 6.5.5.4)."""
    nodes = tlv.decode(data)
    if len(nodes) == 1 and nodes[0].tag == 0x80 and len(nodes[0].value) >= 11:
        value = nodes[0].value  # CID (1), ATC (2), AC (8), then the issuer application data
        fields = {0x9F27: value[:1], 0x9F36: value[1:3], 0x9F26: value[3:11]}
        if len(value) > 11:
            fields[0x9F10] = value[11:]
    elif len(nodes) == 1 and nodes[0].tag == 0x77:
        fields = {node.tag: node.value for node in records.primitives(nodes)}
    else:
        raise records.CardDataError("the GENERATE AC answer is neither template 77 nor 80")
    if not {0x9F27, 0x9F36, 0x9F26} <= fields.keys():
        raise records.CardDataError("the GENERATE AC answer lacks the cryptogram, its type or the ATC")
    return fields


@dataclass
class _Flow:
    channel: Channel
    config: TerminalConfig
    txn: Transaction
    cardholder: Cardholder
    go_online: GoOnline
    rng: random.Random
    now: datetime
    pan_key: risk.PanKey
    seeded: bool  # a caller's rng also draws the unpredictable number, so tests are reproducible
    tvr: Bits = field(default_factory=tvr)
    tsi: Bits = field(default_factory=tsi)
    aid_config: AidConfig | None = None
    outcome: Outcome = field(default_factory=lambda: Outcome(decision="failed"))
    values: dict[int, bytes] = field(default_factory=dict)  # card tags, terminal values, card answers

    def note(self, line: str) -> None:
        self.outcome.trace.append(line)
        log.debug("emv contact: %s", line)

    # --- steps -----------------------------------------------------------------------------

    def select(self) -> tuple[Selected, records.Processing]:
        """Selection and GPO; an application refusing GPO (6985) leaves the list (Book 3 10.1)."""
        refused: set[bytes] = set()
        while True:
            try:
                selected = select_application(self.channel, self.config, self.cardholder, exclude=frozenset(refused))
            except NoApplication:
                if refused:
                    raise NoApplication("no application on this card accepts the transaction: "
                                        "try another card or interface") from None
                raise
            self.outcome.aid, self.outcome.label = selected.aid, selected.label
            self.note(f"selected {selected.aid.hex().upper()} {selected.label!r}")
            un = unpredictable_number(self.txn, self.rng if self.seeded else None)
            self.values = terminal_values(self.config, selected.aid_config, self.txn, self.now, un)
            try:
                processing = records.gpo(self.channel, selected.pdol, self.values)
            except records.ConditionsNotSatisfied:
                self.note(f"GPO refused (6985) by {selected.aid.hex().upper()}: trying another application")
                refused.add(selected.aid)
                continue
            self.note(f"GPO: AIP {processing.aip.hex().upper()} AFL {processing.afl.hex().upper()}")
            return selected, processing

    def read(self, selected: Selected, processing: records.Processing) -> records.CardData:
        """READ RECORD what the AFL names, which a contact card must give (Book 3 6.5.8.4); mandatory data (7.2)."""
        if not processing.afl:
            raise records.CardDataError("the GET PROCESSING OPTIONS answer lacks 94 (AFL)")
        card = records.read_afl(self.channel, processing.afl)
        self.note(f"read {len(records.parse_afl(processing.afl))} AFL entries, {len(card.tags)} data objects")
        missing = [f"{tag:X} ({name})" for tag, name in MANDATORY.items() if tag not in card.tags]
        if missing:
            raise records.CardDataError(f"the card lacks mandatory data: {', '.join(missing)}")
        card_tags = {**processing.data, **card.tags, 0x82: processing.aip, 0x84: selected.aid}
        self.values = {**card_tags, **self.values}
        found = records.account(card.tags)
        self.outcome.pan, self.outcome.masked_pan = found.pan, found.masked_pan
        self.outcome.expiry, self.outcome.psn = found.expiry, found.psn
        self.note(f"card {self.outcome.masked_pan} expiry {self.outcome.expiry}")
        return card

    def authenticate(self, selected: Selected, aip: bytes, card: records.CardData) -> None:
        """Book 3 10.3: DDA before SDA when both are possible; CDA is not implemented."""
        terminal = self.config.capabilities[2]
        today = self._today()
        if aip[0] & 0x20 and terminal & 0x40:
            method, failed_bit = "DDA", (1, 4)
        elif aip[0] & 0x40 and terminal & 0x80:
            method, failed_bit = "SDA", (1, 7)
        else:
            self.tvr.set(1, 8)
            self.note("ODA not performed" + (" (card offers only CDA, not implemented)" if aip[0] & 0x01 else ""))
            return
        self.tsi.set(1, 8)
        try:
            if method == "DDA":
                oda.verify_dda(self.channel, self.config, selected.aid, self.values, card.static_data, aip,
                               self.values, today=today)
            else:
                oda.verify_sda(self.config, selected.aid, self.values, card.static_data, aip, today=today)
        except CardRemoved:
            raise
        except (oda.OdaError, CardError, ValueError) as exc:
            self.tvr.set(*failed_bit)
            if isinstance(exc, oda.OdaError) and exc.missing:
                self.tvr.set(1, 6)
            self.note(f"{method} failed: {exc}")
            return
        self.note(f"{method} ok")

    def generate_ac(self, requested: str, cdol_tag: int) -> str:
        """GENERATE AC; the card may answer a lower cryptogram than asked, never a higher one (Book 3 9.3)."""
        self.values[0x95] = bytes(self.tvr)
        data = dol.build(self.values[cdol_tag], self.values)
        answer, _ = self.channel.exchange(apdu.generate_ac(action.REFERENCE_CONTROL[requested], data))
        fields = generate_ac_answer(answer)
        answered = CID_TYPES.get(fields[0x9F27][0] & 0xC0)
        if answered is None or action.RANK[answered] > action.RANK[requested]:
            raise CardError(f"the card answered {answered or 'an unknown cryptogram'} to a request for {requested}",
                            code="cryptogram_upgraded")
        self.values.update(fields)
        self.tsi.set(1, 6)  # card risk management happens in the card during GENERATE AC
        self.outcome.cryptogram_type, self.outcome.cryptogram = answered, fields[0x9F26]
        self.outcome.icc_data = field_55(self.values)
        self.note(f"GENERATE AC asked {requested}, card gave {answered}")
        return answered

    def online(self, aip: bytes, track2: bytes, online_pin: Secret | None) -> None:
        """Authorise with the issuer, authenticate its answer, ask the card for the final cryptogram (Book 3 10.9)."""
        request = OnlineRequest(pan=self.outcome.pan, track2=Secret(track2), psn=self.outcome.psn,
                                expiry=self.outcome.expiry, icc_data=self.outcome.icc_data, pin=online_pin,
                                entry_mode="051")
        response = self.go_online(request)
        if response.unable_to_go_online:
            default = action.default_action(self.tvr, self.values, self.aid_config)
            self.note(f"unable to go online: default action {default.cryptogram} ({default.reason})")
            self.values[0x8A] = UNABLE_ONLINE_APPROVED if default.cryptogram == action.TC else UNABLE_ONLINE_DECLINED
            final = self.generate_ac(default.cryptogram, 0x8D)
            if final == action.TC:
                self.finish("approved_offline", "approved offline (the bank could not be reached)")
            else:
                self.finish("declined_offline", f"declined offline: the bank could not be reached ({default.reason})")
            return
        code = response.response_code
        self.outcome.response_code, self.outcome.auth_code = code, response.auth_code
        self.note(f"online: response code {code}{' approved' if response.approved else ''}")
        self.values[0x8A] = code.encode("ascii")[:2].ljust(2)
        if response.auth_code:
            self.values[0x89] = response.auth_code.encode("ascii")[:6]
        self.values.pop(0x91, None)
        if response.issuer_auth_data and aip[0] & 0x04:  # AIP byte 1 bit 3: issuer authentication supported
            self.tsi.set(1, 5)
            _, sw = self.channel.exchange(apdu.external_authenticate(response.issuer_auth_data),
                                          allowed=frozenset({0x9000, 0x6300, 0x6985}))
            if sw != 0x9000:
                self.tvr.set(5, 7)
                self.note(f"issuer authentication failed ({sw:04X})")
            else:
                self.note("issuer authentication ok")
        elif response.issuer_auth_data:
            self.values[0x91] = response.issuer_auth_data  # the card checks it inside the 2nd GENERATE AC
        final = self.generate_ac(action.TC if response.approved else action.AAC, 0x8D)
        if not response.approved:
            self.finish("declined", f"declined by the bank ({code})")
        elif final == action.TC:
            self.finish("approved", f"approved by the bank ({code})")
        elif self.tvr.is_set(5, 7):
            self.finish("declined", "declined by the card: issuer authentication failed")
        else:
            self.finish("declined", f"declined by the card after the bank approved ({code})")

    # --- the whole transaction -----------------------------------------------------------

    def transaction(self) -> None:
        selected, processing = self.select()
        self.aid_config = selected.aid_config
        aip = processing.aip
        card = self.read(selected, processing)
        self.authenticate(selected, aip, card)
        for found in restrictions.check(self.values, self.values[0x9A].hex(), self.txn, self.config,
                                        selected.aid_config, self.tvr):
            self.note(f"restriction: {found}")
        verified = cvm.verify(self.channel, self.values, aip, self.txn, self.config, self.cardholder, self.tvr)
        if verified.performed:
            self.tsi.set(1, 7)
        self.outcome.cvm, self.outcome.cvm_results = verified.method, verified.results
        self.outcome.signature_required = verified.signature
        self.values[0x9F34] = verified.results
        self.note(f"CVM: {verified.method} ({verified.results.hex().upper()})"
                  + "".join(f"; {line}" for line in verified.notes))
        if aip[0] & 0x08:  # AIP byte 1 bit 4: terminal risk management is to be performed
            pan = self.outcome.pan.reveal().decode("ascii") if self.outcome.pan else ""
            for line in risk.manage(self.channel, self.values, pan, self.txn, self.config, selected.aid_config,
                                    self.tvr, self.tsi, rng=self.rng, pan_key=self.pan_key):
                self.note(f"risk: {line}")
        decision = action.analyse(self.tvr, self.values, selected.aid_config,
                                  online_capable=self.config.online_capable, force_online=self.txn.force_online)
        self.note(f"TVR {self.tvr.hex()}: {', '.join(self.tvr.describe()) or 'no bits set'}")
        self.note(f"terminal action analysis: {decision.cryptogram} ({decision.reason})")
        answered = self.generate_ac(decision.cryptogram, 0x8C)
        if answered == action.AAC:
            if decision.cryptogram == action.AAC:
                self.finish("declined", f"declined by the terminal: {decision.reason}")
            else:
                self.finish("declined", "declined by the card")
        elif answered == action.TC:
            self.finish("approved_offline", "approved offline")
        else:
            self.online(aip, self.values.get(0x57, b""), verified.online_pin)

    def finish(self, decision: str, reason: str) -> None:
        self.outcome.decision, self.outcome.reason = decision, reason

    def _today(self) -> date:
        text = self.values[0x9A].hex()
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))

    def run(self) -> Outcome:
        try:
            self.transaction()
        except CardRemoved:
            self.finish("failed", "card removed")
        except SelectionCancelled as exc:
            self.finish("cancelled", str(exc))
        except CardError as exc:
            self.finish("failed", str(exc))
        except ValueError as exc:  # malformed TLV or DOL from the card
            self.finish("failed", f"the card sent malformed data: {exc}")
        self.outcome.tvr, self.outcome.tsi = bytes(self.tvr), bytes(self.tsi)
        self.note(f"outcome: {self.outcome.decision} ({self.outcome.reason})")
        return self.outcome


def run(channel: Channel, config: TerminalConfig, txn: Transaction, cardholder: Cardholder, go_online: GoOnline, *,
        rng: random.Random | None = None, now: datetime | None = None,
        pan_key: risk.PanKey = risk.sha256_key) -> Outcome:
    """One contact chip transaction; `rng` (random selection, unpredictable number) and `now` for tests."""
    flow = _Flow(channel, config, txn, cardholder, go_online, rng or random.SystemRandom(), now or datetime.now(),
                 pan_key, seeded=rng is not None)
    return flow.run()
