"""A stateful emulated EMV contact card: the card end of every command the contact kernel sends.

It answers SELECT (PSE directory and applications, with next occurrence), READ RECORD,
GET PROCESSING OPTIONS, GET DATA (9F17, 9F36, 9F13), VERIFY (plaintext PIN with a try
counter that blocks), INTERNAL AUTHENTICATE (DDA with its ICC key), GENERATE AC (first
and second) and EXTERNAL AUTHENTICATE. Cryptograms come from pyemv under
tests.emv.keys.IMK_AC (`application_cryptogram` below, shared with the contactless cards), so the
reference issuer (acquirer/issuer.py, through tests/emv/issuer.py) can check them from
field 55 alone:

- ARQC/TC/AAC over 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 (the CDOL1 values; 95 and 9F37 from
  CDOL2 in the second GENERATE AC), the AIP, the ATC and the CVR; Visa CVN 10 (ICC
  master key, no session key), or Mastercard CVN 16 for an application under the
  Mastercard RID;
- Visa 9F10 = 06 01 0A 03 b2 b3 00: length, key index, CVN 0x0A, then the 4-byte CVR (03 and
  three bytes: b2 bits 8-7 second AC type, 6-5 first AC type (00 AAC, 01 TC, 10 ARQC),
  bit 3 offline PIN performed, bit 4 issuer authentication failed; b3 bit 6 PIN try
  limit exceeded); Mastercard 9F10 = 01 10, a 6-byte CVR (b2 b3 of the Visa one, whose
  AC type bits sit where M/Chip's CVR byte 1 has them, then zeros), DAC and counters;
- ARPC method 1 over the ARQC and the 2-byte response code; 91 = ARPC (8) + code (2).

`t0=True` answers like a T=0 card (61xx then GET RESPONSE for commands with data in
and out, 6Cxx for READ RECORD and GET DATA sent with the wrong Le); `pull_at="GENERATE AC"`
leaves the reader at that command (raises CardPulled).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from typing import Mapping

from appliance.emv import dol, tlv
from tests.emv.keys import MASTERCARD_RID, card_cryptography
from tests.pcsc.vpcd_card import CardPulled

CONTACT_ATR = bytes.fromhex("3B6800000073C84012009000")  # T=0, as most EMV chip cards
PSE_NAME = b"1PAY.SYS.DDF01"
PSE_SFI = 1
COMMANDS = {0xA4: "SELECT", 0xB2: "READ RECORD", 0xA8: "GET PROCESSING OPTIONS", 0xCA: "GET DATA",
            0x20: "VERIFY", 0x88: "INTERNAL AUTHENTICATE", 0xAE: "GENERATE AC", 0x82: "EXTERNAL AUTHENTICATE",
            0xC0: "GET RESPONSE"}
AAC, TC, ARQC = 0x00, 0x40, 0x80
SW_OK = (0x90, 0x00)
# Book 2 8.1.1: the terminal data an ARQC covers (before the AIP, ATC and CVR), in pyemv's order.
AC_DATA = (0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37)


@dataclass
class Application:
    """One payment application on the card, as personalised (tests/emv/personalise.py builds them)."""

    aid: bytes
    label: str
    pan: str
    afl: bytes
    aip: bytes
    records: dict[tuple[int, int], bytes]  # (sfi, record) -> the whole record, template 70
    cdol1: bytes
    cdol2: bytes
    psn: str = "01"
    pin: str = "1234"
    pin_tries: int = 3
    priority: int | None = None  # 87 in the PSE entry and the FCI
    pdol: bytes = b""
    blocked: bool = False  # SELECT answers 6283
    icc_key: RSAPrivateKey | None = None  # for DDA
    gpo_format: int = 1  # 1: 80 AIP AFL; 2: 77 with 82 and 94 (94 left out when `afl` is empty)
    gac_format: int = 1
    refuse_gpo: bool = False  # GPO answers 6985
    decline: bool = False  # the card's own risk management declines (AAC) at the first GENERATE AC
    atc: int = 0x0010
    last_online_atc: int = 0x000F
    bad_dda_signature: bool = False


@dataclass
class _Session:
    """What one transaction left in the card: reset by every SELECT of an application."""

    gpo_done: bool = False
    first: int | None = None  # the first AC type
    cdol1: dict[int, bytes] = field(default_factory=dict)
    arqc: bytes = b""
    issuer_auth: bool | None = None  # None: not tried; then passed or failed
    offline_pin: bool = False
    pin_blocked: bool = False


class EmvCard:
    """Applications behind a PSE (or not), answering one APDU at a time; `received` records the commands."""

    def __init__(self, applications: list[Application], *, pse: bool = True, t0: bool = False,
                 pull_at: str | None = None, atr: bytes = CONTACT_ATR):
        self.applications = applications
        self.pse = pse
        self.t0 = t0
        self.pull_at = pull_at
        self.atr = atr
        self.received: list[bytes] = []
        self.current: Application | None = None
        self.in_pse = False
        self.session = _Session()
        self._occurrence: dict[bytes, int] = {}
        self._pending = b""  # T=0: data waiting for GET RESPONSE

    # --- transport --------------------------------------------------------------------------

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        self.received.append(apdu)
        if len(apdu) > 261:
            return b"", 0x67, 0x00
        name = command_names([apdu])[0]
        if self.pull_at == name:
            raise CardPulled
        if apdu[1] == 0xC0:
            return self._get_response(apdu)
        data, sw1, sw2 = self._answer(apdu)
        assert len(data) <= 256, f"{name}: {len(data)} bytes do not fit a short APDU answer"
        if not self.t0 or sw1 != 0x90 or not data:
            return data, sw1, sw2
        if apdu[1] in (0xB2, 0xCA):  # case 2: the data at once with the right Le, 6Cxx with a wrong one
            return (data, sw1, sw2) if apdu[4] == len(data) else (b"", 0x6C, len(data))
        self._pending = data
        return b"", 0x61, len(data) & 0xFF

    def _get_response(self, apdu: bytes) -> tuple[bytes, int, int]:
        if not self._pending:
            return b"", 0x69, 0x85
        size = apdu[4] or 256
        data, self._pending = self._pending[:size], self._pending[size:]
        if self._pending:
            return data, 0x61, len(self._pending) & 0xFF
        return data, *SW_OK

    def _answer(self, apdu: bytes) -> tuple[bytes, int, int]:
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4:
            return self._select(data, next_occurrence=p2 & 0x02 == 0x02)
        if ins == 0xB2:
            return self._read_record(p2 >> 3, p1)
        app = self.current
        if app is None:
            return b"", 0x69, 0x85
        handlers = {0xA8: lambda: self._gpo(app, data), 0xCA: lambda: self._get_data(app, p1 << 8 | p2),
                    0x20: lambda: self._verify(app, data), 0x88: lambda: self._internal_authenticate(app, data),
                    0xAE: lambda: self._generate_ac(app, p1, data),
                    0x82: lambda: self._external_authenticate(app, data)}
        handler = handlers.get(ins)
        return handler() if handler else (b"", 0x6D, 0x00)

    # --- selection and records ------------------------------------------------------------

    def _fci(self, app: Application) -> bytes:
        proprietary = tlv.encode(0x50, app.label.encode())
        if app.priority is not None:
            proprietary += tlv.encode(0x87, bytes([app.priority]))
        if app.pdol:
            proprietary += tlv.encode(0x9F38, app.pdol)
        proprietary += tlv.encode(0x5F2D, b"en")
        return tlv.encode(0x6F, tlv.encode(0x84, app.aid) + tlv.encode(0xA5, proprietary))

    def _select(self, name: bytes, *, next_occurrence: bool) -> tuple[bytes, int, int]:
        self.current, self.in_pse = None, False
        if name == PSE_NAME:
            if not self.pse:
                return b"", 0x6A, 0x82
            self.in_pse = True
            fci = tlv.encode(0x6F, tlv.encode(0x84, PSE_NAME)
                             + tlv.encode(0xA5, tlv.encode(0x88, bytes([PSE_SFI])) + tlv.encode(0x5F2D, b"en")))
            return fci, *SW_OK
        matching = [app for app in self.applications if app.aid.startswith(name)]
        index = self._occurrence.get(name, -1) + 1 if next_occurrence else 0
        if index >= len(matching):
            return b"", 0x6A, 0x82
        self._occurrence[name] = index
        app = matching[index]
        if app.blocked:
            return self._fci(app), 0x62, 0x83
        self.current, self.session = app, _Session()
        return self._fci(app), *SW_OK

    def _read_record(self, sfi: int, record: int) -> tuple[bytes, int, int]:
        if self.in_pse and sfi == PSE_SFI:
            if record != 1:
                return b"", 0x6A, 0x83
            entries = b""
            for app in self.applications:
                entry = tlv.encode(0x4F, app.aid) + tlv.encode(0x50, app.label.encode())
                if app.priority is not None:
                    entry += tlv.encode(0x87, bytes([app.priority]))
                entries += tlv.encode(0x61, entry)
            return tlv.encode(0x70, entries), *SW_OK
        if self.current is None or (sfi, record) not in self.current.records:
            return b"", 0x6A, 0x83
        return self.current.records[(sfi, record)], *SW_OK

    # --- transaction ------------------------------------------------------------------------

    def _gpo(self, app: Application, data: bytes) -> tuple[bytes, int, int]:
        if gpo_values(app.pdol, data) is None:
            return b"", 0x67, 0x00
        if app.refuse_gpo or self.session.gpo_done:
            return b"", 0x69, 0x85
        self.session.gpo_done = True
        app.atc += 1  # Visa cards count the transaction at GPO
        if app.gpo_format == 1:
            return tlv.encode(0x80, app.aip + app.afl), *SW_OK
        return tlv.encode(0x77, tlv.encode(0x82, app.aip) + (tlv.encode(0x94, app.afl) if app.afl else b"")), *SW_OK

    def _get_data(self, app: Application, tag: int) -> tuple[bytes, int, int]:
        value = {0x9F17: bytes([app.pin_tries]), 0x9F36: app.atc.to_bytes(2, "big"),
                 0x9F13: app.last_online_atc.to_bytes(2, "big")}.get(tag)
        if value is None:
            return b"", 0x6A, 0x88
        return tlv.encode(tag, value), *SW_OK

    def _verify(self, app: Application, block: bytes) -> tuple[bytes, int, int]:
        if app.pin_tries == 0:
            self.session.pin_blocked = True
            return b"", 0x69, 0x83
        self.session.offline_pin = True
        digits = block.hex().upper()
        if len(block) != 8 or digits[0] != "2":
            return b"", 0x6A, 0x80
        typed = digits[2:2 + int(digits[1], 16)]
        if typed == app.pin:
            app.pin_tries = 3
            return b"", *SW_OK
        app.pin_tries -= 1
        self.session.pin_blocked = app.pin_tries == 0
        return b"", 0x63, 0xC0 | app.pin_tries

    def _internal_authenticate(self, app: Application, ddol_data: bytes) -> tuple[bytes, int, int]:
        if app.icc_key is None:
            return b"", 0x6D, 0x00
        numbers = app.icc_key.private_numbers()
        size = (numbers.public_numbers.n.bit_length() + 7) // 8
        dynamic_number = app.atc.to_bytes(2, "big") + bytes(6)
        dynamic = bytes([len(dynamic_number)]) + dynamic_number
        body = bytes([0x05, 0x01, len(dynamic)]) + dynamic + b"\xbb" * (size - len(dynamic) - 25)
        block = b"\x6a" + body + hashlib.sha1(body + ddol_data).digest() + b"\xbc"
        if app.bad_dda_signature:
            block = block[:10] + bytes([block[10] ^ 0xFF]) + block[11:]
        signature = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
        return tlv.encode(0x80, signature.to_bytes(size, "big")), *SW_OK

    def _cvr(self, app: Application, second: int | None = None) -> bytes:
        """The CVR of this GENERATE AC (`second`: the AC type of the second one), in the app's scheme's length."""
        session = self.session
        ac_type = {AAC: 0, TC: 1, ARQC: 2}
        b2 = (ac_type[session.first] << 4) if session.first is not None else 0
        b2 |= (ac_type[second] << 6) if second is not None else 0
        b2 |= 0x04 if session.offline_pin else 0
        b2 |= 0x08 if session.issuer_auth is False else 0
        b3 = 0x20 if session.pin_blocked else 0
        if app.aid.startswith(MASTERCARD_RID):
            return bytes([b2, b3, 0x00, 0x00, 0x00, 0x00])
        return bytes([0x03, b2, b3, 0x00])

    def _generate_ac(self, app: Application, p1: int, data: bytes) -> tuple[bytes, int, int]:
        requested = p1 & 0xC0
        session = self.session
        if not session.gpo_done or requested == 0xC0:
            return b"", 0x69, 0x85
        crypto = card_cryptography(app.aid, app.pan, app.psn)
        if session.first is None:
            values = split_dol(app.cdol1, data)
            if values is None:
                return b"", 0x67, 0x00
            session.cdol1 = values
            answered = AAC if app.decline or requested == AAC else requested
            session.first = answered
            cvr = self._cvr(app)
        elif session.first == ARQC:
            values = split_dol(app.cdol2, data)
            if values is None:
                return b"", 0x67, 0x00
            arpc = values.get(0x91, b"")
            if session.issuer_auth is None and arpc.strip(b"\x00"):
                session.issuer_auth = crypto.generate_arpc(session.arqc, arpc[8:10]) == arpc[:8]
            answered = TC if requested == TC and session.issuer_auth is not False else AAC
            values = {**session.cdol1, 0x95: values[0x95], 0x9F37: values[0x9F37]}
            cvr = self._cvr(app, second=answered)
        else:
            return b"", 0x69, 0x85  # the transaction is over
        atc = app.atc.to_bytes(2, "big")
        cryptogram, iad = application_cryptogram(app.aid, app.pan, app.psn, values, app.aip, atc, cvr)
        if answered == ARQC:
            session.arqc = cryptogram
        elif session.first == ARQC and answered == TC:
            app.last_online_atc = app.atc  # the issuer approved: velocity counting starts again
        return generate_ac_answer(app.gac_format, answered, atc, cryptogram, iad), *SW_OK

    def _external_authenticate(self, app: Application, data: bytes) -> tuple[bytes, int, int]:
        session = self.session
        if session.first != ARQC or session.issuer_auth is not None or len(data) < 10:
            return b"", 0x69, 0x85
        crypto = card_cryptography(app.aid, app.pan, app.psn)
        session.issuer_auth = crypto.generate_arpc(session.arqc, data[8:10]) == data[:8]
        return (b"", *SW_OK) if session.issuer_auth else (b"", 0x63, 0x00)


def command_names(received: list[bytes]) -> list[str]:
    """The commands an emulated card (contact or contactless) received, in order, by the names `pull_at` takes."""
    return [COMMANDS.get(apdu[1], f"INS {apdu[1]:02X}") for apdu in received]


def split_dol(dol_list: bytes, data: bytes) -> dict[int, bytes] | None:
    """The terminal's PDOL/CDOL data cut back into tags; None when the length is wrong (the card answers 6700)."""
    entries = dol.parse(dol_list)
    if len(data) != sum(length for _, length in entries):
        return None
    values, offset = {}, 0
    for tag, length in entries:
        values[tag] = data[offset:offset + length]
        offset += length
    return values


