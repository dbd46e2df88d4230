"""The point-of-sale appliance: one daemon that runs a shop till on a single-board computer."""

__version__ = "0.1.0"
