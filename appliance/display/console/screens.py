"""The console's dialogs, each driven by keypad keys alone: digits type, ENTER takes, CLEAR goes back.

Every dialog gets keypad key names (the keyboard is mapped in `keys.py`, so a keypad
and a keyboard drive them the same way). Dialogs never write: what they decide goes
back to the app, which sends it to the daemon as an action (or, for returns, runs it on
the daemon's one writer thread).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Sequence

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from appliance.core import members, returns
from appliance.display.console.keys import keypad_key
from appliance.errors import ApplianceError, InputError

if TYPE_CHECKING:
    from appliance.display.console.app import ConsoleApp


class KeypadDialog(ModalScreen[None]):
    """A bordered box with a title, a body, an entry line and a hint; subclasses decide what keys mean."""

    DEFAULT_CSS = """
    KeypadDialog { align: center middle; }
    KeypadDialog > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
                              border: double $accent; background: $surface; padding: 0 1; }
    KeypadDialog .title { text-style: bold; }
    KeypadDialog .problem { color: $error; }
    """

    def __init__(self, app: "ConsoleApp", title: str, hint: str):
        super().__init__()
        self.console = app
        self.title_text, self.hint = title, hint
        self.entry = ""
        self.problem = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            yield Static(self.body(), id="body")
            yield Static(self._entry_line(), id="entry")
            yield Static("", id="problem", classes="problem")
            yield Static(self.hint, id="hint")

    def body(self) -> str:
        return ""

    def _entry_line(self) -> str:
        return f"{self.console.labels('entry')}: {self.entry}_"

    def redraw(self) -> None:
        self.query_one("#body", Static).update(self.body())
        self.query_one("#entry", Static).update(self._entry_line())
        self.query_one("#problem", Static).update(self.problem)

    async def on_key(self, event: events.Key) -> None:
        key = keypad_key(event)
        if key is None:
            return
        event.stop()
        await self.press(key)

    async def press(self, key: str) -> None:
        """The keypad key `key`; digits and the point type, CLEAR empties the entry or closes."""
        self.problem = ""
        if key.isdigit() or key == ".":
            self.entry += key
        elif key in ("CLEAR", "CANCEL"):
            if self.entry and key == "CLEAR":
                self.entry = ""
            else:
                self.dismiss()
                return
        else:
            entry, self.entry = self.entry, ""
            try:
                await self.act(key, entry)
            except ApplianceError as exc:
                self.problem = exc.message
        if self.is_attached:
            self.redraw()

    async def act(self, key: str, entry: str) -> None:
        raise NotImplementedError

    def take_scan(self, code: str) -> bool:
        """A scanned code while the dialog is open; False lets it through to the sale."""
        return False


def quantity_text(thousandths: int, unit: str) -> str:
    """Pieces as whole numbers, weights in kilograms: 2, 0.532kg."""
    return f"{thousandths / 1000:g}" + ("kg" if unit == "kg" else "")


def choose(entry: str, count: int) -> int:
    """The 0-based index of a numbered choice typed on the keypad."""
    if not entry.isdigit() or not 1 <= int(entry) <= count:
        raise InputError(f"type a number from 1 to {count}, then ENTER" if count else "there is nothing to choose")
    return int(entry) - 1


class MenuDialog(KeypadDialog):
    """The less frequent actions, numbered: a digit, then ENTER."""

    def __init__(self, app: "ConsoleApp", title: str, options: Sequence[tuple[str, Callable[[], object]]]):
        super().__init__(app, title, app.labels("menu_hint"))
        self.options = list(options)

    def body(self) -> str:
        return "\n".join(f"{n}. {label}" for n, (label, _) in enumerate(self.options, 1))

    async def act(self, key: str, entry: str) -> None:
        if key != "ENTER":
            raise InputError("type a number, then ENTER")
        _, chosen = self.options[choose(entry, len(self.options))]
        self.dismiss()
        outcome = chosen()
        if asyncio.iscoroutine(outcome):
            self.console.spawn(outcome)


class AmountDialog(KeypadDialog):
    """An amount typed with the point, then ENTER: an opening float, counted cash, points to use."""

    def __init__(self, app: "ConsoleApp", title: str, then: Callable[[int | None], object], *, optional: bool = False):
        super().__init__(app, title, "ENTER")
        self.then, self.optional = then, optional

    async def act(self, key: str, entry: str) -> None:
        if key != "ENTER":
            raise InputError("type the amount, then ENTER")
        if not entry and not self.optional:
            raise InputError("type the amount first, then ENTER")
        amount = self.console.amount(entry) if entry else None
        self.dismiss()
        self.console.spawn(self.then(amount))


class ChoiceDialog(KeypadDialog):
    """A numbered list (suspended sales, members found): a number, then ENTER, picks one."""

    def __init__(self, app: "ConsoleApp", title: str, rows: Sequence[tuple[str, str]], then: Callable[[str], object],
                 empty: str):
        super().__init__(app, title, app.labels("choose"))
        self.rows, self.then, self.empty = list(rows), then, empty

    def body(self) -> str:
        if not self.rows:
            return self.empty
        return "\n".join(f"{n}. {text}" for n, (_, text) in enumerate(self.rows, 1))

    async def act(self, key: str, entry: str) -> None:
        if key != "ENTER":
            raise InputError("type a number, then ENTER")
        value = self.rows[choose(entry, len(self.rows))][0]
        self.dismiss()
        self.console.spawn(self.then(value))


class MemberDialog(KeypadDialog):
    """Find a member by the last digits of the phone (typed) or the card (scanned), then attach one."""

    def __init__(self, app: "ConsoleApp"):
        super().__init__(app, app.labels("member_lookup"), app.labels("member_search"))
        self.found: list[members.Member] = []

    def body(self) -> str:
        if not self.found:
            return ""
        return "\n".join(f"{n}. {m.name}  {m.phone[:3]}****{m.phone[-4:]}  {m.card_code or ''}"
                         for n, m in enumerate(self.found, 1))

    async def act(self, key: str, entry: str) -> None:
        if key != "ENTER":
            raise InputError("type the phone digits, then ENTER")
        if self.found and entry.isdigit() and len(entry) <= 2:
            chosen = self.found[choose(entry, len(self.found))]
            self.dismiss()
            self.console.spawn(self.console.perform("member", key=chosen.id))
            return
        self.found = members.search(self.console.reads, entry)
        if not self.found:
            self.problem = self.console.labels("no_matches")

    def take_scan(self, code: str) -> bool:
        self.dismiss()
        self.console.spawn(self.console.perform("member", key=code))
        return True


class ReturnsDialog(KeypadDialog):
    """A return against a receipt: its number (typed or scanned), the lines and quantities, then the refund."""

    def __init__(self, app: "ConsoleApp"):
        super().__init__(app, app.labels("returns"), app.labels("receipt_no"))
        self.receipt = ""
        self.lines: list[returns.Returnable] = []
        self.chosen: dict[int, int] = {}  # line number -> quantity in thousandths
        self.quantity: int | None = None

    def body(self) -> str:
        if not self.receipt:
            return ""
        rows = [self.receipt]
        for line in self.lines:
            picked = self.chosen.get(line.line_no)
            mark = f"  -> {quantity_text(picked, line.unit)}" if picked else ""
            rows.append(f"{line.line_no}. {line.name}  {self.console.labels('left')} {quantity_text(line.left, line.unit)}{mark}")
        return "\n".join(rows)

    def _load(self, number: str) -> None:
        if number.isdigit():  # the keypad has no letters: digits are a receipt of this till
            number = f"{self.console.daemon.till.device}-{int(number):06d}"
        original = returns.find_receipt(self.console.daemon.till, number)
        self.receipt = original["receipt_no"]
        self.lines = returns.returnable(self.console.daemon.till, original)
        self.hint = self.console.labels("return_lines")
        self.query_one("#hint", Static).update(self.hint)

    async def act(self, key: str, entry: str) -> None:
        if not self.receipt:
            if key != "ENTER" or not entry:
                raise InputError("type the receipt number, then ENTER (or scan the receipt)")
            self._load(entry)
        elif key == "QTY":
            self.quantity = int(entry) * 1000 if entry.isdigit() and int(entry) > 0 else None
            if self.quantity is None:
                raise InputError("type the quantity, then QTY, then the line number and ENTER")
        elif key == "ENTER":
            by_no = {line.line_no: line for line in self.lines}
            if not entry.isdigit() or int(entry) not in by_no:
                raise InputError(f"receipt {self.receipt} has no line {entry or '?'}")
            line = by_no[int(entry)]
            self.chosen[line.line_no] = self.quantity or line.left
            self.quantity = None
        elif key in ("SUBTOTAL", "DONE", "CASH"):
            if not self.chosen:
                raise InputError("choose a line first: its number, then ENTER")
            await self.console.return_items(self.receipt, sorted(self.chosen.items()),
                                            refund_to="cash" if key == "CASH" else "original")
            self.dismiss()
        else:
            raise InputError("choose lines (number, ENTER), then SUBTOTAL to refund")

    def take_scan(self, code: str) -> bool:
        if self.receipt:
            return False
        try:
            self._load(code)
        except ApplianceError as exc:
            self.problem = exc.message
        self.redraw()
        return True


class ReportDialog(KeypadDialog):
    """A document's text (X or Z report) as the printer prints it; any of ENTER, CLEAR, DONE closes."""

    DEFAULT_CSS = """
    ReportDialog > Vertical { width: 52; }
    """

    def __init__(self, app: "ConsoleApp", title: str, lines: Sequence[str]):
        super().__init__(app, title, app.labels("report_close"))
        self.lines = lines

    def body(self) -> str:
        return "\n".join(self.lines)

    async def act(self, key: str, entry: str) -> None:
        self.dismiss()
