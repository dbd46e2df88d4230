"""Application selection (EMV Book 1 section 12; contactless: EMV Book B Entry Point 3.3).

Contact: the Payment System Environment "1PAY.SYS.DDF01" lists the card's applications
in the directory records of its SFI (Book 1 12.3.2); a card without a PSE (6A82), or
whose PSE is blocked or lists nothing we accept, is searched with the terminal's own AID
list (Book 1 12.3.3: SELECT each AID, and with partial selection SELECT "next occurrence"
until the card has no more). The candidates are ordered by priority (Book 1 12.4), the
cardholder picks or confirms, and the chosen AID gets its FINAL SELECT; an application
whose final SELECT fails leaves the list and the choice is offered again.

Contactless: the Proximity PSE "2PAY.SYS.DDF01" carries the candidates in its FCI
(BF0C / 61); Entry Point takes the highest priority without asking anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emv import apdu, tlv
from appliance.emv.apdu import CardError, Channel
from appliance.emv.model import AidConfig, Candidate, Cardholder, TerminalConfig
from appliance.emv.tlv import Node

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"

OK, BLOCKED, NOT_FOUND, CARD_BLOCKED = 0x9000, 0x6283, 0x6A82, 0x6A81
RECORD_NOT_FOUND = 0x6A83


class NoApplication(CardError):
    """The card and the terminal share no usable application."""

    def __init__(self, message: str, *, code: str = "no_application"):
        super().__init__(message, code=code)


class SelectionCancelled(CardError):
    """The cardholder cancelled the application choice."""

    def __init__(self) -> None:
        super().__init__("the cardholder cancelled the application choice", code="cancelled")


@dataclass(frozen=True)
class Selected:
    aid: bytes
    label: str
    aid_config: AidConfig
    fci: list[Node]
    pdol: bytes  # b"" when the FCI has no 9F38


@dataclass(frozen=True)
class _Found:
    candidate: Candidate
    aid_config: AidConfig


def match(aid: bytes, aids: tuple[AidConfig, ...]) -> AidConfig | None:
    """The terminal AID the card's AID matches: exactly, or as a prefix when partial selection is allowed (Book 1 12.3.1)."""
    best = None
    for config in aids:
        if aid == config.aid or (config.partial_match and aid.startswith(config.aid)):
            if best is None or len(config.aid) > len(best.aid):
                best = config
    return best


def _value(nodes: list[Node], tag: int) -> bytes | None:
    node = tlv.find(nodes, tag)
    return node.value if node is not None else None


def _text(value: bytes | None) -> str:
    return value.decode("ascii", "replace").strip() if value else ""


def _candidate(aid: bytes, template: list[Node], aid_config: AidConfig) -> Candidate:
    indicator = _value(template, 0x87) or b"\x00"
    label = _text(_value(template, 0x50)) or aid_config.label
    return Candidate(aid=aid, label=label, priority=indicator[0] & 0x0F,
                     needs_confirmation=bool(indicator[0] & 0x80))


def _by_priority(found: list[_Found]) -> list[_Found]:
    """Priority 1 first, 15 last, none (0) after all of them; ties keep the card's order (Book 1 12.4)."""
    return sorted(found, key=lambda f: f.candidate.priority or 16)


def _directory_entries(directory: Node, config: TerminalConfig) -> list[_Found]:
    """The application templates (61) in a PSE record (70) or the PPSE's BF0C whose AID the terminal accepts."""
    found = []
    for entry in (child for child in directory.children if child.tag == 0x61):
        aid = _value(list(entry.children), 0x4F)
        aid_config = match(aid, config.aids) if aid else None
        if aid and aid_config:
            found.append(_Found(_candidate(aid, list(entry.children), aid_config), aid_config))
    return found


