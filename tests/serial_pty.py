"""Test helpers that play a serial device on the master side of a real pseudo-terminal.

The driver opens the slave path through its serial:// address, so pyserial really runs;
the test writes what the device would send to the master and reads what the driver sent.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from appliance.hal import registry
from appliance.hal.base import Device


class Pty:
    """A pseudo-terminal pair; `path` is the port a driver opens."""

    def __init__(self) -> None:
        master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)  # the driver opens the slave by its path, as it would /dev/ttyUSB0
        self.master: int | None = master

    def url(self, options: str = "") -> str:
        return f"serial://{self.path}" + (f"?{options}" if options else "")

    def send(self, data: bytes) -> None:
        """What the device puts on the wire."""
        assert self.master is not None
        os.write(self.master, data)

    def received(self, wait: float = 1.0, quiet: float = 0.05) -> bytes:
        """What the driver sent: all bytes until the line has been quiet for `quiet` s."""
        assert self.master is not None
        data = bytearray()
        timeout = wait
        while select.select([self.master], [], [], timeout)[0]:
            chunk = os.read(self.master, 4096)
            if not chunk:
                break
            data += chunk
            timeout = quiet
        return bytes(data)

    def unplug(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None


@pytest.fixture
def pty() -> Iterator[Pty]:
    port = Pty()
    yield port
    port.unplug()


@pytest.fixture
def build() -> Iterator[Callable[[str, str, str], Any]]:
    """Build a driver through the registry, as the daemon does, and open it; closed after the test."""
    devices: list[Device] = []

    def make(name: str, kind: str, url: str) -> Any:
        device = registry.create(name, kind, url)
        device.open()
        devices.append(device)
        return device

    yield make
    for device in devices:
        device.close()


class DeviceScript:
    """A request/answer device on the master side: each command it reads gets its next scripted answer.

    `end` is the byte that closes a command (None: every byte is a command, as Toledo's
    'W'). An answer of None stays silent; the last answer repeats when `repeat` is set.
    """

    def __init__(self, pty: Pty, end: bytes | None):
        self.pty = pty
        self.end = end
        self.answers: dict[bytes, list[bytes | None]] = {}
        self.repeat = False
        self.commands: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="device-script", daemon=True)

    def on(self, command: bytes, *answers: bytes | None) -> DeviceScript:
        self.answers.setdefault(command, []).extend(answers)
        return self

    def __enter__(self) -> DeviceScript:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(2)

    def _serve(self) -> None:
        pending = bytearray()
        master = self.pty.master
        assert master is not None
        while not self.stop.is_set():
            if not select.select([master], [], [], 0.02)[0]:
                continue
            try:
                pending += os.read(master, 256)
            except OSError:  # the driver closed the port
                return
            for command in self._commands(pending):
                self.commands.append(command)
                script = self.answers.get(command)
                if not script:
                    continue
                answer = script[0] if self.repeat and len(script) == 1 else script.pop(0)
                if answer is not None:
                    os.write(master, answer)

    def _commands(self, pending: bytearray) -> list[bytes]:
        if self.end is None:
            found = [bytes([b]) for b in pending]
            pending.clear()
            return found
        found = []
        while (i := pending.find(self.end)) >= 0:
            found.append(bytes(pending[: i + 1]))
            del pending[: i + 1]
        return found


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Block until `condition()` holds (something another thread does); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def settle() -> None:
    """Let a reader thread take what was written so far, so the next write is a separate read."""
    time.sleep(0.1)
