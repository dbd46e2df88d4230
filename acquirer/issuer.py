"""The issuer's cryptography: check the card's ARQC from field 55 and answer with an ARPC (tag 91).

EMV Book 2 8.1 (application cryptogram) and 8.2 (issuer authentication), with the key
derivation and MAC of each cryptogram version from pyemv. Two versions are understood,
chosen by the application's RID (84, 4F or 9F06) and confirmed by the Issuer Application
Data (9F10):

- Visa CVN 10: IAD = 06 | DKI | 0A | CVR (4 bytes, starting with its own length 03) ...
- Mastercard CVN 16 (M/Chip): IAD = DKI | 10 | CVR (6 bytes) | DAC/IDN (2 bytes) ...

Both answer with ARPC method 1 (Book 2 8.2.1): tag 91 = ARPC (8 bytes) || ARC, where the
ARC is the 2 ASCII characters of the response code.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from pyemv import cvn

from appliance.emv import tlv

VISA_RID, MASTERCARD_RID = bytes.fromhex("A000000003"), bytes.fromhex("A000000004")
# Book 2 8.1.1: the minimum data the ARQC covers, in the order pyemv's generate_ac takes it.
AC_TAGS = {
    "tag_9f02": 0x9F02, "tag_9f03": 0x9F03, "tag_9f1a": 0x9F1A, "tag_95": 0x95, "tag_5f2a": 0x5F2A,
    "tag_9a": 0x9A, "tag_9c": 0x9C, "tag_9f37": 0x9F37, "tag_82": 0x82, "tag_9f36": 0x9F36,
}  # fmt: skip


class KeyFileError(ValueError):
    """The issuer key file is missing a key or holds one that is not hex of the right length."""


class CryptogramError(ValueError):
    """The ARQC cannot be checked (data missing, unknown version) or is wrong."""


@dataclass(frozen=True)
class IssuerKeys:
    """Issuer master keys (double-length DES, as pyemv takes them) and the acquirer's PIN key."""

    imk_ac: bytes
    imk_smi: bytes
    imk_smc: bytes
    pin_key: bytes | None = None  # double-length TDES key of ISO 9564 format 0 PIN blocks

    @classmethod
    def load(cls, path: Path) -> "IssuerKeys":
        """Read `{"imk_ac": HEX, "imk_smi": HEX, "imk_smc": HEX, "pin_key": HEX}` (pin_key optional)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise KeyFileError(f"{path}: expected a JSON object of hex keys")
        unknown = set(data) - {"imk_ac", "imk_smi", "imk_smc", "pin_key"}
        if unknown:
            raise KeyFileError(f"{path}: unknown key(s) {sorted(unknown)}")
        keys = {}
        for name in ("imk_ac", "imk_smi", "imk_smc", "pin_key"):
            if name not in data:
                if name == "pin_key":
                    continue
                raise KeyFileError(f"{path}: {name} is missing")
            try:
                keys[name] = bytes.fromhex(str(data[name]))
            except ValueError:
                raise KeyFileError(f"{path}: {name} is not hex") from None
            if len(keys[name]) != 16:
                raise KeyFileError(f"{path}: {name} must be 16 bytes (32 hex digits), not {len(keys[name])}")
        return cls(**keys)


@dataclass(frozen=True)
class Cryptogram:
    """A checked ARQC, able to answer it."""

    scheme: str  # "Visa CVN 10", "Mastercard CVN 16"
    arqc: bytes
    _card: cvn.VisaCVN10 | cvn.MasterCardCVN16

    def issuer_auth_data(self, response_code: str) -> bytes:
        """Tag 91's value: ARPC method 1 over the ARQC and the ARC (the response code in ASCII)."""
        arc = response_code.encode("ascii")
        return self._card.generate_arpc(self.arqc, arc) + arc


def _required(nodes: list[tlv.Node], tag: int) -> bytes:
    node = tlv.find(nodes, tag)
    if node is None:
        raise CryptogramError(f"tag {tag:X} is missing from field 55")
    return node.value


def _scheme(nodes: list[tlv.Node], iad: bytes) -> str:
    aid = next((n.value for t in (0x84, 0x4F, 0x9F06) if (n := tlv.find(nodes, t)) is not None), b"")
    visa_iad = len(iad) >= 7 and iad[0] == 0x06 and iad[2] == 0x0A
    mastercard_iad = len(iad) >= 8 and iad[1] == 0x10
    if aid[:5] == MASTERCARD_RID or (not aid and mastercard_iad):
        if not mastercard_iad:
            raise CryptogramError("Mastercard application without CVN 16 issuer application data")
        return "mastercard"
    if aid[:5] == VISA_RID or (not aid and visa_iad):
        if not visa_iad:
            raise CryptogramError("Visa application without CVN 10 issuer application data")
        return "visa"
    raise CryptogramError("cryptogram version not supported (only Visa CVN 10 and Mastercard CVN 16)")


def check_arqc(keys: IssuerKeys, pan: str, psn: str, icc_data: bytes) -> Cryptogram:
    """The card's ARQC recomputed from the ICC master key (Option A from the IMK, PAN and PSN) and compared."""
    try:
        nodes = tlv.decode(icc_data)
    except ValueError as exc:
        raise CryptogramError(f"field 55 is not TLV ({exc})") from None
    arqc = _required(nodes, 0x9F26)
    iad = _required(nodes, 0x9F10)
    data = {name: _required(nodes, tag) for name, tag in AC_TAGS.items()}
    psn = (psn or "00")[-2:]
    if _scheme(nodes, iad) == "visa":
        card: cvn.VisaCVN10 | cvn.MasterCardCVN16 = cvn.VisaCVN10(keys.imk_ac, keys.imk_smi, keys.imk_smc, pan, psn)
        scheme, cvr = "Visa CVN 10", iad[3:7]  # pyemv takes the CVR with its length byte (03 ...)
    else:
        card = cvn.MasterCardCVN16(keys.imk_ac, keys.imk_smi, keys.imk_smc, pan, psn)
        scheme, cvr = "Mastercard CVN 16", iad[2:8]
    expected = card.generate_ac(cvr=cvr, **data)
    if not hmac.compare_digest(expected, arqc):
        raise CryptogramError(f"{scheme} ARQC does not verify")
    return Cryptogram(scheme, arqc, card)
