"""Emulated contactless cards: a qVSDC-style Visa card and a Mastercard-style (M/Chip) card.

Both sit behind a PPSE (2PAY.SYS.DDF01) and answer with a contactless pseudo-ATR.
Cryptograms come from tests/emv/card.py's `application_cryptogram` (pyemv under
tests.emv.keys.IMK_AC), over the data the reference issuer (acquirer/issuer.py, through
tests/emv/issuer.py) takes back out of field 55: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37, the
AIP, the ATC and the CVR from 9F10.

- Visa: CVN 10 (ICC master key option A, no session key); 9F10 = 06 01 0A 03 b2 b3 00,
  the CVR's b2 bits 6-5 = 10 (ARQC in the first and only cryptogram). The GPO answer
  (format 2) carries the cryptogram, track 2 equivalent data, the CTQ and the form
  factor; one record holds the PAN and the expiry date. The CTQ asks for online PIN
  when the reader says CVM required (TTQ byte 2 bit 7) and the card prefers it.
- Mastercard: CVN 16 (Mastercard session key over ATC and UN); 9F10 = 01 10 + a 6-byte
  CVR + 2-byte DAC + 8 bytes of counters. GPO format 1, two records (track 2 with the
  CDOL1 and CVM list; PAN, dates and action codes), then GENERATE AC answers format 2.

`pull_at="GET PROCESSING OPTIONS"` (or any command name) leaves the field at that
command: transmit raises CardPulled, which vpcd turns into a removed card and the
in-process tests into CardRemoved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.emv import tlv
from appliance.emv.model import AidConfig, TerminalConfig
from tests.emv.card import (AAC, ARQC, COMMANDS, SW_OK, TC, application_cryptogram, generate_ac_answer, gpo_values,
                            split_dol)
from tests.emv.keys import APPROVE, MASTERCARD
from tests.emv.personalise import MASTERCARD_AID, VISA_AID, bcd, record, test_terminal_config, track2
from tests.pcsc.vpcd_card import CardPulled

CONTACTLESS_ATR = bytes.fromhex("3B80800101")  # PC/SC part 3 pseudo-ATR, no historical bytes
PPSE = b"2PAY.SYS.DDF01"
CONTACTLESS_LIMIT, CVM_LIMIT = 100_000, 30_000  # the test terminal's tap limits (minor units)
SMALL, ABOVE_CVM = 2_500, 45_000  # amounts below and above the CVM limit

# qVSDC PDOL (Book C-3 Annex A): TTQ, amounts, country, TVR, currency, date, type, UN.
VISA_PDOL = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")
MASTERCARD_CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403")
# X = Y = 0; online PIN if the reader offers it (else next), signature likewise, then no CVM.
MASTERCARD_CVM_LIST = bytes.fromhex("00000000" "00000000" "4203" "5E03" "1F03")


def tap_config(**overrides) -> TerminalConfig:
    """The contact test terminal (tests/emv/personalise.py) with tap limits on both applications."""
    limits = {"contactless_limit": CONTACTLESS_LIMIT, "cvm_limit": CVM_LIMIT}
    aids = (AidConfig(VISA_AID, "VISA", **limits), AidConfig(MASTERCARD_AID, "MASTERCARD", **limits))
    return test_terminal_config(**{"aids": aids, **overrides})


@dataclass
class ContactlessCard:
    """What both cards share: PPSE, SELECT, READ RECORD, a transaction counter and `received` commands."""

    pan: str
    aid: bytes
    label: str
    psn: str = "01"
    expiry: str = "281231"  # YYMMDD
    pull_at: str | None = None
    cryptogram: int = ARQC  # what the card answers when asked for an ARQC (AAC: its own decline; TC: offline)
    atc: int = 0x0020
    atr: bytes = CONTACTLESS_ATR
    received: list[bytes] = field(default_factory=list)
    selected: bool = False
    pdol: bytes = b""

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        self.received.append(apdu)
        if self.pull_at == COMMANDS.get(apdu[1]):
            raise CardPulled
        data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if apdu[1] == 0xA4:
            return self._select(data)
        if not self.selected:
            return b"", 0x69, 0x85
        if apdu[1] == 0xB2:
            record = self.records().get((apdu[3] >> 3, apdu[2]))
            return (record, *SW_OK) if record else (b"", 0x6A, 0x83)
        if apdu[1] == 0xA8:
            values = gpo_values(self.pdol, data)
            return self.gpo(values) if values is not None else (b"", 0x67, 0x00)
        if apdu[1] == 0xAE:
            return self.generate_ac(apdu[2], data)
        return b"", 0x6D, 0x00

    def _select(self, name: bytes) -> tuple[bytes, int, int]:
        self.selected = False
        if name == PPSE:
            entry = tlv.encode(0x4F, self.aid) + tlv.encode(0x50, self.label.encode()) + tlv.encode(0x87, b"\x01")
            directory = tlv.encode(0xBF0C, tlv.encode(0x61, entry))
            return tlv.encode(0x6F, tlv.encode(0x84, PPSE) + tlv.encode(0xA5, directory)), *SW_OK
        if name != self.aid:
            return b"", 0x6A, 0x82
        self.selected = True
        proprietary = tlv.encode(0x50, self.label.encode()) + (tlv.encode(0x9F38, self.pdol) if self.pdol else b"")
        return tlv.encode(0x6F, tlv.encode(0x84, self.aid) + tlv.encode(0xA5, proprietary)), *SW_OK

    def track2(self) -> bytes:
        return track2(self.pan, self.expiry)

    def records(self) -> dict[tuple[int, int], bytes]:
        raise NotImplementedError

    def gpo(self, values: dict[int, bytes]) -> tuple[bytes, int, int]:
        raise NotImplementedError

    def generate_ac(self, p1: int, data: bytes) -> tuple[bytes, int, int]:
        return b"", 0x6D, 0x00


@dataclass
class VisaCard(ContactlessCard):
    """qVSDC: the ARQC in the GPO answer (format 2), PAN and expiry in SFI 1 record 1 (unread with an empty `afl`)."""

    pan: str = APPROVE
    aid: bytes = VISA_AID
    label: str = "VISA CREDIT"
    pdol: bytes = VISA_PDOL
    aip: bytes = bytes.fromhex("0020")  # byte 1 bit 6: (f)DDA supported; no offline approvals are asked here
    online_pin: bool = True  # CTQ: online PIN when the reader says CVM required, else signature
    form_factor: bytes = bytes.fromhex("20700000")  # 9F6E
    afl: bytes = bytes.fromhex("08010100")  # b"": no 94 and no records, the PAN and expiry only in 57

    def records(self) -> dict[tuple[int, int], bytes]:
        return {(1, 1): record({0x5A: bcd(self.pan), 0x5F24: bytes.fromhex(self.expiry), 0x5F28: b"\x01\x56"})}

    def gpo(self, values: dict[int, bytes]) -> tuple[bytes, int, int]:
        self.atc += 1
        cvm_required = bool(values[0x9F66][1] & 0x40)
        ctq = bytes([(0x80 if self.online_pin else 0x40) if cvm_required else 0x00, 0x00])
        cvr = bytes([0x03, {AAC: 0x00, TC: 0x10, ARQC: 0x20}[self.cryptogram], 0x00, 0x00])
        atc = self.atc.to_bytes(2, "big")
        ac, iad = application_cryptogram(self.aid, self.pan, self.psn, values, self.aip, atc, cvr)
        body = {0x82: self.aip, 0x94: self.afl, 0x57: self.track2(), 0x5F34: bytes.fromhex(self.psn), 0x9F10: iad,
                0x9F26: ac, 0x9F27: bytes([self.cryptogram]), 0x9F36: atc, 0x9F6C: ctq, 0x9F6E: self.form_factor}
        return tlv.encode(0x77, tlv.encode_all((tag, value) for tag, value in body.items() if value)), *SW_OK


@dataclass
class MastercardCard(ContactlessCard):
    """M/Chip: GPO format 1 (AIP, AFL), two records, CVM list, one GENERATE AC (CVN 16)."""

    pan: str = MASTERCARD
    aid: bytes = MASTERCARD_AID
    label: str = "MASTERCARD"
    aip: bytes = bytes.fromhex("1880")  # CVM supported, terminal risk management; EMV mode
    cvm_list: bytes = MASTERCARD_CVM_LIST
    gpo_done: bool = False

    def records(self) -> dict[tuple[int, int], bytes]:
        first = record({0x57: self.track2(), 0x8C: MASTERCARD_CDOL1, 0x8E: self.cvm_list})
        second = record({
            0x5A: bcd(self.pan), 0x5F24: bytes.fromhex(self.expiry), 0x5F25: bytes.fromhex("240101"),
            0x5F34: bytes.fromhex(self.psn), 0x5F28: b"\x01\x56", 0x9F42: b"\x01\x56", 0x9F07: b"\xff\x00",
            0x9F08: b"\x00\x02", 0x9F0D: bytes(5), 0x9F0E: bytes(5), 0x9F0F: bytes(5)})
        return {(1, 1): first, (1, 2): second}

    def gpo(self, values: dict[int, bytes]) -> tuple[bytes, int, int]:
        self.gpo_done = True
        return tlv.encode(0x80, self.aip + bytes.fromhex("08010200")), *SW_OK

    def generate_ac(self, p1: int, data: bytes) -> tuple[bytes, int, int]:
        values = split_dol(MASTERCARD_CDOL1, data)
        if not self.gpo_done or values is None:
            return b"", 0x69, 0x85
        self.gpo_done = False  # one cryptogram per tap
        self.atc += 1
        answered = self.cryptogram if p1 & 0xC0 == ARQC else AAC
        # CVR (M/Chip): byte 1 bits 8-7 the AC type of this GENERATE AC; the rest left zero here
        cvr = bytes([{AAC: 0x00, TC: 0x40, ARQC: 0x80}[answered], 0x00, 0x00, 0x00, 0x00, 0x00])
        atc = self.atc.to_bytes(2, "big")
        ac, iad = application_cryptogram(self.aid, self.pan, self.psn, values, self.aip, atc, cvr)
        return generate_ac_answer(2, answered, atc, ac, iad), *SW_OK
