"""Device errors by phase: configuration, opening, operating, waiting.

Each subclasses the matching built-in (ValueError, OSError, TimeoutError) and carries a
stable code and a message a technician can act on; the cause is chained with `from`.
"""

from __future__ import annotations


class HalError(Exception):
    code = "device"

    def __init__(self, message: str, *, device: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.device = device
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.device}: {self.message}" if self.device else self.message


class DeviceConfigError(HalError, ValueError):
    """A device address or option that cannot work: fix the configuration."""

    code = "device_config"


class DeviceUnavailable(HalError, OSError):
    """The device could not be opened: unplugged, no permission, not on this board."""

    code = "unavailable"


class NotOnThisBoard(DeviceUnavailable):
    """A driver for hardware this machine does not have (RPi.GPIO off a Raspberry Pi)."""

    code = "not_on_this_board"


class DeviceIOError(HalError, OSError):
    """The device failed while in use: unplugged mid-job, garbage on the line, paper out."""

    code = "io"


class DeviceTimeout(HalError, TimeoutError):
    """The device did not answer in time."""

    code = "timeout"
