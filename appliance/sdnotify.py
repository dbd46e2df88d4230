"""The systemd notification protocol (sd_notify) without libsystemd: one datagram per state change.

systemd passes the socket in $NOTIFY_SOCKET (a path, or "@name" for the abstract
namespace) and the watchdog period in $WATCHDOG_USEC (for $WATCHDOG_PID). The daemon
says READY=1 once it can sell, STATUS= lines for `systemctl status`, WATCHDOG=1 from its
event loop (so a hung loop, not just a dead process, gets restarted) and STOPPING=1 on
the way out. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from typing import Mapping


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        for_us = env.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid())
        self.watchdog_usec = int(usec) if usec.isdigit() and for_us else 0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def watchdog_interval(self) -> float | None:
        """How often to send WATCHDOG=1: half the period systemd waits (sd_watchdog_enabled(3))."""
        return self.watchdog_usec / 2_000_000 if self.watchdog_usec else None

    def send(self, **fields: str) -> bool:
        """KEY=value lines in one datagram; False (never an exception) when systemd is not listening."""
        if not self.enabled:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never block the event loop on a notify socket nobody reads (systemd busy, a test).
                sock.sendto(message, socket.MSG_DONTWAIT, self.address)
        except OSError:
            return False  # systemd restarted or the socket went away: the next state will try again
        return True

    def ready(self, status: str = "") -> bool:
        return self.send(READY="1", **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG="1")

    def stopping(self, status: str = "") -> bool:
        return self.send(STOPPING="1", **({"STATUS": status} if status else {}))
