"""The card terminal over the devices: reader, PIN pad and customer display, for the card tender.

The card tender runs on the daemon's worker thread and asks for a card, a PIN, an
application or a tip; the answers are device events that arrive on the event loop. The
loop hands them over with `offer()`; the tender's thread waits for them here with a
deadline, so a customer who walks away never hangs the till. PIN digits never pass
through here as keys: the keypad collects them in PIN mode and sends one PinEntered.
"""

from __future__ import annotations

import queue
from typing import Any, Callable

from appliance.core.card import PresentedCard
from appliance.core.money import format_amount
from appliance.core.tips import chosen
from appliance.display import customer
from appliance.emv.model import Candidate
from appliance.errors import DomainError
from appliance.hal.events import CardInserted, CardRemoved, Event, KeyPressed, PinEntered, Swiped
from appliance.native.secret import Secret

WAIT_FOR_CARD_S = 60.0
WAIT_FOR_PIN_S = 60.0
WAIT_FOR_KEY_S = 30.0


class DevicePinPad:
    """Implements the card tender's CardTerminal with real (or simulated) devices."""

    def __init__(self, *, show: Callable[[tuple[str, ...]], None], reader: Callable[[], Any],
                 keypad: Callable[[], Any], exponent: int, columns: int, chinese: bool,
                 tip_percentages: tuple[int, ...] = ()):
        self.show, self.reader, self.keypad = show, reader, keypad
        self.exponent, self.columns, self.chinese = exponent, columns, chinese
        self.tip_percentages = tip_percentages
        self.waiting = False  # True while the tender waits for the customer: the loop routes card events here
        self._events: "queue.Queue[Event]" = queue.Queue()

    # --- from the event loop

    def offer(self, event: Event) -> bool:
        """The loop hands a device event over; False when nothing here waits for it."""
        if not self.waiting or not isinstance(event, (CardInserted, CardRemoved, Swiped, PinEntered, KeyPressed)):
            return False
        self._events.put(event)
        return True

    def preload(self, event: Event) -> None:
        """A card presented before the cashier asked for one (a tap on the tendering screen)."""
        self._events.put(event)

    # --- CardTerminal, on the tender's thread

    def present(self, amount: int) -> PresentedCard:
        money = format_amount(amount, self.exponent)
        self.show(self._frame("请插卡/挥卡/刷卡", "INSERT, TAP OR SWIPE", money))
        event = self._wait((CardInserted, Swiped), WAIT_FOR_CARD_S, "no card was presented in time")
        if isinstance(event, Swiped):
            return PresentedCard("magstripe", tracks=event.tracks)
        reader = self.reader()
        self.show(self._frame("请勿移开卡片", "PROCESSING", money))
        return PresentedCard("contactless" if event.contactless else "contact", transmit=reader.transmit)

    def pin(self, *, online: bool, tries_left: int | None) -> Secret | None:
        keypad = self.keypad()
        if keypad is None:
            return None  # no PIN pad: the kernel records "PIN pad not present" and moves on
        prompt = "请输入密码" if tries_left is None else f"密码 剩{tries_left}次"
        self.show(self._frame(prompt, "ENTER PIN" if tries_left is None else f"PIN ({tries_left} LEFT)", ""))
        keypad.begin_pin_entry()
        try:
            event = self._wait((PinEntered,), WAIT_FOR_PIN_S, "no PIN was entered in time")
        finally:
            keypad.end_pin_entry()
        return event.pin if len(event.pin) else None  # ENTER alone bypasses the PIN

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        if len(candidates) == 1:
            return candidates[0]
        labels = " ".join(f"{n}:{c.label[:8]}" for n, c in enumerate(candidates[:9], start=1))
        self.show((("请选择应用" if self.chinese else "CHOOSE")[: self.columns], labels[: self.columns]))
        event = self._wait((KeyPressed,), WAIT_FOR_KEY_S, "no application was chosen in time")
        if event.key.isdigit() and 1 <= int(event.key) <= len(candidates):
            return candidates[int(event.key) - 1]
        return None  # CLEAR or anything else cancels

    def tip(self, amount: int) -> int:
        if not self.tip_percentages:
            return 0
        self.show(customer.tip_prompt(amount, self.tip_percentages, self.exponent, self.columns, self.chinese))
        event = self._wait((KeyPressed,), WAIT_FOR_KEY_S, "no tip was chosen in time")
        return chosen(event.key, amount, self.tip_percentages)

    # --- helpers

    def _wait(self, kinds: tuple[type, ...], seconds: float, why: str) -> Any:
        self.waiting = True
        try:
            while True:
                try:
                    event = self._events.get(timeout=seconds)
                except queue.Empty:
                    raise DomainError(f"card payment stopped: {why}", code="card_timeout") from None
                if isinstance(event, kinds):
                    return event
                if isinstance(event, KeyPressed) and event.key in ("CANCEL", "CLEAR") and PinEntered not in kinds:
                    raise DomainError("card payment cancelled at the PIN pad", code="card_cancelled")
        finally:
            self.waiting = False

    def _frame(self, zh: str, en: str, amount: str) -> tuple[str, ...]:
        top = zh if self.chinese else en
        return (top[: self.columns], amount.rjust(self.columns)[: self.columns])
