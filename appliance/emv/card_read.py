"""Reading who a card is, without a payment: for refunds to the card that paid.

A refund does not ask the card for a cryptogram here: the terminal selects the
application, runs GET PROCESSING OPTIONS with transaction type 20 (refund) and reads
the records, which gives the PAN (to match the original payment's token), the PAN
sequence number and the expiry date. The acquirer authorises the refund online.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appliance.emv import records
from appliance.emv.apdu import CardError, Channel
from appliance.emv.contact import terminal_values, unpredictable_number
from appliance.emv.model import Cardholder, TerminalConfig, Transaction
from appliance.emv.selection import select_application
from appliance.native.secret import Secret

REFUND = 0x20  # 9C transaction type


@dataclass(frozen=True)
class CardRead:
    """The card's account data for a refund; the PAN and track data only inside Secret."""

    pan: Secret
    track2: Secret  # the card's 57 value as read (binary), like the kernels' OnlineRequest.track2
    psn: str
    expiry: str  # YYMM
    masked_pan: str
    label: str


def read_card(channel: Channel, config: TerminalConfig, *, contactless: bool, cardholder: Cardholder,
              amount: int = 0, now: datetime | None = None) -> CardRead:
    """Select, GPO as a refund and read the records (if the card names any): the account data, no cryptogram."""
    now = now or datetime.now()
    selected = select_application(channel, config, cardholder, contactless=contactless)
    txn = Transaction(amount=amount, type=REFUND)
    values = terminal_values(config, selected.aid_config, txn, now, unpredictable_number(txn, None))
    processing = records.gpo(channel, selected.pdol, values)
    found = dict(processing.data)
    if processing.afl:
        found.update(records.read_afl(channel, processing.afl).tags)
    try:
        account = records.account(found)
    except records.CardDataError:
        raise CardError("the card gave no account number: try again or refund another way",
                        code="icc_data_missing") from None
    return CardRead(account.pan, account.track2, account.psn, account.expiry, account.masked_pan, selected.label)
