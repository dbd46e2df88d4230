"""The operator console: a textual app in the daemon's loop, showing the sale and sending keys as actions.

The console never writes to the store. Keys go to `daemon.handle_event` as KeyPressed
events, the very path of the physical keypad (KeyEntry builds the same actions, and a
card payment in progress gets them first); dialog decisions go to `daemon.perform`.
Results come back through `daemon.results` and are shown: the message (refusals in
red), the cart, the totals, and the documents a shift action returns (X and Z reports as
the printer prints them). Reads for display come from the till (the sale in memory)
and from a read-only connection of the console's own.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Sequence

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from appliance.core import delivery_orders
from appliance.core.money import format_amount
from appliance.core.session import Action, KeyEntry, Result, State
from appliance.display import qr
from appliance.display.console import status as status_mod
from appliance.display.console.keys import keypad_key
from appliance.display.console.labels import Labels
from appliance.display.console.screens import (AmountDialog, ChoiceDialog, KeypadDialog, MemberDialog, MenuDialog,
                                               ReportDialog, ReturnsDialog, quantity_text)
from appliance.display.document import render_text
from appliance.display.receipt import e_receipt_link
from appliance.display.report import shift_report
from appliance.display.text import fit, pad
from appliance.errors import ApplianceError, InputError
from appliance.sync.outbox import SyncState
from appliance.hal.events import Event, KeyPressed

log = logging.getLogger(__name__)

QUICK_STEPS = (10, 50, 100)  # whole currency units: the next note up a customer hands over
STATUS_EVERY_S = 3.0


def quick_amounts(due: int, exponent: int) -> list[int]:
    """Exact, then the next 10, 50 and 100 above what is due, each once (minor units)."""
    amounts = [due]
    for step in QUICK_STEPS:
        unit = step * 10**exponent
        amount = -(-due // unit) * unit
        if amount not in amounts:
            amounts.append(amount)
    return amounts


class SaleScreen(Screen[None]):
    """The cart, totals, tender box, message, entry and status bar; every key goes to the keypad path."""

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="cart")
        yield Static(id="totals")
        yield Static(id="tender")
        yield Static(id="message")
        yield Static(id="entry")
        yield Static(id="status")

    async def on_key(self, event: events.Key) -> None:
        key = keypad_key(event)
        if key is None:
            return
        event.stop()
        app: ConsoleApp = self.app  # type: ignore[assignment]
        if key == "MENU":
            app.open_menu()
        else:
            app.press(key)


class ConsoleApp(App[None]):
    """`ConsoleApp(daemon)`, run with `await app.run_async()` inside the loop that runs `daemon.run()`."""

    CSS = """
    #header { background: $primary; color: $text; height: 1; }
    #cart { height: 1fr; padding: 0 1; }
    #totals { height: auto; padding: 0 1; text-style: bold; }
    #tender { height: auto; border: round $accent; padding: 0 1; display: none; }
    #tender.shown { display: block; }
    #message { height: 1; padding: 0 1; }
    #message.refused { color: $error; text-style: bold; }
    #entry { height: 1; padding: 0 1; }
    #status { height: auto; background: $panel; }
    #status.alarm { background: $error 40%; }
    .portable #header, .portable #status { height: auto; }
    """

    def __init__(self, daemon: Any, *, language: str | None = None, profile: str | None = None,
                 power_supply: Path = status_mod.POWER_SUPPLY):
        super().__init__()
        self.daemon = daemon
        self.labels = Labels(language or daemon.settings.console.language)
        self.profile = profile or daemon.settings.console.profile
        self.power_supply = power_supply
        self.reads = status_mod.read_only(daemon.settings.database_path)
        self.message, self.refused = "", False
        self.status: status_mod.Status | None = None
        self.order: delivery_orders.Order | None = None  # the delivery order being paid
        self.e_receipt = ""  # the page of the receipt just printed, while the till waits for the next customer
        self._tasks: set[asyncio.Task] = set()
        self._status_lock = asyncio.Lock()
        self.sale_screen = SaleScreen(classes=self.profile)

    # --- lifecycle

    def on_mount(self) -> None:
        self.push_screen(self.sale_screen)
        self.daemon.results.append(self.on_result)
        self.daemon.claims.append(self.claim)
        self.call_after_refresh(self.refresh_sale)  # the sale screen is mounted by then
        self.spawn(self.refresh_status())
        self.set_interval(STATUS_EVERY_S, lambda: self.spawn(self.refresh_status()))

    def on_unmount(self) -> None:
        self.daemon.results.remove(self.on_result)
        self.daemon.claims.remove(self.claim)
        self.reads.close()

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` beside the UI (a card payment waits for the customer); failures are logged, never fatal."""
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("console action failed")

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait for the keys and actions sent so far (the pilot tests wait on it before looking at the screen)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- what goes to the daemon

    def press(self, key: str) -> None:
        """A keypad key, exactly as the physical keypad would send it."""
        async def send() -> None:
            await self.daemon.handle_event(KeyPressed(device="console", key=key))
            self.refresh_sale()

        self.spawn(send())

    async def perform(self, name: str, **args: Any) -> Result:
        return await self.daemon.perform(Action.of(name, **args))

    async def return_items(self, receipt: str, items: Sequence[tuple[int, int]], *, refund_to: str) -> None:
        """A return through the session (between sales): its slip prints like a sale's receipt."""
        result = await self.perform("return", receipt=receipt, items=list(items), refund_to=refund_to)
        if not result.ok:
            raise InputError(result.message)

    def claim(self, event: Event) -> bool:
        """A device event the console takes before the till does.

        The physical keypad's MENU key opens the menu, and while a dialog is open its keys go
        there, exactly as the same keys typed on the console's keyboard; a scanned code may be
        what an open dialog waits for (a receipt, a member card) or a delivery order.
        """
        dialog = self.screen if isinstance(self.screen, KeypadDialog) else None
        if isinstance(event, KeyPressed):
            # Device events arrive on the daemon's tasks: the work is handed to the app's own
            # message queue, where textual knows which app is running.
            if dialog is not None and event.device != "console":
                self.call_later(lambda: self.spawn(dialog.press(event.key)))
                return True
            if event.key == "MENU":
                self.call_later(self.open_menu)
                return True
            return False
        if dialog is not None and dialog.take_scan(event.code):
            return True
        if delivery_orders.is_order_code(event.code):
            self.spawn(self.load_order(event.code))
            return True
        return False

    async def load_order(self, code: str) -> None:
        """A delivery order's items become the sale, ready for payment."""
        try:
            if self.daemon.session.state not in (State.IDLE, State.RECEIPT):
                raise InputError("finish the sale in progress before taking a delivery order's payment")
            order = delivery_orders.find(self.reads, code)
        except ApplianceError as exc:
            self.on_result(Result(False, self.daemon.session.state, exc.message, "error"))
            return
        for item in order.items:
            result = await self.perform("scan", code=item.sku, quantity=item.quantity * 1000)
            if not result.ok:
                return  # the refusal is on screen; the items so far stay in the sale
        self.order = order
        total = self.daemon.till.priced().total
        note = "" if total == order.total else f" (the order says {self.money(order.total)})"
        self.on_result(Result(True, self.daemon.session.state,
                              f"{self.labels('delivery')} {order.order_no}: {self.money(total)}{note}"))

    # --- results

    def on_result(self, result: Result) -> None:
        if result.message:
            self.message, self.refused = result.message, not result.ok
        doc = result.document or {}
        if "receipt_no" in doc:
            self.e_receipt = e_receipt_link(self.reads, self.daemon.settings, doc)
        elif result.ok:
            self.e_receipt = ""  # the till moved on: the next customer must not scan the last one's receipt
        if "report" in doc:
            report = doc["report"]
            title = self.labels("x_report" if report.title == "X" else "z_close")
            self.push_screen(ReportDialog(self, title, render_text(shift_report(report, self.daemon.settings),
                                                                   self.paper_cells())))
        if self.order is not None and doc.get("kind") in ("sale", "cancel"):
            order, self.order = self.order, None
            if doc["kind"] == "sale":
                at = doc["completed_at"]
                self.spawn(self.daemon.run_in_worker(
                    lambda: delivery_orders.mark_paid(self.daemon.store, order.order_no, doc["receipt_no"], at=at)))
        self.refresh_sale()

    # --- menus

    def open_menu(self) -> None:
        if self.daemon.session.state is State.TENDERING:
            self.push_screen(MenuDialog(self, self.labels("tender"), self.tender_options()))
        else:
            self.push_screen(MenuDialog(self, self.labels("menu"), self.main_options()))

    def main_options(self) -> list[tuple[str, Any]]:
        l = self.labels
        return [
            (l("returns"), lambda: self.push_screen(ReturnsDialog(self))),
            (l("member_lookup"), lambda: self.push_screen(MemberDialog(self))),
            (l("resume"), self.open_resume),
            (l("open_shift"), lambda: self.push_screen(AmountDialog(
                self, l("opening_float"), lambda amount: self.perform("open_shift", opening_float=amount)))),
            (l("x_report"), lambda: self.perform("x_report")),
            (l("z_close"), lambda: self.push_screen(AmountDialog(
                self, l("counted_cash"), lambda amount: self.perform("close_shift", counted=amount)))),
            (l("sign_out"), lambda: self.perform("sign_out")),
        ]

    def tender_options(self) -> list[tuple[str, Any]]:
        l = self.labels
        options: list[tuple[str, Any]] = []
        if self.has_drawer():
            for n, amount in enumerate(quick_amounts(self.daemon.till.remaining(), self.exponent)):
                label = f"{l('cash_exact')} {self.money(amount)}" if n == 0 else f"{l('cash_next')} {self.money(amount)}"
                options.append((label, lambda amount=amount: self.perform("tender", kind="cash", amount=amount)))
        else:
            options.append((l("cash_exact"), lambda: self.perform("tender", kind="cash")))
        options += [
            (l("points"), lambda: self.push_screen(AmountDialog(
                self, l("points"), lambda amount: self.perform("tender", kind="points", amount=amount), optional=True))),
            (l("remove_payment"), self.remove_last_payment),
            (l("back_to_items"), lambda: self.perform("back")),
        ]
        return options

    async def remove_last_payment(self) -> None:
        sale = self.daemon.till.sale
        await self.perform("remove_payment", index=len(sale.payments) - 1 if sale and sale.payments else 0)

    def open_resume(self) -> None:
        rows = [(sale_id, f"{label}  {self.money(total)}  {at[11:16]}")
                for sale_id, label, total, at in self.daemon.till.suspended()]
        self.push_screen(ChoiceDialog(self, self.labels("resume"), rows,
                                      lambda sale_id: self.perform("resume", sale_id=sale_id),
                                      self.labels("no_suspended")))

    # --- drawing

    @property
    def exponent(self) -> int:
        return self.daemon.settings.currency.exponent

    def money(self, amount: int) -> str:
        return format_amount(amount, self.exponent)

    def amount(self, text: str) -> int:
        return KeyEntry._number(text, self.exponent, "amount")

    def has_drawer(self) -> bool:
        """Quick cash amounts are for a till with a drawer; the portable takes cash into the courier's bag."""
        return self.profile == "fixed" and self.daemon.manager.first("drawer") is not None

    def paper_cells(self) -> int:
        return 36 if self.profile == "portable" else self.daemon.settings.receipt.width

    def cells(self) -> int:
        return max(20, self.size.width - 2)

    def refresh_sale(self) -> None:
        screen = self.sale_screen
        if not screen.is_mounted:
            return
        l, daemon = self.labels, self.daemon
        state = daemon.session.state
        operator = daemon.till.operator.name if daemon.till.operator else "-"
        shop = "" if self.profile == "portable" else f"{daemon.settings.shop.name} | "
        screen.query_one("#header", Static).update(f" {shop}{l('operator')}: {operator} | {l('states.' + state.value)}")
        screen.query_one("#cart", Static).update(self.cart_text())
        screen.query_one("#totals", Static).update(self.totals_text())
        tender = screen.query_one("#tender", Static)
        tender.set_class(state in (State.TENDERING, State.CARD), "shown")
        tender.update(self.tender_text() if daemon.till.sale is not None else "")
        message = screen.query_one("#message", Static)
        message.update(self.message or (l("sign_in_hint") if state is State.LOCKED else ""))
        message.set_class(self.refused, "refused")
        screen.query_one("#entry", Static).update(self.entry_text())
        self.draw_status()

    def cart_text(self) -> str | Text:
        sale = self.daemon.till.sale
        if sale is None or not sale.lines:
            return self.e_receipt_text() if self.e_receipt else self.labels("no_sale")
        cells = self.cells()
        amount_cells, qty_cells = 10, 6
        name_cells = cells - amount_cells - qty_cells - 4
        l = self.labels
        rows = [f"{'#':>2} {pad(l('item'), name_cells)}{pad(l('qty'), qty_cells, 'right')} "
                f"{pad(l('amount'), amount_cells, 'right')}"]
        for priced in self.daemon.till.priced().lines:
            line = priced.line
            rows.append(f"{line.line_no:>2} {pad(fit(line.name, name_cells), name_cells)}"
                        f"{quantity_text(line.quantity, line.unit):>{qty_cells}} "
                        f"{self.money(priced.result.amount):>{amount_cells}}")
        return "\n".join(rows)

    def e_receipt_text(self) -> Text:
        """The QR code of the receipt just printed, for a customer to scan off the screen (the portable's
        courier turns it round); a screen too small to draw it readably shows the link instead."""
        rows = qr.half_blocks(qr.qr_matrix(self.e_receipt))
        caption = self.labels("e_receipt")
        room = self.sale_screen.query_one("#cart", Static).size
        if len(rows) + 1 > room.height or len(rows[0]) > room.width:
            return Text(f"{caption}: {self.e_receipt}")
        text = Text(caption)
        for row in rows:
            text.append("\n")
            text.append(row, style="#000000 on #ffffff")
        return text

    def totals_text(self) -> str:
        sale = self.daemon.till.sale
        l = self.labels
        if sale is None:
            return ""
        priced = self.daemon.till.priced()
        saved = priced.totals.discount + sum(p.promo_discount for p in priced.lines)
        member = sale.member_name or l("none")
        return (f"{l('total')} {self.money(priced.total)}  {l('savings')} {self.money(saved)}  "
                f"{l('member')}: {member}")

    def tender_text(self) -> str:
        l, till = self.labels, self.daemon.till
        sale = till.sale
        due = till.remaining()
        paid = sum(p.amount for p in sale.payments)
        rows = [f"{l('tender')}: {l('to_pay')} {self.money(due)}  {l('paid')} {self.money(paid)}"]
        rows += [f"  {p.kind} {self.money(p.amount)}" for p in sale.payments]
        if self.has_drawer():
            quick = quick_amounts(due, self.exponent)
            rows.append(f"{l('quick_cash')} (MENU): " + "  ".join(
                f"{n}. {l('exact') + ' ' if n == 1 else ''}{self.money(a)}" for n, a in enumerate(quick, 1)))
        elif self.profile == "portable":
            rows.append(l("no_drawer"))
        rows.append(l("tender_keys"))
        return "\n".join(rows)

    def entry_text(self) -> str:
        keys = self.daemon.keys
        typed = keys.entry
        if self.daemon.session.state in (State.LOCKED, State.OVERRIDE) and keys.code:
            typed = "*" * len(typed)  # the PIN after the operator code: never on screen
        quantity = f"  QTY {keys.quantity / 1000:g}" if keys.quantity else ""
        return f"{self.labels('entry')}: {typed}_{quantity}"

    async def refresh_status(self) -> None:
        """Gather the device and queue state off the loop (the printer is asked), then draw it."""
        if self._status_lock.locked():
            return
        async with self._status_lock:
            settings = self.daemon.settings
            self.status = await asyncio.to_thread(
                status_mod.gather, self.daemon.manager, self.reads, host_configured=bool(settings.payments.host),
                exponent=settings.currency.exponent, power_supply=self.power_supply,
                sync_state=SyncState.beside(settings.database_path) if settings.sync.url else None,
                outbox_alert=settings.sync.outbox_alert)
        self.draw_status()

    def draw_status(self) -> None:
        screen = self.sale_screen
        if not screen.is_mounted or self.status is None:
            return
        widget = screen.query_one("#status", Static)
        text, alarm = self.status_text(self.status)
        widget.update(text)
        widget.set_class(alarm, "alarm")

    def status_text(self, s: status_mod.Status) -> tuple[Text, bool]:
        l = self.labels
        printer = {"paper_out": l("paper_out"), "paper_low": l("paper_low"), "offline": l("offline"),
                   "none": l("none")}.get(s.printer, l("ok"))
        reader = l("ok") if s.card_reader == "ok" else l("offline") if s.card_reader == "offline" else l("none")
        host = {"online": l("online"), "offline": l("offline"), "no_host": l("no_host")}[s.host]
        alarm = s.printer in ("paper_out", "offline") or s.host == "offline"
        text = Text()
        parts = [
            (f"{l('printer')}: {printer}", s.printer in ("paper_out", "offline")),
            (f"{l('card_reader')}: {reader}", s.card_reader == "offline"),
            (f"{l('network')}: {host}", s.host == "offline"),
            (f"{l('uploads')}: {s.uploads}", bool(s.sync_alert or s.sync_error)),
            (f"{l('reversals')}: {s.reversals}", s.reversals > 0),
        ]
        if self.profile == "portable":  # the courier must see at a glance that sales are waiting to go out
            offline = s.host != "online"
            parts = [(f"{l('offline') if offline else l('online')}: {s.waiting} {l('waiting')}", offline),
                     parts[0], parts[1], parts[4]]
        if s.battery is not None:
            charging = {"Charging": l("charging"), "Full": l("full")}.get(s.battery.status, l("on_battery"))
            parts.append((f"{l('battery')} {s.battery.capacity}% {charging}", s.battery.capacity <= 15))
        for n, (part, bad) in enumerate(parts):
            text.append(" | " if n else " ")
            text.append(part, style="bold red" if bad else "")
        if s.banner:
            text.append("\n " + s.banner, style="bold")
        if s.sync_alert:  # selling goes on; the operator must know head office is far behind
            text.append(f"\n {l('sync_behind').format(count=s.uploads, alert=s.sync_alert)}", style="bold red")
        elif s.sync_error:
            last = s.sync_last[:16].replace("T", " ") or l("never")
            text.append(f"\n {l('sync_error').format(last=last)}: {s.sync_error[:120]}", style="bold")
        return text, alarm
