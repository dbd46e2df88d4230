"""Readable card traces for technicians: a TLV tree with tag names, sensitive data masked.

Used by `appliance tlv` and by every log line that shows card data; nothing here ever
prints a full PAN, track data, a cardholder name or PIN data.
"""

from __future__ import annotations

from typing import Any, Sequence

from appliance.emv.tags import SENSITIVE, TAGS, name_of, tag_hex
from appliance.emv.tlv import Node


def masked_pan(digits: str) -> str:
    """First 6 and last 4 digits, the rest as asterisks (PCI DSS 3.4)."""
    if len(digits) < 11:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def shown_value(node: Node) -> str:
    """The value as a person may see it: text for text formats, hex otherwise, masked when sensitive."""
    if node.tag == 0x5A:
        return masked_pan(node.value.hex().upper().rstrip("F"))
    if node.tag in SENSITIVE:
        return f"<{len(node.value)} bytes masked>"
    known = TAGS.get(node.tag)
    if known and known.format in ("an", "ans") and all(0x20 <= b < 0x7F for b in node.value):
        return repr(node.value.decode("ascii"))
    return node.value.hex().upper()


def lines(nodes: Sequence[Node], indent: int = 0) -> list[str]:
    out = []
    for node in nodes:
        head = f"{'  ' * indent}{tag_hex(node.tag)} {name_of(node.tag)} [{len(node.value)}]"
        if node.constructed:
            out.append(head)
            out += lines(node.children, indent + 1)
        else:
            out.append(f"{head} {shown_value(node)}")
    return out


def as_json(nodes: Sequence[Node]) -> list[dict[str, Any]]:
    return [
        {
            "tag": tag_hex(node.tag),
            "name": name_of(node.tag),
            "offset": node.start,
            "length": len(node.value),
            **({"children": as_json(node.children)} if node.constructed else {"value": shown_value(node)}),
        }
        for node in nodes
    ]
