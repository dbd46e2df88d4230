"""Terminal action analysis (EMV Book 3 10.7): the TVR against the action codes decides AAC, ARQC or TC.

Terminal (TAC, from configuration) and issuer (IAC, from the card) action codes are
OR-ed per kind. Denial first: any TVR bit in it declines offline (AAC). Then, for a
terminal that can go online, the online codes: a match asks for an ARQC, no match is an
offline approval (TC). A terminal that cannot go online, or could not reach the issuer,
uses the default codes: a match declines, no match approves offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from appliance.emv.model import AidConfig
from appliance.emv.tvr import TVR_BITS, Bits

AAC, TC, ARQC = "AAC", "TC", "ARQC"
REFERENCE_CONTROL = {AAC: 0x00, TC: 0x40, ARQC: 0x80}  # GENERATE AC P1 (Book 3 6.5.5)
RANK = {AAC: 0, ARQC: 1, TC: 2}  # a card may answer a lower rank than asked, never a higher one

# Book 3 10.7: an absent IAC-Denial counts as all zeros, absent IAC-Online and IAC-Default as all ones.
ABSENT_DENIAL, ABSENT_ONLINE, ABSENT_DEFAULT = bytes(5), b"\xff" * 5, b"\xff" * 5


@dataclass(frozen=True)
class Decision:
    cryptogram: str  # AAC, TC or ARQC
    reason: str  # the TVR bits that decided, for traces and outcomes


def matched(tvr: Bits, *codes: bytes) -> list[str]:
    """Names of the TVR bits set in any of `codes`."""
    mask = bytes(a | b for a, b in zip(*codes)) if len(codes) > 1 else codes[0]
    return [name for (byte, bit), name in TVR_BITS.items()
            if tvr.is_set(byte, bit) and mask[byte - 1] & (1 << (bit - 1))]


def analyse(tvr: Bits, tags: Mapping[int, bytes], aid_config: AidConfig, *, online_capable: bool,
            force_online: bool = False) -> Decision:
    """The cryptogram to ask for in the first GENERATE AC."""
    denial = matched(tvr, aid_config.tac_denial, tags.get(0x9F0E, ABSENT_DENIAL))
    if denial:
        return Decision(AAC, ", ".join(denial))
    if not online_capable:
        return default_action(tvr, tags, aid_config)
    online = matched(tvr, aid_config.tac_online, tags.get(0x9F0F, ABSENT_ONLINE))
    if online or force_online:
        return Decision(ARQC, ", ".join(online) or "merchant forced online")
    return Decision(TC, "no action code matched")


def default_action(tvr: Bits, tags: Mapping[int, bytes], aid_config: AidConfig) -> Decision:
    """Book 3 10.7: offline only, or online failed: TAC/IAC-Default decide AAC or TC."""
    default = matched(tvr, aid_config.tac_default, tags.get(0x9F0D, ABSENT_DEFAULT))
    if default:
        return Decision(AAC, ", ".join(default))
    return Decision(TC, "no default action code matched")
