"""`appliance tlv HEX`: decode a card trace into a tree with EMV tag names (sensitive data masked)."""

from __future__ import annotations

import argparse
import json
import re

from appliance.emv import trace, tlv
from appliance.errors import InputError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("tlv", help="decode BER-TLV (EMV) data given in hex")
    parser.add_argument("hex", nargs="+", help="the data in hex; spaces and colons are ignored")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--max-depth", type=int, default=16, help="deepest template nesting accepted (default 16)")
    parser.set_defaults(func=decode_hex)


def parse_hex(text: str) -> bytes:
    """Hex as technicians paste it ("6F 1A 84 07 ...", "6f:1a:..."), with the bad character named."""
    cleaned = re.sub(r"[\s:]", "", text)
    bad = re.search(r"[^0-9A-Fa-f]", cleaned)
    if bad:
        raise InputError(f"{bad.group()!r} is not a hex digit", where=f"hex character {bad.start() + 1}")
    if len(cleaned) % 2:
        raise InputError("an odd number of hex digits: a byte is cut in half", where=f"hex character {len(cleaned)}")
    return bytes.fromhex(cleaned)


def decode_hex(args: argparse.Namespace) -> int:
    data = parse_hex(" ".join(args.hex))
    nodes = tlv.decode(data, max_depth=max(0, args.max_depth))
    if args.json:
        print(json.dumps(trace.as_json(nodes), indent=2))
    else:
        print("\n".join(trace.lines(nodes)))
    return 0
