"""Check and store one terminal upload: signature, gzip, JSON shape, then each event once with its chain links checked.

The contract (issue 8): the body is gzip of {"device", "events": [...]}, signed with
HMAC-SHA256 under the device's secret over the raw (still gzipped) body, so the signature
is checked before a single byte is unzipped or parsed. Idempotency key is (device, seq).
A chain problem never refuses an event: the event is stored and the problem recorded, so
head office holds everything the terminal sent and can show where its journal disagrees.
"""

from __future__ import annotations

import hmac
import json
import re
import zlib
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, Callable

from appliance.store import journal
from hq.errors import Malformed, TooLarge, Unauthorized
from hq import projection, projection_feeds
from hq.projection import Projection
from hq.storage import Event, Problem, SqlStorage

MAX_UNZIPPED = 16 * 1024 * 1024  # a batch bigger than this is a zip bomb or an outbox bug
HEX_HASH = re.compile(r"[0-9a-f]{64}\Z")  # SHA-256, lower-case hex, as the terminal's journal writes it
GAP, BROKEN, CONFLICT = "gap before", "chain broken", "conflict"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
MAX_SEQ = 2**62  # inside BIGINT with room for seq + 1; no till lives that long


@dataclass
class Outcome:
    """The 200 answer: the terminal marks `stored`, `duplicates` and `conflicts` sent, nothing else.

    A conflict (a seq resent with content other than the copy held) is confirmed too:
    head office keeps its copy and records the problem for a technician, and resending
    could never change that.
    """

    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    last_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "last_seq": self.last_seq,
            "problems": [{"seq": p.seq, "problem": p.problem} for p in self.problems],
        }


def sign(secret: bytes, body: bytes) -> str:
    """The X-Signature of a body: hex HMAC-SHA256 under the device secret."""
    return hmac.new(secret, body, sha256).hexdigest()


def authenticate(storage: SqlStorage, device: str | None, signature: str | None, body: bytes) -> str:
    """The device id, once it is known to be enrolled, not revoked, and to have signed `body`.

    Unknown and revoked share one answer: a caller without the secret learns nothing
    about which device ids exist.
    """
    if not device:
        raise Unauthorized("the X-Device header is missing", where="X-Device")
    if not signature:
        raise Unauthorized("the X-Signature header is missing", where="X-Signature")
    secret = storage.secret_of(device)
    if secret is None:
        raise Unauthorized("this device is not enrolled or was revoked: enrol it again", where="X-Device")
    # compare_digest: a plain == leaks, through timing, how many leading characters match.
    if not hmac.compare_digest(sign(secret, body), signature.strip().lower()):
        raise Unauthorized("the signature does not match the body: check the device secret", where="X-Signature")
    return device


