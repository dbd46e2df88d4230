"""BER-TLV objects as a tree, decoded through the native hot path, and encoded back.

The native decoder (C when built) returns flat records in document order; this module
turns them into nodes a flow can search. Malformed data raises NativeError (an
InputError) with the error and the byte offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from appliance import native


@dataclass(frozen=True)
class Node:
    tag: int
    start: int  # offset of the tag in the decoded data
    offset: int  # offset of the value
    value: bytes
    constructed: bool
    children: tuple["Node", ...] = ()

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()


def decode(data: bytes, max_depth: int = 16) -> list[Node]:
    """The top-level objects of `data`, each with its children."""
    data = bytes(data)
    flat = native.tlv_decode(data, max_depth)
    records = list(zip(*[iter(flat)] * 6))
    return _build(data, records, 0, len(records), 0)[0]


def _build(data: bytes, records: Sequence[tuple], i: int, end: int, depth: int) -> tuple[list[Node], int]:
    nodes = []
    while i < end and records[i][1] == depth:
        tag, _, offset, length, constructed, start = records[i]
        i += 1
        children: list[Node] = []
        if constructed:
            children, i = _build(data, records, i, end, depth + 1)
        nodes.append(Node(tag, start, offset, data[offset : offset + length], bool(constructed), tuple(children)))
    return nodes, i


def find(nodes: Sequence[Node], tag: int) -> Node | None:
    """The first object with `tag`, searching templates depth first."""
    for node in nodes:
        for found in node.walk():
            if found.tag == tag:
                return found
    return None


def encode(tag: int, value: bytes) -> bytes:
    """One object in BER-TLV with the shortest length form (EMV allows up to 4 length bytes here)."""
    tag_bytes = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return tag_bytes + length + bytes(value)


def encode_all(objects: Iterable[tuple[int, bytes]]) -> bytes:
    """(tag, value) pairs encoded one after the other, in order (a template's value, field 55)."""
    return b"".join(encode(tag, value) for tag, value in objects)
