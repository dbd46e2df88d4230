"""Reading who a card is, without a payment: for refunds to the card that paid.

A refund does not ask the card for a cryptogram here: the terminal selects the
application, runs GET PROCESSING OPTIONS with transaction type 20 (refund) and reads
the records, which gives the PAN (to match the original payment's token), the PAN
sequence number and the expiry date. The acquirer authorises the refund online.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from appliance.emv import records
from appliance.emv.apdu import CardError, Channel
from appliance.emv.contact import terminal_values
from appliance.emv.model import Cardholder, TerminalConfig, Transaction
from appliance.emv.selection import select_application
from appliance.emv.trace import masked_pan
from appliance.native.secret import Secret

REFUND = 0x20  # 9C transaction type


@dataclass(frozen=True)
class CardRead:
    pan: Secret
    track2: Secret  # the card's 57 value as read (binary), like the kernels' OnlineRequest.track2
    psn: str
    expiry: str  # YYMM
    masked_pan: str
    label: str


def read_card(channel: Channel, config: TerminalConfig, *, contactless: bool, cardholder: Cardholder,
              amount: int = 0, now: datetime | None = None) -> CardRead:
    now = now or datetime.now()
    selected = select_application(channel, config, cardholder, contactless=contactless)
    values = terminal_values(config, selected.aid_config, Transaction(amount=amount, type=REFUND), now,
                             secrets.token_bytes(4))
    processing = records.gpo(channel, selected.pdol, values)
    found = dict(processing.data)
    if processing.afl:
        found.update(records.read_afl(channel, processing.afl).tags)
    track2 = found.get(0x57) or found.get(0x9F6B) or b""
    pan_digits = found[0x5A].hex().upper().rstrip("F") if 0x5A in found else track2.hex().upper().split("D")[0]
    if not pan_digits or not pan_digits.isdigit():
        raise CardError("the card gave no account number: try again or refund another way", code="icc_data_missing")
    expiry = found[0x5F24].hex()[:4] if 0x5F24 in found else track2.hex().upper().split("D")[1][:4] if track2 else ""
    psn = found[0x5F34].hex() if 0x5F34 in found else ""
    return CardRead(Secret(pan_digits.encode()), Secret(track2), psn, expiry,
                    masked_pan(pan_digits), selected.label)
