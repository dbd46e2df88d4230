"""What a card flow takes and gives: terminal configuration, the transaction, the outcome.

The kernels (contact.py, contactless.py) and the payment layer share these types and
nothing else. Card data that must never be stored (PAN, track 2 equivalent, PIN) only
travels inside `Secret`; an Outcome offers the masked PAN and the data for field 55.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from appliance.native.secret import Secret


@dataclass(frozen=True)
class CaKey:
    """A certification authority public key (EMV Book 2 6.1): RID + index identify it."""

    rid: bytes  # 5 bytes, e.g. A000000003
    index: int
    modulus: bytes
    exponent: int
    expiry: str = ""  # YYMMDD; an expired CA key is not used


@dataclass(frozen=True)
class AidConfig:
    """One application the terminal accepts (EMV Book 4 11.3), with its action codes."""

    aid: bytes
    label: str
    partial_match: bool = True  # the card's AID may be longer (ASI, Book 1 12.3.1)
    version: bytes = b"\x00\x8c"  # terminal application version number (9F09)
    tac_denial: bytes = bytes(5)
    tac_online: bytes = bytes.fromhex("FC50BCF800")
    tac_default: bytes = bytes.fromhex("FC50BCA000")
    floor_limit: int = 0  # minor units; 0 sends every transaction online
    random_threshold: int = 0  # below the floor limit, amounts above this may be picked at random
    random_target: int = 0  # percent
    random_max_target: int = 0  # percent
    contactless_limit: int = 0  # transaction limit for taps (0: no taps)
    cvm_limit: int = 0  # contactless: above this the card holder is verified


@dataclass(frozen=True)
class TerminalConfig:
    country: bytes = b"\x01\x56"  # 9F1A, numeric (China)
    currency: bytes = b"\x01\x56"  # 5F2A
    currency_exponent: int = 2
    terminal_type: int = 0x22  # 9F35: attended, offline with online capability, merchant
    capabilities: bytes = bytes.fromhex("E0F8C8")  # 9F33: IC, magstripe, keyed; all PIN types, signature, no CVM; SDA, DDA, CDA
    additional_capabilities: bytes = bytes.fromhex("6000F0A001")  # 9F40
    terminal_id: str = "T01"  # 9F1C, 8 characters
    merchant_id: str = ""  # 9F16, 15 characters
    merchant_name: str = ""  # 9F4E
    aids: tuple[AidConfig, ...] = ()
    ca_keys: tuple[CaKey, ...] = ()
    exception_file: frozenset[str] = frozenset()  # PANs (hashed by the caller) the terminal refuses
    pin_pad: bool = True
    online_capable: bool = True
    ttq: bytes = bytes.fromhex("36004000")  # 9F66 for contactless: EMV mode, online capable, CVM supported


@dataclass(frozen=True)
class Transaction:
    amount: int  # minor units
    other_amount: int = 0
    type: int = 0x00  # 9C: 00 goods and services, 20 refund
    date: str = ""  # YYMMDD (9A)
    time: str = ""  # HHMMSS (9F21)
    unpredictable_number: bytes = b""  # 9F37, 4 random bytes; the kernel fills it when empty
    force_online: bool = False


@dataclass(frozen=True)
class Candidate:
    """An application the card and the terminal both support (EMV Book 1 12.4)."""

    aid: bytes
    label: str
    priority: int  # 1 is highest; 0 none (87, low nibble)
    needs_confirmation: bool  # 87 bit 8: the cardholder must confirm


@dataclass(frozen=True)
class OnlineRequest:
    """What the payment layer sends to the acquirer for an ARQC."""

    pan: Secret
    track2: Secret  # track 2 equivalent data (57), for field 35
    psn: str  # PAN sequence number (5F34), "" when the card has none
    expiry: str  # YYMM
    icc_data: bytes  # TLV for field 55
    pin: Secret | None = None  # online PIN digits as typed; the payment layer encrypts them into a PIN block and drops them
    entry_mode: str = "051"  # ISO 8583 field 22: 051 chip with PIN capability, 071 contactless


@dataclass(frozen=True)
class OnlineResponse:
    approved: bool
    response_code: str  # 8A, two characters: "00" approved, "05" do not honour...
    auth_code: str = ""  # 89
    issuer_auth_data: bytes = b""  # 91: ARPC + its response code, for EXTERNAL AUTHENTICATE / 2nd GENERATE AC
    unable_to_go_online: bool = False  # no answer: the kernel decides offline (Book 3 10.9)


class Cardholder(Protocol):
    """What the kernel asks of the people at the till (through the daemon, the keypad and the display)."""

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        """Pick (or confirm) an application; None cancels."""

    def pin(self, *, online: bool, tries_left: int | None) -> Secret | None:
        """The PIN typed on the PIN pad, or None when the cardholder bypasses it."""


GoOnline = Callable[[OnlineRequest], OnlineResponse]


@dataclass
class Outcome:
    decision: str  # "approved", "declined", "approved_offline", "declined_offline", "cancelled", "failed"
    reason: str = ""  # why, for a person: "card declined (05)", "PIN blocked", "card removed"
    interface: str = "contact"  # "contact", "contactless", "magstripe"
    aid: bytes = b""
    label: str = ""
    pan: Secret | None = None
    masked_pan: str = ""
    expiry: str = ""  # YYMM
    psn: str = ""
    tvr: bytes = bytes(5)
    tsi: bytes = bytes(2)
    cvm: str = ""  # "offline plaintext PIN", "online PIN", "signature", "no CVM", "failed"
    cvm_results: bytes = bytes(3)  # 9F34
    cryptogram_type: str = ""  # "TC", "ARQC", "AAC"
    cryptogram: bytes = b""
    auth_code: str = ""
    response_code: str = ""
    signature_required: bool = False
    icc_data: bytes = b""  # field 55 TLV of the final cryptogram (for advices and receipts)
    trace: list[str] = field(default_factory=list)  # masked, for technicians

    @property
    def approved(self) -> bool:
        return self.decision in ("approved", "approved_offline")
