"""Run a device's input loop on a thread of its own, as the device manager does, for tests.

`running(device)` yields a Run that records what the loop emits; leaving the block sets
the stop flag, joins the thread and re-raises whatever the loop raised. Waits are bounded
by WAIT but end as soon as their condition holds: tests wait for events, never for time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from appliance.hal.base import InputDevice
from appliance.hal.events import Event

WAIT = 5.0  # only a broken test waits this long


class Run:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failure: BaseException | None = None
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def emit(self, event: Event) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[Event]:
        """Wait until the loop has emitted `count` events; returns them all."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.events) >= count or self.failure is not None, WAIT), (
                f"expected {count} events, got {self.events}"
            )
        if self.failure is not None:
            raise self.failure
        return list(self.events)

    def wait_ended(self) -> None:
        """Wait for the loop to end by itself (it raised, or found nothing to do)."""
        assert self.thread is not None
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "run() did not end"


@contextmanager
def running(device: InputDevice) -> Iterator[Run]:
    run = Run()

    def loop() -> None:
        try:
            device.run(run.emit, run.stop)
        except BaseException as exc:  # handed to the test thread
            with run.changed:
                run.failure = exc
                run.changed.notify_all()

    run.thread = threading.Thread(target=loop, name=f"run {device.name}", daemon=True)
    run.thread.start()
    try:
        yield run
    finally:
        run.stop.set()
        run.thread.join(WAIT)
    assert not run.thread.is_alive(), "run() did not stop"
    if run.failure is not None:
        raise run.failure