def generate_ac_answer(answer_format: int, cid: int, atc: bytes, ac: bytes, iad: bytes) -> bytes:
    """GENERATE AC response data (Book 3 6.5.5.4): format 1 (80: CID ATC AC IAD) or format 2 (77 template)."""
    if answer_format == 1:
        return tlv.encode(0x80, bytes([cid]) + atc + ac + iad)
    return tlv.encode(0x77, tlv.encode_all(((0x9F27, bytes([cid])), (0x9F36, atc), (0x9F26, ac), (0x9F10, iad))))


def gpo_values(pdol: bytes, data: bytes) -> dict[int, bytes] | None:
    """GET PROCESSING OPTIONS data (83, length, the PDOL values) cut back into tags; None when malformed."""
    if len(data) < 2 or data[0] != 0x83 or data[1] != len(data) - 2:
        return None
    return split_dol(pdol, data[2:])


def application_cryptogram(aid: bytes, pan: str, psn: str, values: Mapping[int, bytes], aip: bytes, atc: bytes,
                           cvr: bytes) -> tuple[bytes, bytes]:
    """(9F26, 9F10): the AC over `AC_DATA`, AIP, ATC and CVR, and the IAD naming its version (Book 2 8.1).

    Visa CVN 10: IAD 06 01 0A + the 4-byte CVR; Mastercard CVN 16: IAD 01 10 + the 6-byte
    CVR + DAC (2) + counters (8), as acquirer/issuer.py reads them.
    """
    ac = card_cryptography(aid, pan, psn).generate_ac(*(values[tag] for tag in AC_DATA), aip, atc, cvr)
    if aid.startswith(MASTERCARD_RID):
        return ac, bytes([0x01, 0x10]) + cvr + bytes(10)
    return ac, bytes([0x06, 0x01, 0x0A]) + cvr
