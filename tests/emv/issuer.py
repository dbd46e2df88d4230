"""A reference issuer for tests: checks the ARQC in field 55 with pyemv (Visa CVN 10) and answers with an ARPC.

Used as `go_online` by the kernel tests, and reusable by the acquirer host simulator.
Decisions by test PAN (tests/emv/keys.py): DECLINE gets 05, EXPIRED 54, amounts above
DECLINE_ABOVE 51, a wrong online PIN 55, an ARQC that does not verify 05 without ARPC;
everything else 00 with an authorisation code. The ARPC is method 1 over the ARQC and
the two ASCII bytes of the response code: 91 = ARPC (8 bytes) + response code (2).
"""

from __future__ import annotations

from pyemv import cvn

from appliance.emv import tlv
from appliance.emv.model import OnlineRequest, OnlineResponse
from tests.emv.keys import DECLINE, DECLINE_ABOVE, EXPIRED, IMK_AC, IMK_SMC, IMK_SMI


def icc_tags(icc_data: bytes) -> dict[int, bytes]:
    return {node.tag: node.value for top in tlv.decode(icc_data) for node in top.walk() if not node.constructed}


def arqc_valid(pan: str, psn: str, tags: dict[int, bytes]) -> bool:
    """Recompute the cryptogram from field 55 (9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36, CVR from 9F10)."""
    crypto = cvn.VisaCVN10(IMK_AC, IMK_SMI, IMK_SMC, pan, psn or "00")
    expected = crypto.generate_ac(tags[0x9F02], tags[0x9F03], tags[0x9F1A], tags[0x95], tags[0x5F2A], tags[0x9A],
                                  tags[0x9C], tags[0x9F37], tags[0x82], tags[0x9F36], tags[0x9F10][3:7])
    return expected == tags[0x9F26]


def issuer_auth_data(pan: str, psn: str, arqc: bytes, response_code: str) -> bytes:
    """91: ARPC method 1 + the response code it covers."""
    code = response_code.encode("ascii")
    return cvn.VisaCVN10(IMK_AC, IMK_SMI, IMK_SMC, pan, psn or "00").generate_arpc(arqc, code) + code


class TestIssuer:
    """Callable as GoOnline; `requests` and `arqc_checks` record what it saw."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, pin: str = "1234", unreachable: bool = False, tamper_arpc: bool = False):
        self.pin = pin
        self.unreachable = unreachable
        self.tamper_arpc = tamper_arpc
        self.requests: list[OnlineRequest] = []
        self.arqc_checks: list[bool] = []

    def __call__(self, request: OnlineRequest) -> OnlineResponse:
        self.requests.append(request)
        if self.unreachable:
            return OnlineResponse(approved=False, response_code="", unable_to_go_online=True)
        tags = icc_tags(request.icc_data)
        pan = request.pan.reveal().decode("ascii")
        valid = (tags.get(0x9F27, b"\x00")[0] & 0xC0) == 0x80 and arqc_valid(pan, request.psn, tags)
        self.arqc_checks.append(valid)
        if not valid:
            return OnlineResponse(approved=False, response_code="05")
        amount = int(tags[0x9F02].hex())
        if pan == DECLINE:
            code = "05"
        elif pan == EXPIRED:
            code = "54"
        elif amount > DECLINE_ABOVE:
            code = "51"
        elif request.pin is not None and request.pin.reveal().decode("ascii") != self.pin:
            code = "55"
        else:
            code = "00"
        data = issuer_auth_data(pan, request.psn, tags[0x9F26], code)
        if self.tamper_arpc:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return OnlineResponse(approved=code == "00", response_code=code, auth_code="A1B2C3" if code == "00" else "",
                              issuer_auth_data=data)
