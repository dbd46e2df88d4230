"""What the till may keep of a card: the masked PAN and a keyed token, never the PAN itself.

The token is HMAC-SHA256 of the PAN under a device key (32 random bytes made on first
use, readable by the appliance's user only), so a refund can be matched to the card that
paid without the PAN ever reaching the disk; the key never leaves the terminal, so a
stolen database cannot be turned back into card numbers by hashing every possible PAN.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

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


class SealError(ValueError):
    """The acquirer's sealing key is missing or unusable; offline approvals are not possible."""


def load_seal_key(public_key_pem: bytes) -> Any:
    """The acquirer's RSA public key, checked once when the till starts (SealError names what is wrong)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except ValueError as exc:
        raise SealError("the acquirer's card sealing key is not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise SealError("the acquirer's card sealing key must be an RSA key of 2048 bits or more")
    return key


def seal(key: Any, card: dict[str, str]) -> bytes:
    """The card data an offline advice needs, readable only with the acquirer's private key.

    Store-and-forward must keep the card number until the host has the advice; sealing
    it with RSA-OAEP (SHA-256) to the acquirer's public key means a copy of the database,
    or the till itself, cannot turn it back into a card number.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    plain = json.dumps(card, sort_keys=True, separators=(",", ":")).encode()
    return key.encrypt(plain, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
