"""The composition root: devices from the configuration, the till, the session, the loop. It knows everything.

One asyncio loop owns the flow. Device threads (hal) put events on the loop's queue;
the loop turns each into a session Action and runs it on one worker thread, so the
store has one writer and a card payment (which blocks on the customer) never stops the
loop: while it runs, card, PIN and key events go to the PIN pad, and scans are refused
with a message. After each action the loop shows the customer display frame, beeps and
lights by the result, queues documents for the printer, and reports to systemd: READY
once selling is possible, WATCHDOG from the loop itself (a hung loop is restarted),
STATUS when devices change, STOPPING on SIGTERM after the current action finished.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from appliance.config import Settings
from appliance.core import host_queue
from appliance.core.clock import Clock, SystemClock
from appliance.core.sale_snapshot import SaleSnapshot
from appliance.core.session import Action, KeyEntry, Result, Session, State
from appliance.core.till import Till
from appliance.core.wallet import WalletTender
from appliance.display import customer
from appliance.display.document import Blank, Qr, Text
from appliance.display.escpos import to_escpos
from appliance.display.receipt import receipt, receipt_context
from appliance.errors import ApplianceError
from appliance.hal.errors import HalError
from appliance.hal.events import (CardInserted, DeviceOffline, DeviceOnline, Event, KeyPressed, PinEntered,
                                  Scanned, Swiped)
from appliance.hal.manager import DeviceManager, asyncio_emitter
from appliance.hal.print_queue import PrintQueue
from appliance.pinpad import DevicePinPad
from appliance.sdnotify import Notifier
from appliance.store import documents
from appliance.store.db import Store

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, notifier: Notifier | None = None,
                 manager_factory: Callable[..., DeviceManager] = DeviceManager,
                 on_ready: Callable[[], object] | None = None):
        """`on_ready` runs (on a thread) once the till is up and READY was sent: on a slot on trial it
        commits the update; when it raises, the daemon stops with an error (the slot rolls back)."""
        self.settings = settings
        self.on_ready = on_ready
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier()
        self.store = Store(settings.database_path, synchronous=settings.store.synchronous, checkpoint="idle")
        self.data_dir = Path(settings.database_path).parent
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: "asyncio.Queue[Event]" = asyncio.Queue()
        self.manager = manager_factory(
            [(spec.name, spec.kind, spec.address, spec.required) for spec in settings.devices],
            self._emit)
        self.pinpad = DevicePinPad(
            show=self.show, reader=lambda: self._device("card_reader"), keypad=lambda: self._device("keypad"),
            exponent=settings.currency.exponent, columns=self._display_columns(), chinese=self._display_chinese(),
            tip_percentages=settings.payments.tip_percentages if settings.payments.tips == "prompt" else ())
        extra = {}
        if settings.payments.host:
            from appliance.core import card_setup  # the card stack (RSA, PIN keys) loads only when cards are taken

            extra["card"] = card_setup.card_tender(settings, self.store, self.pinpad, self.clock)
        if settings.payments.wallet == "sim://wallet":
            from acquirer.wallet import WalletSimulator  # the reference provider: demos and tests

            self.wallet_provider = WalletSimulator()
            extra["wallet"] = WalletTender(self.wallet_provider, show_qr=self._show_payment_qr)
        self.till = Till(settings, self.store, self.clock, extra_tenders=extra)
        self.snapshot = SaleSnapshot(self.data_dir)
        self.till.on_change = self._keep_snapshot
        self.session = Session(self.till, on_change=self._state_changed)
        self.keys = KeyEntry(settings.currency.exponent)
        self.prints = PrintQueue(self.data_dir / "print")
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="till")
        self.results: list[Callable[[Result], None]] = []  # the operator console subscribes here
        # The console may take a scanned code before it becomes a sale scan (a receipt to return, a delivery order).
        # The console may take a scan or a keypad key before it becomes an action (a receipt
        # barcode for its return dialog, the keypad's MENU key, keys while its dialog is open).
        self.claims: list[Callable[[Event], bool]] = []
        self._stopping = asyncio.Event()
        self._busy = False

    # --- lifecycle

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():  # signals reach only the main thread;
            for sig in (signal.SIGTERM, signal.SIGINT):  # a daemon run on another (tests) is stopped by stop()
                self.loop.add_signal_handler(sig, self._stopping.set)
        self.manager.start()
        self.manager.watch_hotplug()
        self.show(customer.welcome(self.settings.shop.name, self._display_columns(), self._display_chinese()))
        await self.run_in_worker(self._catch_up_receipts)  # receipts the power cut off print now
        restored = await self.run_in_worker(lambda: self.snapshot.restore(self.till))
        if restored is not None:
            self._publish(Result(True, self.session.state, restored.message(), "attention"), output=True)
        self.notifier.ready(self._status())
        if self.on_ready is not None:
            await asyncio.to_thread(self.on_ready)
        api = await self._start_api()
        tasks = [asyncio.create_task(self._dispatch_events()), asyncio.create_task(self._watchdog()),
                 asyncio.create_task(self._drain_host_queue()), asyncio.create_task(self._sync_upstream())]
        await self._stopping.wait()
        self.notifier.stopping("finishing the current action")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if api is not None:
            await api.cleanup()
        self.worker.shutdown(wait=True)  # the action in progress (a commit) completes
        self.manager.stop()
        self.store.close()

    async def _start_api(self) -> Any:
        """The local API when enabled; a port in use costs the API, never the selling."""
        if not self.settings.api.enabled:
            return None
        from appliance.api.server import start  # aiohttp loads only when the API is on

        try:
            return await start(self)
        except OSError as exc:
            log.error("local API not started on %s:%s: %s", self.settings.api.bind, self.settings.api.port, exc)
            self.notifier.status(f"{self._status()}; local API down: {exc.strerror or exc}")
            return None

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)

    def _emit(self, event: Event) -> None:
        if self.loop is None:
            return  # events before the loop runs (a device opened at start-up) carry nothing to act on
        asyncio_emitter(self.loop, self.events)(event)

    # --- events to actions

    async def _dispatch_events(self) -> None:
        # Each event is handled in its own task: an action waiting on the worker (a card
        # payment waits for the customer) must not keep the loop from routing the card,
        # PIN and key events that payment is waiting for. The one worker keeps actions in order.
        handling: set[asyncio.Task] = set()
        while True:
            event = await self.events.get()
            task = asyncio.create_task(self._handle_safely(event))
            handling.add(task)
            task.add_done_callback(handling.discard)

    async def _handle_safely(self, event: Event) -> None:
        try:
            await self.handle_event(event)
        except Exception:  # one bad event must never take the till down
            log.exception("event %r could not be handled", type(event).__name__)

    async def handle_event(self, event: Event) -> Result | None:
        if isinstance(event, (DeviceOnline, DeviceOffline)):
            self.notifier.status(self._status())
            return None
        if self.pinpad.offer(event):
            return None
        if isinstance(event, PinEntered):
            return None  # a PIN nobody asked for: dropped, never stored
        if self._busy or self.session.state is State.CARD:
            return self._publish(Result(False, self.session.state, "a card payment is in progress: wait for it",
                                        "error"), output=True)
        action = self._action_for(event)
        if action is None:
            return None
        return await self.perform(action)

    def _action_for(self, event: Event) -> Action | None:
        if isinstance(event, (Scanned, KeyPressed)) and any(claim(event) for claim in self.claims):
            return None
        if isinstance(event, Scanned):
            quantity, self.keys.quantity = self.keys.quantity, None
            return Action.of("scan", code=event.code, quantity=quantity)
        if isinstance(event, KeyPressed):
            try:
                return self.keys.press(event.key, self.session.state)
            except ApplianceError as exc:
                self._publish(Result(False, self.session.state, exc.message, "error"), output=True)
                return None
        if isinstance(event, (CardInserted, Swiped)) and self.session.state in (State.IN_SALE, State.TENDERING):
            self.pinpad.preload(event)  # the customer did not wait for the cashier: pay what is due by card
            return Action.of("tender", kind="card")
        return None

    async def perform(self, action: Action) -> Result:
        """Run one action on the worker (the store's one writer), show and print its result there, tell listeners."""
        self._busy = action.name == "tender" and action.args.get("kind") == "card"
        try:
            result = await self.run_in_worker(lambda: self._act(action))
        finally:
            self._busy = False
        return self._publish(result)

    def _act(self, action: Action) -> Result:
        # On the worker: outputs happen in the order of the actions, after what the action itself
        # showed (the PIN pad's prompts during a card payment).
        result = self.session.handle(action)
        self._output(result)
        if result.document is not None and "receipt_no" in result.document:
            self.print_document(result.document)
        return result

    # --- outputs

    def _output(self, result: Result) -> None:
        self._signal(result.signal)
        frame = self._frame(result.display)
        if frame:
            self.show(frame)

    def _publish(self, result: Result, *, output: bool = False) -> Result:
        """Tell the console and the log; `output` also beeps and shows (for refusals made on the loop)."""
        if output:
            self._output(result)
        if result.message:
            log.info("%s: %s", result.state.value, result.message)
        for listener in self.results:
            listener(result)
        return result

    def _frame(self, display: tuple[Any, ...]) -> tuple[str, ...] | None:
        if not display:
            return None
        columns, chinese, exp = self._display_columns(), self._display_chinese(), self.settings.currency.exponent
        e_receipt = self.settings.receipt.digital
        kind, *values = display
        frames = {
            "item": lambda: customer.item(values[0], values[1], values[2], exp, columns, chinese),
            "total": lambda: customer.total(values[0], exp, columns, chinese),
            "paid": lambda: customer.paid(values[0], values[1], exp, columns, chinese),
            "change": lambda: customer.change(values[0], exp, columns, chinese, e_receipt=e_receipt),
            "thanks": lambda: customer.thanks(columns, chinese, e_receipt=e_receipt),
        }
        return frames.get(kind, lambda: customer.welcome(self.settings.shop.name, columns, chinese))()

    def show(self, frame: tuple[str, ...]) -> None:
        self._use("display", lambda display: display.show(frame))

    def _signal(self, pattern: str) -> None:
        self._use("indicator", lambda indicator: indicator.signal(pattern))

    def _show_payment_qr(self, payload: str) -> None:
        """A merchant-presented wallet payment: the QR goes on paper (our customer displays show text only)."""
        columns, chinese = self._display_columns(), self._display_chinese()
        self.show((("请扫码支付" if chinese else "SCAN QR TO PAY")[:columns],
                   ("见小票" if chinese else "ON THE SLIP")[:columns]))
        self.print_slip([Text("请扫码支付 Scan to pay", "center", bold=True), Qr(payload), Blank()])

    def print_slip(self, elements: list[Any]) -> bool:
        """Print something that is not a receipt (a payment QR, shelf labels) now; whether it printed.

        Not queued: a slip that could not print is asked for again by whoever wanted it.
        """
        state = self.manager.first("printer")
        if state is None:
            return False
        printer = state.device
        data = to_escpos(elements, columns=getattr(printer, "columns", 48), dots=getattr(printer, "dots", 576),
                         chinese=getattr(printer, "chinese", True))
        try:
            self.manager.use(state.name, lambda p: p.write(data))
        except HalError as exc:
            log.warning("printer: %s", exc)
            return False
        return True

    def print_document(self, doc: dict[str, Any]) -> None:
        """Queue a sale, return or void receipt and print what the printer can take now (call on the worker)."""
        elements = receipt(doc, self.settings, receipt_context(self.till, doc))
        printer = self._device("printer")
        columns = getattr(printer, "columns", self.settings.receipt.width)
        data = to_escpos(elements, columns=columns, dots=getattr(printer, "dots", 576),
                         chinese=getattr(printer, "chinese", True))
        self.prints.submit(doc["receipt_no"], data)
        self._pump_prints()

    def _catch_up_receipts(self) -> None:
        """Sales committed just before a crash whose receipt never reached the queue, then the queue itself."""
        known = self.prints.known()
        recent = self.store.conn.execute(
            "SELECT id FROM sales WHERE device = ? ORDER BY journal_seq DESC LIMIT 3", (self.till.device,)).fetchall()
        for (sale_id,) in reversed(recent):
            doc = documents.load(self.store.conn, sale_id=sale_id)
            if doc is not None and doc["receipt_no"] not in known and doc["kind"] != "cancel":
                log.info("receipt %s was committed but never printed: printing it now", doc["receipt_no"])
                self.print_document(doc)
        self._pump_prints()

    def _pump_prints(self) -> None:
        state = self.manager.first("printer")
        if state is not None:
            try:
                self.manager.use(state.name, self.prints.pump)
            except HalError as exc:
                log.warning("receipt waits in the print queue: %s", exc)

    # --- background duties

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval or 5.0
        while True:
            self.notifier.watchdog()  # sent by the loop itself: a loop that hangs stops sending
            await asyncio.sleep(interval)

    async def _drain_host_queue(self) -> None:
        """Reversals and offline advices to the acquirer, every 30 s, beside the till (a bank that does
        not answer holds this thread for its timeout, never the worker a sale needs)."""
        acquirer = getattr(self.till.tenders.get("card"), "acquirer", None)
        if acquirer is None:
            return
        connection: list[Store] = []

        def step() -> float:
            if not connection:
                connection.append(Store(self.settings.database_path))
            host_queue.drain(connection[0], acquirer, now=self.clock.now())
            return 30.0

        await self._beside("host-queue", step, lambda: [store.close() for store in connection], first_wait=30.0)

    async def _sync_upstream(self) -> None:
        """The outbox to head office, beside the till: sync never holds up a sale."""
        if not self.settings.sync.url:
            return
        from appliance.sync import upstream  # loaded only when a head office is configured

        loop = self.loop
        assert loop is not None

        def pulled(feed: str) -> None:
            if feed == "promotions":  # the till keeps its promotions in memory: take the new ones
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.run_in_worker(self.till.reload_promotions)))

        uploader = upstream.Uploader(self.settings, on_pulled=pulled)
        await self._beside("sync", uploader.step, uploader.close)

    async def _beside(self, name: str, step: Callable[[], float], close: Callable[[], Any], *,
                      first_wait: float = 0.0) -> None:
        """Run `step` over and over on a thread of its own (with its own database connection, which
        SQLite's WAL mode allows beside the till's writer); `step` returns the seconds to wait."""
        assert self.loop is not None
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        try:
            await asyncio.sleep(first_wait)
            while True:
                await asyncio.sleep(await self.loop.run_in_executor(executor, step))
        finally:
            await self.loop.run_in_executor(executor, close)
            executor.shutdown(wait=False)

    # --- helpers

    def _keep_snapshot(self, till: Till) -> None:
        try:
            self.snapshot.save(till)
        except OSError as exc:  # selling goes on; only the crash recovery of this sale is at risk
            log.error("cannot keep the sale in progress on disk (%s): a power cut would lose it", exc)

    async def run_in_worker(self, call: Callable[[], Any]) -> Any:
        """Run `call` on the till's one worker thread: the store's single writer, in order with the actions."""
        assert self.loop is not None
        return await self.loop.run_in_executor(self.worker, call)

    def _state_changed(self, state: State) -> None:
        # The LEDs hold a waiting state (a card, a supervisor) or the locked till; an action's
        # own result beeps ok or error, so a plain state change adds no second beep.
        if state in (State.CARD, State.OVERRIDE):
            self._signal("attention")
        elif state is State.LOCKED:
            self._signal("idle")

    def _device(self, kind: str) -> Any:
        state = self.manager.first(kind)
        return state.device if state is not None else None

    def _use(self, kind: str, action: Callable[[Any], Any]) -> None:
        state = self.manager.first(kind)
        if state is None:
            return
        try:
            self.manager.use(state.name, action)
        except HalError as exc:
            log.warning("%s: %s", kind, exc)

    def _display_columns(self) -> int:
        return getattr(self._device("display"), "columns", 20)

    def _display_chinese(self) -> bool:
        return bool(getattr(self._device("display"), "chinese", False))

    def _status(self) -> str:
        missing = [state.name for state in self.manager.missing_required()]
        return f"selling; missing: {', '.join(missing)}" if missing else "selling"
