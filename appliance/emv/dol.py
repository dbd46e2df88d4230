"""Data object lists (PDOL, CDOL1, CDOL2, DDOL): what the card asks the terminal for, and the answer.

A DOL is a list of tag + length pairs; the terminal concatenates its values for those
tags, each cut or padded to the length asked (EMV Book 3 5.4: numeric values are
padded on the left with zeros and cut on the left, others padded on the right with
zeros and cut on the right; a tag the terminal does not know is sent as zeros).
"""

from __future__ import annotations

from typing import Mapping

from appliance.emv.tags import TAGS


class DolError(ValueError):
    pass


def parse(dol: bytes) -> list[tuple[int, int]]:
    """(tag, length) pairs; a DOL cut in the middle of an entry is refused."""
    entries = []
    i = 0
    while i < len(dol):
        start = i
        tag = dol[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while True:
                if i >= len(dol):
                    raise DolError(f"DOL ends inside the tag at byte {start}")
                tag = tag << 8 | dol[i]
                i += 1
                if not dol[i - 1] & 0x80:
                    break
        if i >= len(dol):
            raise DolError(f"DOL has no length for the tag at byte {start}")
        entries.append((tag, dol[i]))
        i += 1
    return entries


def build(dol: bytes, values: Mapping[int, bytes]) -> bytes:
    """The data the card asked for, in order, each fitted to its length."""
    out = bytearray()
    for tag, length in parse(dol):
        value = values.get(tag, b"")
        numeric = TAGS.get(tag) is not None and TAGS[tag].format == "n"
        if len(value) >= length:
            out += value[len(value) - length :] if numeric else value[:length]
        elif numeric:
            out += bytes(length - len(value)) + value
        else:
            out += value + bytes(length - len(value))
    return bytes(out)
