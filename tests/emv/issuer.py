"""A reference issuer for the kernel tests: acquirer/issuer.py's ARQC check and ARPC, with the test PANs' decisions.

Used as `go_online` by the contact and contactless kernel tests. The cryptogram is
checked exactly as the reference acquirer host checks it (`check_arqc`: Visa CVN 10 or
Mastercard CVN 16, by the RID and 9F10), under tests/emv/keys.py's issuer master keys.
Decisions by test PAN (tests/emv/keys.py): DECLINE gets 05, EXPIRED 54, amounts above
DECLINE_ABOVE 51, a wrong online PIN 55, an ARQC that does not verify 05 without ARPC;
everything else 00 with an authorisation code. 91 = ARPC method 1 (8 bytes) + the
response code it covers (2).
"""

from __future__ import annotations

from acquirer.issuer import Cryptogram, CryptogramError, IssuerKeys, check_arqc
from appliance.emv import tlv
from appliance.emv.model import OnlineRequest, OnlineResponse
from tests.emv.keys import DECLINE, DECLINE_ABOVE, EXPIRED, IMK_AC, IMK_SMC, IMK_SMI

ISSUER_KEYS = IssuerKeys(IMK_AC, IMK_SMI, IMK_SMC)
ARQC = 0x80  # 9F27 bits 8-7


def icc_tags(icc_data: bytes) -> dict[int, bytes]:
    """Field 55 as a tag dictionary (templates opened)."""
    return {node.tag: node.value for top in tlv.decode(icc_data) for node in top.walk() if not node.constructed}


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
        cryptogram = self._checked(pan, request, tags)
        self.arqc_checks.append(cryptogram is not None)
        if cryptogram is None:
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
        data = cryptogram.issuer_auth_data(code)
        if self.tamper_arpc:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return OnlineResponse(approved=code == "00", response_code=code, auth_code="A1B2C3" if code == "00" else "",
                              issuer_auth_data=data)

    @staticmethod
    def _checked(pan: str, request: OnlineRequest, tags: dict[int, bytes]) -> Cryptogram | None:
        """The verified ARQC, or None when field 55 holds another cryptogram type or one that does not verify."""
        if tags.get(0x9F27, b"\x00")[0] & 0xC0 != ARQC:
            return None
        try:
            return check_arqc(ISSUER_KEYS, pan, request.psn, request.icc_data)
        except CryptogramError:
            return None
