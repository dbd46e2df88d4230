"""The reference acquirer's decisions: a table of test cards, an amount ceiling and the online PIN check.

Scheme test hosts decide by PAN the same way; the PANs here are the suite's own test cards
(tests/emv/keys.py), Luhn-valid and not real. A PAN not in the table is approved up to the
ceiling, so a new emulated card works without touching the host. Decisions are taken in
this order, the first that applies wins:

1. the card's ARQC is wrong (checked by the caller, acquirer/issuer.py)   -> 05
2. the card's rule in `CARD_RULES` (decline, referral, expired)            -> its code
3. an online PIN block (field 52) that does not hold the card's PIN         -> 55
4. the amount (field 4) is above `DECLINE_ABOVE`                            -> 51
5. otherwise                                                                -> 00
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from psec import des, pinblock

DECLINE_ABOVE = 500_000  # minor units; above it the issuer answers "51 insufficient funds"
TEST_PIN = "1234"  # the online PIN of every test card


@dataclass(frozen=True)
class CardRule:
    response_code: str
    why: str


CARD_RULES: dict[str, CardRule] = {
    "4761739001010119": CardRule("00", "test card APPROVE"),
    "4761739001010127": CardRule("05", "test card DECLINE: do not honour"),
    "4761739001010135": CardRule("01", "test card REFERRAL: refer to card issuer"),
    "5413330089010418": CardRule("00", "test card MASTERCARD"),
    "4761739001010143": CardRule("54", "test card EXPIRED"),
    "4761739001010150": CardRule("00", "test card PIN_BLOCKED (the card refuses offline PIN; online is fine)"),
}


@dataclass(frozen=True)
class Decision:
    response_code: str
    reason: str  # for the simulator's log; never card data


def pan_of(fields: Mapping[str, Any]) -> str:
    """The PAN from field 2, or from track 2 (35) up to its separator when 2 is absent."""
    if "2" in fields:
        return fields["2"]
    return fields.get("35", "").split("D", 1)[0]


def pin_matches(pin_block: bytes, pan: str, pin_key: bytes, expected: str = TEST_PIN) -> bool:
    """ISO 9564-1 format 0 block, TDES-encrypted under a double-length PIN key, holds `expected`.

    A block that does not decrypt to a valid format 0 block counts as a wrong PIN: the
    host cannot tell a mistyped PIN from a block built with another key.
    """
    try:
        return pinblock.decode_pinblock_iso_0(des.decrypt_tdes_ecb(pin_key, pin_block), pan) == expected
    except ValueError:  # psec's messages can hold PIN digits: never pass them on
        return False


def decide(fields: Mapping[str, Any], pin_key: bytes | None) -> Decision:
    """Steps 2 to 5 of the module's order for a 0100/0200 request."""
    pan = pan_of(fields)
    rule = CARD_RULES.get(pan)
    if rule is not None and rule.response_code != "00":
        return Decision(rule.response_code, rule.why)
    if "52" in fields:
        if pin_key is None:
            return Decision("96", "online PIN received but the host has no PIN key (--keys)")
        if not pin_matches(fields["52"], pan, pin_key):
            return Decision("55", "online PIN does not match")
    amount = int(fields.get("4", "0"))
    if amount > DECLINE_ABOVE:
        return Decision("51", f"amount {amount} above {DECLINE_ABOVE}")
    return Decision("00", rule.why if rule else "card not in the rule table: approved")
