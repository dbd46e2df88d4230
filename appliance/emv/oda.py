"""Offline data authentication: SDA and DDA (EMV Book 2 sections 5 and 6).

The terminal holds the payment system's CA public keys; the card carries its issuer's
public key certified by the CA (90/92/9F32), and either static data signed by the issuer
(SDA, 93) or its own public key certified by the issuer (9F46/9F48/9F47), with which it
signs a terminal challenge (DDA, INTERNAL AUTHENTICATE). Recovery is textbook RSA (Book 2
A2.1: the "signature" is raised to the public exponent), and each recovered block is
checked field by field; any failure is an OdaError naming the reason. CDA is not done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Mapping

from appliance.emv import apdu, dol, tlv
from appliance.emv.apdu import CardError, Channel
from appliance.emv.model import CaKey, TerminalConfig

DEFAULT_DDOL = bytes.fromhex("9F3704")  # Book 3 10.3: the terminal's default DDOL asks for the unpredictable number
SHA1 = 0x01
RSA = 0x01


class OdaError(CardError):
    """Offline data authentication failed; `missing` when it failed for want of card data (TVR "ICC data missing")."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message, code="icc_data_missing" if missing else "oda_failed")
        self.missing = missing


def _need(tags: Mapping[int, bytes], tag: int, what: str) -> bytes:
    if tag not in tags:
        raise OdaError(f"the card has no {what} ({tag:X})", missing=True)
    return tags[tag]


def recover(signature: bytes, modulus: bytes, exponent: int, what: str) -> bytes:
    """Raw RSA public operation, with the framing every EMV signature has (header 6A, trailer BC)."""
    if len(signature) != len(modulus):
        raise OdaError(f"the {what} is {len(signature)} bytes, the key that signs it {len(modulus)}")
    value = int.from_bytes(signature, "big")
    n = int.from_bytes(modulus, "big")
    if value >= n:
        raise OdaError(f"the {what} is not a valid signature for this key")
    block = pow(value, exponent, n).to_bytes(len(modulus), "big")
    if block[0] != 0x6A or block[-1] != 0xBC:
        raise OdaError(f"the {what} does not recover to header 6A and trailer BC (wrong key or corrupted)")
    return block


def _check_hash(block: bytes, extra: bytes, what: str) -> None:
    """The SHA-1 (Book 2 B3.1) over the recovered fields after the header, before the hash, then `extra`."""
    body, digest = block[1:-21], block[-21:-1]
    if hashlib.sha1(body + extra).digest() != digest:
        raise OdaError(f"the {what} hash does not match the card data (data altered or wrong certificate)")


def _not_expired(mmyy: bytes, today: date, what: str) -> None:
    """A certificate is valid to the end of its month (Book 2 5.3 step 7)."""
    text = mmyy.hex()
    month, year = int(text[:2]), 2000 + int(text[2:])
    if not 1 <= month <= 12:
        raise OdaError(f"the {what} has an invalid expiry date {text}")
    if (year, month) < (today.year, today.month):
        raise OdaError(f"the {what} expired at the end of {text[:2]}/{text[2:]}")


def _pan_digits(tags: Mapping[int, bytes]) -> str:
    return _need(tags, 0x5A, "PAN").hex().upper().rstrip("F")


def ca_key(config: TerminalConfig, aid: bytes, tags: Mapping[int, bytes], today: date) -> CaKey:
    """The CA key named by RID (the AID's first 5 bytes) and the card's index 8F."""
    index = _need(tags, 0x8F, "CA public key index")
    for key in config.ca_keys:
        if key.rid == aid[:5] and key.index == index[0]:
            if key.expiry and key.expiry < today.strftime("%y%m%d"):
                raise OdaError(f"the terminal's CA key {index.hex().upper()} for {aid[:5].hex().upper()} has expired")
            return key
    raise OdaError(f"the terminal has no CA key {index.hex().upper()} for RID {aid[:5].hex().upper()}")


@dataclass(frozen=True)
class _Certificate:
    """Where a public key certificate and its parts are (Book 2 Table 6 issuer, Table 14 ICC)."""

    name: str  # "issuer" or "ICC", for messages
    certificate: int
    exponent: int
    remainder: int
    format: int
    subject_length: int  # issuer identifier (4 bytes) or application PAN (10)
    prefix: bool  # the subject is the PAN's leftmost digits (issuer identifier), not the whole PAN
    mismatch: str  # the message when the subject is not this card's PAN


ISSUER_CERTIFICATE = _Certificate("issuer", 0x90, 0x9F32, 0x92, 0x02, 4, True,
                                  "the issuer certificate is for another issuer than this card's PAN")
ICC_CERTIFICATE = _Certificate("ICC", 0x9F46, 0x9F47, 0x9F48, 0x04, 10, False,
                               "the ICC certificate is for another card (PAN differs)")


