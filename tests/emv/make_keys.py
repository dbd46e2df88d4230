"""Make the test RSA keys for offline data authentication (run once; the PEMs are committed).

    .venv/bin/python -m tests.emv.make_keys

Sizes are chosen so every certificate needs a remainder (92, 9F48) and so each key fits
inside the one that certifies it (EMV Book 2 5.1: NI <= NCA, NIC <= NI): CA 1408 bits
and issuer 1152 bits with exponent 3, ICC 1024 bits with exponent 65537. Running it again
makes new keys: every card personalised from them changes, nothing else does.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emv"
KEYS = {"ca": (1408, 3), "issuer": (1152, 3), "icc": (1024, 65537)}


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, (bits, exponent) in KEYS.items():
        key = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        (FIXTURES / f"{name}.pem").write_bytes(pem)
        print(f"{FIXTURES / name}.pem: {bits} bits, exponent {exponent}")


if __name__ == "__main__":
    main()
