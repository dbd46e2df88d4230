"""Initiate application processing and read application data (EMV Book 3 10.1 and 10.2).

GET PROCESSING OPTIONS answers the Application Interchange Profile (what the card
supports) and the Application File Locator (which records to read, and which of them
are signed for offline data authentication). The records become one tag dictionary,
plus the byte string offline data authentication signs (Book 3 10.3). GET DATA reads
the counters outside the records, and `account` takes the account data out of the tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from appliance.emv import apdu, dol, tlv
from appliance.emv.apdu import CardError, Channel
from appliance.emv.trace import masked_pan
from appliance.native.secret import Secret

CONDITIONS_NOT_SATISFIED = 0x6985


class ConditionsNotSatisfied(CardError):
    """GPO refused with 6985: this application cannot do this transaction; try another application or interface."""

    def __init__(self) -> None:
        super().__init__("the card refused this transaction for this application (6985): "
                         "try another application or interface", sw=CONDITIONS_NOT_SATISFIED)


class CardDataError(CardError):
    """The card's data is malformed or incomplete (Book 3 7.5: the transaction is terminated)."""

    def __init__(self, message: str):
        super().__init__(message, code="icc_data_missing")


@dataclass(frozen=True)
class Account:
    """Who the card is, for the authorisation; the PAN and track data only inside Secret."""

    pan: Secret
    track2: Secret  # the track 2 equivalent as read (57 or 9F6B, binary), b"" when the card gave none
    expiry: str  # YYMM, "" when the card gave none
    psn: str  # PAN sequence number (5F34), "" when the card has none
    masked_pan: str


@dataclass
class Processing:
    aip: bytes
    afl: bytes  # b"" when a format 2 answer has no 94
    data: dict[int, bytes]  # every primitive tag of the GPO answer (format 2), or 82 and 94 (format 1)


@dataclass
class CardData:
    tags: dict[int, bytes]
    static_data: bytes  # the records signed for offline data authentication, in AFL order


def primitives(nodes: list[tlv.Node]) -> list[tlv.Node]:
    """Every primitive object inside `nodes`, templates opened."""
    return [node for top in nodes for node in top.walk() if not node.constructed]


def gpo(channel: Channel, pdol: bytes, values: Mapping[int, bytes]) -> Processing:
    """GET PROCESSING OPTIONS with the data the card's PDOL asks for (tag 83, Book 3 6.5.8)."""
    pdol_data = dol.build(pdol, values) if pdol else b""
    data, sw = channel.exchange(apdu.get_processing_options(pdol_data),
                                allowed=frozenset({0x9000, CONDITIONS_NOT_SATISFIED}))
    if sw == CONDITIONS_NOT_SATISFIED:
        raise ConditionsNotSatisfied()
    nodes = tlv.decode(data)
    if len(nodes) != 1 or nodes[0].tag not in (0x77, 0x80):
        raise CardDataError("the GET PROCESSING OPTIONS answer is neither template 77 nor 80")
    if nodes[0].tag == 0x80:  # format 1: AIP (2 bytes) then the AFL
        value = nodes[0].value
        if len(value) < 2:
            raise CardDataError("the GET PROCESSING OPTIONS answer has no AIP")
        return Processing(aip=value[:2], afl=value[2:], data={0x82: value[:2], 0x94: value[2:]})
    fields = {node.tag: node.value for node in primitives(nodes)}
    if 0x82 not in fields:
        raise CardDataError("the GET PROCESSING OPTIONS answer lacks 82 (AIP)")
    # The AFL may be absent: a qVSDC card (Book C-3) with everything in its GPO answer has no
    # records to read. The contact kernel requires it itself (Book 3 6.5.8.4, contact.py).
    return Processing(aip=fields[0x82], afl=fields.get(0x94, b""), data=fields)


def parse_afl(afl: bytes) -> list[tuple[int, int, int, int]]:
    """(sfi, first record, last record, records signed for ODA) per 4-byte entry (Book 3 10.2)."""
    if len(afl) % 4:
        raise CardDataError(f"the AFL is {len(afl)} bytes, not a multiple of 4")
    entries = []
    for i in range(0, len(afl), 4):
        sfi, first, last, oda = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        if afl[i] & 0x07 or not 1 <= sfi <= 30 or first == 0 or last < first or oda > last - first + 1:
            raise CardDataError(f"AFL entry {i // 4 + 1} ({afl[i:i + 4].hex().upper()}) is invalid")
        entries.append((sfi, first, last, oda))
    return entries


def read_afl(channel: Channel, afl: bytes) -> CardData:
    """READ RECORD every record the AFL names; collect tags and the ODA input (Book 3 10.3)."""
    tags: dict[int, bytes] = {}
    static = bytearray()
    for sfi, first, last, oda in parse_afl(afl):
        for record in range(first, last + 1):
            data, _ = channel.exchange(apdu.read_record(sfi, record))
            nodes = tlv.decode(data)
            if len(nodes) != 1 or nodes[0].tag != 0x70:
                raise CardDataError(f"record {record} of SFI {sfi} is not a template 70")
            for node in primitives(nodes):
                if node.tag in tags:  # Book 3 7.5: a data object may appear only once
                    raise CardDataError(f"tag {node.tag:X} appears twice in the card's records")
                tags[node.tag] = node.value
            if record < first + oda:
                # SFI 1-10: only the value inside 70; SFI 11-30: the whole record, tag and length included
                static += nodes[0].value if sfi <= 10 else data
    return CardData(tags=tags, static_data=bytes(static))


def get_data(channel: Channel, tag: int) -> bytes | None:
    """GET DATA of one data object (Book 3 6.5.7); None when the card does not give it."""
    data, sw = channel.exchange(apdu.get_data(tag), allowed=frozenset({0x9000, 0x6A81, 0x6A88, 0x6D00}))
    found = tlv.find(tlv.decode(data), tag) if sw == 0x9000 and data else None
    return found.value if found is not None and found.value else None


def account(tags: Mapping[int, bytes]) -> Account:
    """PAN, expiry and PSN from 5A/5F24/5F34, or from the track 2 equivalent (57, 9F6B) where those are absent."""
    track2 = tags.get(0x57) or tags.get(0x9F6B) or b""
    track_pan, _, track_rest = track2.hex().upper().rstrip("F").partition("D")
    pan = tags[0x5A].hex().upper().rstrip("F") if 0x5A in tags else track_pan
    if not pan.isdigit():
        raise CardDataError("the card gave no usable account number (5A or 57)")
    expiry = tags[0x5F24].hex()[:4] if 0x5F24 in tags else track_rest[:4]
    psn = tags[0x5F34].hex()[-2:] if 0x5F34 in tags else ""
    return Account(Secret(pan.encode("ascii")), Secret(track2), expiry, psn, masked_pan(pan))
