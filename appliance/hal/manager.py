"""The device manager: builds drivers, runs input devices on threads, keeps every device's state.

Every device may be absent, unplugged or failing; the till keeps selling. An input
device's thread opens it, runs its read loop, and on any device error reports it
offline and tries again with exponential backoff (with jitter, capped). Output devices
are used through `use()`, which marks them offline on failure and online again on the
next success. A udev "add" (see hotplug.py) or `retry_now()` cuts the wait short, so a
replugged scanner works at once. Events go to `emit`, which the daemon points at an
asyncio queue (`asyncio_emitter`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, TypeVar

from appliance.hal import registry
from appliance.hal.base import Device, InputDevice
from appliance.hal.drawer_printer import link
from appliance.hal.errors import DeviceConfigError, HalError
from appliance.hal.events import DeviceOffline, DeviceOnline, Event

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DeviceState:
    name: str
    kind: str
    address: str
    required: bool
    device: Device | None = None
    online: bool = False
    last_error: str = ""
    changed_at: float = field(default_factory=time.monotonic)


def asyncio_emitter(loop: asyncio.AbstractEventLoop, queue: "asyncio.Queue[Event]") -> Callable[[Event], None]:
    """An emit function safe to call from device threads: events land on the loop's queue."""

    def emit(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    return emit


class DeviceManager:
    def __init__(
        self,
        specs: Iterable[tuple[str, str, str, bool]],
        emit: Callable[[Event], None],
        *,
        backoff: tuple[float, float] = (0.5, 30.0),
        factory: Callable[[str, str, str], Device] = registry.create,
    ):
        """`specs`: (name, kind, address, required) per configured device."""
        self.emit = emit
        self.backoff = backoff
        self.states: dict[str, DeviceState] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        for name, kind, address, required in specs:
            state = DeviceState(name, kind, address, required)
            try:
                state.device = factory(name, kind, address)
            except HalError as exc:
                state.last_error = str(exc)
            self.states[name] = state
        link({name: s.device for name, s in self.states.items() if s.device is not None})

    # --- state

    def _mark(self, state: DeviceState, online: bool, detail: str) -> None:
        with self._lock:
            changed = state.online != online or (not online and state.last_error != detail)
            state.online = online
            if online:
                state.last_error = ""
            else:
                state.last_error = detail
            if changed:
                state.changed_at = time.monotonic()
        if changed:
            log.info("device %s %s%s", state.name, "online" if online else "offline", f": {detail}" if detail else "")
            self.emit(DeviceOnline(state.name, detail=detail) if online else DeviceOffline(state.name, reason=detail))

    def device(self, name: str) -> Device | None:
        state = self.states.get(name)
        return state.device if state else None

    def first(self, kind: str) -> DeviceState | None:
        return next((s for s in self.states.values() if s.kind == kind and s.device is not None), None)

    def missing_required(self) -> list[DeviceState]:
        return [s for s in self.states.values() if s.required and not s.online]

    # --- running

    def start(self) -> None:
        for state in self.states.values():
            device = state.device
            if device is None:
                continue
            runs = isinstance(device, InputDevice) or callable(getattr(device, "run", None))
            if runs:
                thread = threading.Thread(target=self._input_loop, args=(state,), name=f"device-{state.name}", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._try_open(state)

    def _try_open(self, state: DeviceState) -> bool:
        assert state.device is not None
        try:
            state.device.open()
        except HalError as exc:
            self._mark(state, False, str(exc))
            return False
        self._mark(state, True, state.device.info)
        return True

    def _input_loop(self, state: DeviceState) -> None:
        device = state.device
        assert device is not None
        delay = self.backoff[0]
        while not self._stop.is_set():
            if self._try_open(state):
                delay = self.backoff[0]
                try:
                    device.run(self.emit, self._stop)  # type: ignore[attr-defined]
                except HalError as exc:
                    self._mark(state, False, str(exc))
                except Exception as exc:  # a driver bug must not kill the thread silently
                    log.exception("device %s failed unexpectedly", state.name)
                    self._mark(state, False, f"driver error: {exc!r}")
                finally:
                    device.close()
                if self._stop.is_set():
                    break
            self._sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    def _sleep(self, delay: float) -> None:
        """Wait before retrying, with jitter; a hotplug event or stop ends the wait early."""
        self._wake.wait(delay * random.uniform(0.8, 1.2))
        self._wake.clear()

    def watch_hotplug(self) -> bool:
        """Retry offline devices the moment udev reports something plugged in; False without udev."""
        from appliance.hal.hotplug import Hotplug

        self.hotplug = Hotplug(lambda action, path: self.retry_now() if action == "add" else None)
        try:
            self.hotplug.start()
        except HalError as exc:
            log.warning("%s", exc)
            return False
        return True

    def retry_now(self) -> None:
        """Something was plugged in: retry offline devices now instead of after their backoff."""
        self._wake.set()
        for state in self.states.values():
            if state.device is not None and not state.online and not isinstance(state.device, InputDevice):
                self._try_open(state)

    def use(self, name: str, action: Callable[[Device], T]) -> T:
        """Run `action` on an output device, keeping its online state; the HalError is re-raised."""
        state = self.states[name]
        if state.device is None:
            raise HalError(state.last_error or "not configured", device=name)
        if not state.online and not self._try_open(state):
            raise HalError(state.last_error, device=name)
        try:
            result = action(state.device)
        except DeviceConfigError:
            raise  # a wrong request (an unknown signal pattern), not a failing device
        except HalError as exc:
            self._mark(state, False, str(exc))
            state.device.close()
            raise
        self._mark(state, True, state.device.info)
        return result

    def stop(self) -> None:
        hotplug = getattr(self, "hotplug", None)
        if hotplug is not None:
            hotplug.stop()
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for state in self.states.values():
            if state.device is not None:
                try:
                    state.device.close()
                except HalError as exc:
                    log.warning("closing %s: %s", state.name, exc)
