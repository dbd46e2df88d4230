"""The acquirer's sealing key: terminals seal offline advices' card data to it, only the host opens them.

The private key stays with the host (a PEM file made on first start); the public half
is what a terminal's `[payments] seal_key` names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class SealingError(ValueError):
    """A sealed blob that this host cannot open, or a key file it cannot use."""


class SealingKey:
    def __init__(self, private_key: rsa.RSAPrivateKey):
        self._key = private_key

    @classmethod
    def load_or_create(cls, path: Path) -> "SealingKey":
        """The key in `path`; a new 2048-bit key (and `path`.pub) when the file does not exist."""
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise SealingError(f"{path} is not an unencrypted PEM private key") from exc
            if not isinstance(key, rsa.RSAPrivateKey):
                raise SealingError(f"{path} holds no RSA key")
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        sealing = cls(key)
        Path(f"{path}.pub").write_bytes(sealing.public_pem())
        return sealing

    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def unseal(self, blob: bytes) -> dict[str, str]:
        try:
            plain = self._key.decrypt(blob, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                         label=None))
            card = json.loads(plain)
        except (ValueError, TypeError) as exc:
            raise SealingError("the sealed card data does not open with this host's key") from exc
        if not isinstance(card, dict) or not str(card.get("pan", "")).isdigit():
            raise SealingError("the sealed card data holds no card number")
        return {key: str(value) for key, value in card.items()}