def gunzip(body: bytes, limit: int = MAX_UNZIPPED) -> bytes:
    """Unzip a gzip body, refusing anything else and anything that unzips beyond `limit`."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: gzip header and trailer only
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise Malformed(f"the body is not gzip ({exc})", where="body") from None
    if inflater.unconsumed_tail:
        raise TooLarge(f"the body unzips to more than {limit} bytes: send smaller batches", where="body")
    if not inflater.eof:
        raise Malformed("the gzip body is truncated", where="body")
    return data


_JSON_NAMES = {int: "an integer", str: "a string", dict: "an object", list: "an array"}


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages read by the terminal's developer."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number with a fraction"
    return _JSON_NAMES[type(value)]


def _field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in obj:
        raise Malformed(f"{where}.{name} is missing", where=f"{where}.{name}")
    value = obj[name]
    # bool is an int in Python but never a seq; JSON true is a sender bug.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Malformed(f"{where}.{name} must be {_JSON_NAMES[kind]}, not {_json_type(value)}",
                        where=f"{where}.{name}")  # fmt: skip
    return value



def _event(raw: Any, where: str, float_free: bool) -> Event:
    if not isinstance(raw, dict):
        raise Malformed(f"{where} must be an object", where=where)
    seq = _field(raw, "seq", int, where)
    if not 1 <= seq <= MAX_SEQ:
        raise Malformed(f"{where}.seq must be from 1 to {MAX_SEQ}, not {seq}", where=f"{where}.seq")
    hashes = {}
    for name in ("prev_hash", "hash"):
        hashes[name] = _field(raw, name, str, where)
        if not HEX_HASH.match(hashes[name]):
            raise Malformed(f"{where}.{name} must be 64 lower-case hex digits", where=f"{where}.{name}")
    payload = _field(raw, "payload", dict, where)
    try:
        # The journal's own canonical spelling and chain hash (one definition, shared with
        # the terminal): the text held is the text the terminal hashed, and it must match.
        text = journal.canonical_float_free(payload) if float_free else journal.canonical(payload)
    except (ValueError, TypeError) as exc:
        raise Malformed(f"{where}.payload cannot be held exactly ({exc})", where=f"{where}.payload") from None
    event = Event(seq=seq, at=_field(raw, "at", str, where), kind=_field(raw, "kind", str, where),
                  ref=_field(raw, "ref", str, where), payload=text, document=payload, **hashes)
    expected = journal.entry_hash(bytes.fromhex(event.prev_hash), seq, event.at, event.kind, event.ref, text).hex()
    if expected != event.hash:
        raise Malformed(f"{where}.hash does not match the event's content: altered in transit or on the terminal",
                        where=f"{where}.hash")
    return event


def load_object(data: bytes, *, parse_float: Callable[[str], Any] = float) -> dict[str, Any]:
    """A request body that must be a JSON object of valid Unicode (what every endpoint takes)."""
    try:
        doc = json.loads(data, parse_float=parse_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"the body is not JSON ({exc})", where="body") from None
    if not isinstance(doc, dict):
        raise Malformed("the body must be a JSON object", where="body")
    # JSON may spell a lone UTF-16 surrogate ("\ud800"), which no database column can hold.
    # Only a \u escape can make one (the bytes were decoded as strict UTF-8), so the
    # whole-document check runs only when the body has such an escape.
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed("the body holds a lone surrogate (\\udXXX): text must be valid Unicode",
                            where="body") from None  # fmt: skip
    return doc


def parse(data: bytes, device: str) -> list[Event]:
    """The events of an unzipped body, in strictly increasing seq order, for `device`."""
    floats: list[str] = []
    doc = load_object(data, parse_float=lambda text: floats.append(text) or float(text))
    if _field(doc, "device", str, "body") != device:
        raise Malformed("body.device does not match the X-Device header", where="body.device")
    events = [_event(raw, f"events[{i}]", not floats) for i, raw in enumerate(_field(doc, "events", list, "body"))]
    for i in range(1, len(events)):
        if events[i].seq <= events[i - 1].seq:
            raise Malformed(f"events must be in increasing seq order: {events[i].seq} after {events[i - 1].seq}",
                            where=f"events[{i}].seq")  # fmt: skip
    return events


def _problems(events: list[Event], new: set[int], conflicts: set[int],
              before: dict[int, tuple[str, str]]) -> list[Problem]:  # fmt: skip
    """The chain problems this batch reveals, in seq order.

    `before` holds (prev_hash, hash) of the seqs around the batch as stored before it.
    A resent event with other content than the copy held is a conflict (the terminal's
    journal was rewritten or restored from an old backup; the held copy is kept). A new
    event is checked against seq-1 (held before or new in this batch) and, when it fills
    a gap, seq+1 held before is checked against it.
    """
    hashes = {seq: pair[1] for seq, pair in before.items()}
    hashes.update((e.seq, e.hash) for e in events if e.seq in new)
    problems = []
    for event in events:
        if event.seq not in new:
            if event.seq in conflicts:
                problems.append(Problem(event.seq, CONFLICT))
            continue
        if event.seq > 1:
            prev = hashes.get(event.seq - 1)
            if prev is None:
                problems.append(Problem(event.seq, GAP))
            elif prev != event.prev_hash:
                problems.append(Problem(event.seq, BROKEN))
        after = before.get(event.seq + 1)
        if after is not None and after[0] != event.hash:
            problems.append(Problem(event.seq + 1, BROKEN))
    return problems


def store(storage: SqlStorage, device: str, events: list[Event]) -> Outcome:
    """Store each event once, derive its report rows, record the chain problems, and say what happened."""
    outcome = Outcome()
    with storage.batch(device) as batch:
        seqs = {e.seq for e in events}
        before = batch.held(seqs | {s - 1 for s in seqs if s > 1} | {s + 1 for s in seqs})
        new = set(batch.insert_new(events))
        rows = Projection()
        for event in events:
            if event.seq in new:
                outcome.stored.append(event.seq)
                projection.add(rows, event.seq, event.kind, event.document)
                projection_feeds.add(rows, event.kind, event.at, event.document)
            elif before[event.seq][1] == event.hash:
                outcome.duplicates.append(event.seq)
            else:
                outcome.conflicts.append(event.seq)
        outcome.problems = _problems(events, new, set(outcome.conflicts), before)
        batch.project(rows)
        batch.flag(outcome.problems)
        outcome.last_seq = batch.advance() if new else batch.last_seq
    return outcome


def ingest(storage: SqlStorage, device: str | None, signature: str | None, encoding: str | None, body: bytes) -> Outcome:
    """The whole of POST /v1/ingest after the HTTP layer: authenticate, unzip, parse, store."""
    device = authenticate(storage, device, signature, body)
    if (encoding or "").strip().lower() != "gzip":
        raise Malformed("Content-Encoding must be gzip", where="Content-Encoding")
    return store(storage, device, parse(gunzip(body), device))
