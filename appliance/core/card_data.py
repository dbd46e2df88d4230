"""What the till may keep of a card: the masked PAN and a keyed token, never the PAN itself.

The token is HMAC-SHA256 of the PAN under a device key (32 random bytes made on first
use, readable by the appliance's user only), so a refund can be matched to the card that
paid without the PAN ever reaching the disk; the key never leaves the terminal, so a
stolen database cannot be turned back into card numbers by hashing every possible PAN.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from appliance.native.secret import Secret


def device_key(folder: Path, name: str = "card_token.key") -> bytes:
    """The device's token key, created with owner-only permissions the first time."""
    path = folder / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        return key


def card_token(key: bytes, pan: Secret) -> str:
    return hmac.new(key, pan.reveal(), hashlib.sha256).hexdigest()[:32]