def _certified_key(layout: _Certificate, signer: tuple[bytes, int], tags: Mapping[int, bytes], today: date,
                   hashed_extra: bytes = b"") -> tuple[bytes, int]:
    """The public key (modulus, exponent) a certificate carries, every field checked (Book 2 5.3 and 6.4)."""
    what = f"{layout.name} public key"
    certificate = _need(tags, layout.certificate, f"{what} certificate")
    exponent = _need(tags, layout.exponent, f"{what} exponent")
    block = recover(certificate, signer[0], signer[1], f"{what} certificate")
    if block[1] != layout.format:
        raise OdaError(f"the {layout.name} certificate has format {block[1]:02X}, not {layout.format:02X}")
    at = 2 + layout.subject_length  # header and format, then the subject; expiry (2) and serial (3) follow
    subject, expiry = block[2:at].hex().upper().rstrip("F"), block[at:at + 2]
    hash_algorithm, key_algorithm, key_length, exponent_length = block[at + 5:at + 9]
    if hash_algorithm != SHA1 or key_algorithm != RSA:
        raise OdaError(f"the {layout.name} certificate names an unknown hash or key algorithm")
    digits = block[at + 9:-21]
    remainder = tags.get(layout.remainder, b"")
    if key_length > len(digits) and len(remainder) != key_length - len(digits):
        raise OdaError(f"the {what} remainder ({layout.remainder:X}) is missing or the wrong length",
                       missing=not remainder)
    _check_hash(block, remainder + exponent + hashed_extra, f"{layout.name} certificate")
    pan = _pan_digits(tags)
    if not (pan.startswith(subject) if layout.prefix else pan == subject):
        raise OdaError(layout.mismatch)
    _not_expired(expiry, today, f"{layout.name} certificate")
    if exponent_length != len(exponent):
        raise OdaError(f"the {what} exponent does not match its certificate")
    return (digits + remainder)[:key_length], int.from_bytes(exponent, "big")


def recover_issuer_key(ca: CaKey, tags: Mapping[int, bytes], *, today: date | None = None) -> tuple[bytes, int]:
    """The issuer public key (modulus, exponent) from its certificate (Book 2 5.3, Table 6)."""
    return _certified_key(ISSUER_CERTIFICATE, (ca.modulus, ca.exponent), tags, today or date.today())


def static_input(tags: Mapping[int, bytes], static_data: bytes, aip: bytes) -> bytes:
    """The records signed for ODA plus the SDA tag list's values; 9F4A may only name the AIP (Book 3 10.3)."""
    tag_list = tags.get(0x9F4A)
    if tag_list is None:
        return static_data
    if tag_list != b"\x82":
        raise OdaError(f"the static data tag list (9F4A) names {tag_list.hex().upper()}; only 82 is allowed")
    return static_data + aip


def verify_sda(config: TerminalConfig, aid: bytes, tags: Mapping[int, bytes], static_data: bytes, aip: bytes,
               *, today: date | None = None) -> None:
    """Static data authentication (Book 2 5.4, Table 7); returns quietly when the signed data is the card's."""
    today = today or date.today()
    modulus, exponent = recover_issuer_key(ca_key(config, aid, tags, today), tags, today=today)
    signed = _need(tags, 0x93, "signed static application data")
    block = recover(signed, modulus, exponent, "signed static application data")
    if block[1] != 0x03 or block[2] != SHA1:
        raise OdaError(f"the signed static data has format {block[1]:02X}, not 03, or an unknown hash")
    _check_hash(block, static_input(tags, static_data, aip), "signed static data")


def recover_icc_key(issuer_key: tuple[bytes, int], tags: Mapping[int, bytes], static_data: bytes, aip: bytes,
                    *, today: date | None = None) -> tuple[bytes, int]:
    """The ICC public key (modulus, exponent) from its certificate (Book 2 6.4, Table 14), which signs the static data too."""
    return _certified_key(ICC_CERTIFICATE, issuer_key, tags, today or date.today(),
                          static_input(tags, static_data, aip))


def verify_dda(channel: Channel, config: TerminalConfig, aid: bytes, tags: Mapping[int, bytes], static_data: bytes,
               aip: bytes, terminal_values: Mapping[int, bytes], *, today: date | None = None) -> None:
    """Dynamic data authentication (Book 2 6.5, Table 17): the card signs the terminal's DDOL data."""
    today = today or date.today()
    issuer_key = recover_issuer_key(ca_key(config, aid, tags, today), tags, today=today)
    modulus, exponent = recover_icc_key(issuer_key, tags, static_data, aip, today=today)
    ddol_data = dol.build(tags.get(0x9F49, DEFAULT_DDOL), terminal_values)
    data, _ = channel.exchange(apdu.internal_authenticate(ddol_data))
    nodes = tlv.decode(data)
    if len(nodes) == 1 and nodes[0].tag == 0x80:
        signed = nodes[0].value
    elif (found := tlv.find(nodes, 0x9F4B)) is not None:
        signed = found.value
    else:
        raise OdaError("the INTERNAL AUTHENTICATE answer has no signed dynamic data", missing=True)
    block = recover(signed, modulus, exponent, "signed dynamic application data")
    if block[1] != 0x05 or block[2] != SHA1:
        raise OdaError(f"the signed dynamic data has format {block[1]:02X}, not 05, or an unknown hash")
    _check_hash(block, ddol_data, "signed dynamic data")