def _pse_candidates(channel: Channel, config: TerminalConfig) -> list[_Found] | None:
    """The candidates the PSE directory lists, or None when the card has no usable PSE."""
    data, sw = channel.exchange(apdu.select(PSE), allowed=frozenset({OK, BLOCKED, NOT_FOUND, CARD_BLOCKED}))
    if sw == CARD_BLOCKED:
        raise NoApplication("the card is blocked (it refused SELECT with 6A81)", code="card_blocked")
    if sw != OK:
        return None
    sfi = _value(tlv.decode(data), 0x88)
    if not sfi or not 1 <= sfi[0] <= 30:
        return None
    found: list[_Found] = []
    for record in range(1, 256):
        data, sw = channel.exchange(apdu.read_record(sfi[0], record), allowed=frozenset({OK, RECORD_NOT_FOUND}))
        if sw == RECORD_NOT_FOUND:
            break
        for node in tlv.decode(data):
            found += _directory_entries(node, config)
    return found


def _list_candidates(channel: Channel, config: TerminalConfig) -> list[_Found]:
    """SELECT each terminal AID in turn, with "next occurrence" for partial matches (Book 1 12.3.3)."""
    found: list[_Found] = []
    for aid_config in config.aids:
        next_occurrence = False
        while True:
            data, sw = channel.exchange(apdu.select(aid_config.aid, next_occurrence=next_occurrence),
                                        allowed=frozenset({OK, BLOCKED, NOT_FOUND}))
            if sw == NOT_FOUND:
                break
            fci = tlv.decode(data)
            name = _value(fci, 0x84) or b""
            if sw == OK and match(name, (aid_config,)) is not None:
                found.append(_Found(_candidate(name, fci, aid_config), aid_config))
            # 6283 is an application the card has blocked: skipped, but a later occurrence may work
            if not (aid_config.partial_match and name.startswith(aid_config.aid) and name != aid_config.aid):
                break
            next_occurrence = True
    return found


def _ppse_candidates(channel: Channel, config: TerminalConfig) -> list[_Found]:
    """The candidates in the PPSE's FCI (Book B 3.3.2); a card without one is refused with "insert"."""
    data, sw = channel.exchange(apdu.select(PPSE), allowed=frozenset({OK, NOT_FOUND, CARD_BLOCKED}))
    if sw != OK:
        raise NoApplication("the card has no contactless payment directory (PPSE): insert the card instead")
    directory = tlv.find(tlv.decode(data), 0xBF0C)
    return _directory_entries(directory, config) if directory is not None else []


def _final_select(channel: Channel, chosen: _Found) -> Selected | None:
    """SELECT the chosen AID; None when the card refuses it or answers with another application."""
    data, sw = channel.exchange(apdu.select(chosen.candidate.aid), allowed=frozenset({OK, BLOCKED, NOT_FOUND}))
    if sw != OK:
        return None
    fci = tlv.decode(data)
    if (_value(fci, 0x84) or b"") != chosen.candidate.aid:
        return None
    label = _text(_value(fci, 0x50)) or chosen.candidate.label
    return Selected(aid=chosen.candidate.aid, label=label, aid_config=chosen.aid_config, fci=fci,
                    pdol=_value(fci, 0x9F38) or b"")


def select_application(channel: Channel, config: TerminalConfig, cardholder: Cardholder, *,
                       contactless: bool = False, exclude: frozenset[bytes] = frozenset()) -> Selected:
    """Build the candidate list, choose, FINAL SELECT; `exclude` drops AIDs a previous attempt refused (Book 3 10.1)."""
    if contactless:
        candidates = _ppse_candidates(channel, config)
    else:
        listed = _pse_candidates(channel, config)
        candidates = listed if listed else _list_candidates(channel, config)
    candidates = _by_priority([f for f in candidates if f.candidate.aid not in exclude])
    while candidates:
        if contactless:
            chosen = candidates[0]
        elif len(candidates) > 1 or candidates[0].candidate.needs_confirmation:
            picked = cardholder.choose([f.candidate for f in candidates])
            if picked is None:
                raise SelectionCancelled()
            chosen = next(f for f in candidates if f.candidate == picked)
        else:
            chosen = candidates[0]
        selected = _final_select(channel, chosen)
        if selected is not None:
            return selected
        candidates.remove(chosen)  # Book 1 12.4: drop it and choose again
    raise NoApplication("the card has no application this terminal accepts")
