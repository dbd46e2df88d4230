"""Scripted card exchanges and a scripted cardholder, for per-step kernel tests without a card model.

`ScriptedTransport` plays an ordered script: each expected command (a hex prefix of the
APDU) with its answer (response data and status word, as hex). A command that differs
from the script fails the test at once with both APDUs shown; `exchanges` records what was
sent and answered. `in_process(card)` wraps an emulated card for tests that do not go
through pcscd, turning CardPulled into CardRemoved as a reader driver does.
"""

from __future__ import annotations

from typing import Callable

from appliance.emv.apdu import CardRemoved, Channel
from appliance.emv.model import Candidate
from appliance.native.secret import Secret
from tests.pcsc.vpcd_card import CardPulled


class ScriptMismatch(AssertionError):
    pass


class ScriptedTransport:
    """Answers `(expected APDU prefix hex, answer hex ending with SW1 SW2)` pairs in order."""

    def __init__(self, script: list[tuple[str, str]]):
        self.script = [(bytes.fromhex(prefix.replace(" ", "")), bytes.fromhex(answer.replace(" ", "")))
                       for prefix, answer in script]
        self.exchanges: list[tuple[bytes, bytes]] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        if len(self.exchanges) >= len(self.script):
            raise ScriptMismatch(f"unexpected command {apdu.hex().upper()} after the end of the script")
        prefix, answer = self.script[len(self.exchanges)]
        if not apdu.startswith(prefix):
            raise ScriptMismatch(f"command {len(self.exchanges) + 1}: expected {prefix.hex().upper()}..., "
                                 f"got {apdu.hex().upper()}")
        self.exchanges.append((apdu, answer))
        return answer[:-2], answer[-2], answer[-1]

    @property
    def finished(self) -> bool:
        return len(self.exchanges) == len(self.script)

    def channel(self) -> Channel:
        return Channel(self.transmit)


def in_process(card) -> Callable[[bytes], tuple[bytes, int, int]]:
    """A transmit function straight to an emulated card; a pulled card is CardRemoved."""
    def transmit(apdu: bytes) -> tuple[bytes, int, int]:
        try:
            return card.transmit(apdu)
        except CardPulled as exc:
            raise CardRemoved() from exc
    return transmit


class ScriptedCardholder:
    """Chooses by index or AID (None cancels) and types the listed PINs (None bypasses); records what it was asked."""

    def __init__(self, choice: int | bytes | None = 0, pins: list[str | None] | None = None):
        self.choice = choice
        self.pins = list(pins or [])
        self.offered: list[list[Candidate]] = []
        self.pin_requests: list[tuple[bool, int | None]] = []

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        self.offered.append(list(candidates))
        if self.choice is None:
            return None
        if isinstance(self.choice, int):
            return candidates[self.choice]
        return next(c for c in candidates if c.aid == self.choice)

    def pin(self, *, online: bool, tries_left: int | None) -> Secret | None:
        self.pin_requests.append((online, tries_left))
        if not self.pins:
            raise AssertionError(f"the kernel asked for a PIN (online={online}, tries left {tries_left}) "
                                 "the script does not have")
        typed = self.pins.pop(0)
        return None if typed is None else Secret(typed.encode("ascii"))
