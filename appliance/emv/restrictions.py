"""Processing restrictions (EMV Book 3 10.4): versions, usage control, effective and expiry dates.

None of these stop the transaction by themselves: each sets a TVR bit, and terminal
action analysis decides with the action codes whether that means decline or online.
"""

from __future__ import annotations

from typing import Mapping

from appliance.emv.model import AidConfig, TerminalConfig, Transaction
from appliance.emv.tvr import Bits

# Transaction types (9C, ISO 8583 processing code): what the usage control checks.
GOODS_AND_SERVICES, CASH, CASHBACK = 0x00, 0x01, 0x09
ATM_TYPES = (0x14, 0x15, 0x16)  # Book 4 Annex A1: unattended, financial institution, with cash


def _full_date(yymmdd: str) -> str:
    """YYMMDD as YYYYMMDD with the Book 3 6.7.3 window: YY below 50 is 20YY, else 19YY."""
    year = int(yymmdd[:2])
    return f"{2000 + year if year < 50 else 1900 + year}{yymmdd[2:]}"


def usage_allowed(auc: bytes, *, domestic: bool, atm: bool, txn_type: int) -> bool:
    """Application Usage Control against this terminal and transaction (Book 3 10.4.2, Annex C2)."""
    first, second = auc[0], auc[1] if len(auc) > 1 else 0
    if not first & (0x02 if atm else 0x01):  # valid at ATMs / at terminals other than ATMs
        return False
    if txn_type == CASH:
        return bool(first & (0x80 if domestic else 0x40))
    # The terminal cannot tell goods from services: either kind being allowed is enough.
    goods_or_services = bool(first & (0x20 | 0x08 if domestic else 0x10 | 0x04))
    if txn_type == CASHBACK:
        return goods_or_services and bool(second & (0x80 if domestic else 0x40))
    if txn_type == GOODS_AND_SERVICES:
        return goods_or_services
    return True  # refunds and other types are not restricted by the AUC


def check(tags: Mapping[int, bytes], txn_date: str, txn: Transaction, config: TerminalConfig,
          aid_config: AidConfig, tvr: Bits) -> list[str]:
    """Set the TVR bits of Book 3 10.4; returns what was found, for the trace."""
    found = []
    card_version = tags.get(0x9F08)
    if card_version is not None and card_version != aid_config.version:
        tvr.set(2, 8)
        found.append(f"application version {card_version.hex().upper()} (terminal {aid_config.version.hex().upper()})")
    auc = tags.get(0x9F07)
    if auc:
        issuer_country = tags.get(0x5F28)
        domestic = issuer_country is not None and issuer_country == config.country
        atm = config.terminal_type in ATM_TYPES
        if not usage_allowed(auc, domestic=domestic, atm=atm, txn_type=txn.type):
            tvr.set(2, 5)
            found.append(f"usage control {auc.hex().upper()} forbids this {'domestic' if domestic else 'international'} "
                         f"transaction type {txn.type:02X}")
    today = _full_date(txn_date)
    effective = tags.get(0x5F25)
    if effective is not None and _full_date(effective.hex()) > today:
        tvr.set(2, 6)
        found.append(f"application effective from {effective.hex()}")
    expiry = tags.get(0x5F24)
    if expiry is not None and _full_date(expiry.hex()) < today:
        tvr.set(2, 7)
        found.append(f"application expired on {expiry.hex()}")
    return found
