"""Devices appearing and disappearing, from udev events (pyudev), not by polling.

A device plugged in ("add" on tty, usb, input, hidraw or usbmisc) makes the manager retry
its offline devices at once; a removal needs nothing here, because the device's own
read fails and the manager marks it offline. Without udev (a container, a test machine)
the manager's backoff retries still bring devices back, only later.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from appliance.hal.errors import DeviceUnavailable

log = logging.getLogger(__name__)
SUBSYSTEMS = ("tty", "usb", "input", "hidraw", "usbmisc")


class Hotplug:
    def __init__(self, on_change: Callable[[str, str], None]):
        """`on_change(action, device path)` is called from pyudev's observer thread."""
        self.on_change = on_change
        self.observer: Any = None

    def handle(self, device: Any) -> None:
        """One udev event (a pyudev.Device with .action, .subsystem, .device_path)."""
        action = getattr(device, "action", None)
        if action not in ("add", "remove") or getattr(device, "subsystem", None) not in SUBSYSTEMS:
            return
        log.info("udev %s %s (%s)", action, device.device_path, device.subsystem)
        self.on_change(action, device.device_path)

    def start(self) -> None:
        try:
            import pyudev

            context = pyudev.Context()
            monitor = pyudev.Monitor.from_netlink(context)
            for subsystem in SUBSYSTEMS:
                monitor.filter_by(subsystem)
            self.observer = pyudev.MonitorObserver(monitor, callback=self.handle, name="udev-monitor")
            self.observer.start()
        except (ImportError, OSError) as exc:
            raise DeviceUnavailable(f"udev monitoring is not available ({exc}); devices come back by retrying") from exc

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer = None
