"""Terminal risk management (EMV Book 3 10.6): exception file, floor limit, random selection, velocity.

Each check only sets TVR bits; terminal action analysis turns them into a decision.
The exception file holds keys of PANs, never PANs: the caller chooses the keying
(`pan_key`), the default is SHA-256 of the PAN digits.
"""

from __future__ import annotations

import hashlib
import random
from typing import Callable, Mapping

from appliance.emv import records
from appliance.emv.apdu import Channel
from appliance.emv.model import AidConfig, TerminalConfig, Transaction
from appliance.emv.tvr import Bits

PanKey = Callable[[str], str]


def sha256_key(pan_digits: str) -> str:
    """The default exception-file key of a PAN: hex SHA-256 of its digits."""
    return hashlib.sha256(pan_digits.encode("ascii")).hexdigest()


def selected_randomly(amount: int, aid_config: AidConfig, rng: random.Random) -> bool:
    """Book 3 10.6.2: below the threshold a fixed target percentage, up to the floor limit a rising one."""
    floor, threshold = aid_config.floor_limit, aid_config.random_threshold
    if amount >= floor:
        return False
    draw = rng.randint(1, 99)
    if amount < threshold or floor <= threshold:
        return draw <= aid_config.random_target
    # target + (max - target) * (amount - threshold) / (floor - threshold), kept in integers
    span = floor - threshold
    scaled_target = aid_config.random_target * span + (aid_config.random_max_target - aid_config.random_target) * (
        amount - threshold)
    return draw * span <= scaled_target


def _counter(channel: Channel, tag: int) -> int | None:
    """GET DATA of a 2-byte counter (ATC 9F36, last online ATC 9F13); None when the card does not give it."""
    value = records.get_data(channel, tag)
    return int.from_bytes(value, "big") if value is not None else None


def velocity(channel: Channel, tags: Mapping[int, bytes], tvr: Bits) -> list[str]:
    """Book 3 10.6.3: consecutive offline transactions since the last online one, against 9F14 / 9F23."""
    if 0x9F14 not in tags or 0x9F23 not in tags:
        return []
    atc, last_online = _counter(channel, 0x9F36), _counter(channel, 0x9F13)
    if atc is None or last_online is None or atc <= last_online:
        tvr.set(4, 7)
        tvr.set(4, 6)
        return ["ATC or last online ATC unavailable: both offline limits counted as exceeded"]
    notes = []
    if last_online == 0:
        tvr.set(2, 4)
        notes.append("new card")
    offline = atc - last_online
    if offline > tags[0x9F14][0]:
        tvr.set(4, 7)
        notes.append(f"{offline} transactions since the last online one (lower limit {tags[0x9F14][0]})")
    if offline > tags[0x9F23][0]:
        tvr.set(4, 6)
        notes.append(f"{offline} transactions since the last online one (upper limit {tags[0x9F23][0]})")
    return notes


def manage(channel: Channel, tags: Mapping[int, bytes], pan_digits: str, txn: Transaction, config: TerminalConfig,
           aid_config: AidConfig, tvr: Bits, tsi: Bits, *, rng: random.Random,
           pan_key: PanKey = sha256_key) -> list[str]:
    """All of Book 3 10.6; returns notes for the trace."""
    notes = []
    if config.exception_file and pan_key(pan_digits) in config.exception_file:
        tvr.set(1, 5)
        notes.append("card on the exception file")
    if txn.force_online:
        tvr.set(4, 4)
        notes.append("merchant forced online")
    if txn.amount >= aid_config.floor_limit:
        tvr.set(4, 8)
        notes.append(f"amount {txn.amount} at or above floor limit {aid_config.floor_limit}")
    elif selected_randomly(txn.amount, aid_config, rng):
        tvr.set(4, 5)
        notes.append("selected at random for online processing")
    notes += velocity(channel, tags, tvr)
    tsi.set(1, 4)
    return notes
