"""The operator console (textual): the sale, tender, returns, members, suspended sales, shifts, device status."""

from appliance.display.console.app import ConsoleApp

__all__ = ["ConsoleApp"]
