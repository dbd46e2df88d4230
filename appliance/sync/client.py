"""HTTP client of the head office contract (docs/sync.md): enrolment, signed gzip batches, backoff.

Standard library only (urllib): the appliance image gains no dependency for this. Every
call has a timeout and raises a typed error, so the caller (the daemon's sync thread,
or `appliance sync now`) decides what to do and the till itself never waits on it.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import random
import socket
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any, Callable

from appliance.errors import ApplianceError, ConfigError
from appliance.native.secret import Secret


class SyncError(ApplianceError):
    """Sending to head office failed; the events stay queued and are sent again later."""

    code = "sync"


class SyncUnreachable(SyncError, ConnectionError):
    """No answer from head office (network down, timeout, connection closed): retry later."""

    code = "sync_unreachable"


class SyncRejected(SyncError, PermissionError):
    """Head office refused the request (401 signature/revoked, 400 malformed, 403 enrolment code)."""

    code = "sync_rejected"

    def __init__(self, message: str, *, status: int, where: str | None = None):
        super().__init__(message, where=where)
        self.status = status


class SyncTooLarge(SyncRejected):
    """Head office refused a batch as too large (413): the same events go again in smaller batches."""

    code = "sync_too_large"


class SyncProtocolError(SyncError, ValueError):
    """Head office answered something the contract does not allow: a software mismatch to report."""

    code = "sync_protocol"


@dataclass(frozen=True)
class IngestResult:
    stored: tuple[int, ...]
    duplicates: tuple[int, ...]
    conflicts: tuple[int, ...]  # head office holds other content for these seqs: confirmed, and reported
    last_seq: int
    problems: tuple[dict[str, Any], ...]


def backoff(attempt: int, *, base: float = 1.0, cap: float = 300.0, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): "full jitter".

    A uniform draw in [0, min(cap, base * 2**attempt)): after a head office outage every
    terminal of every shop retries at a different moment instead of all at once
    (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015).
    """
    if attempt < 0:
        raise ValueError("attempt must be 0 or more")
    ceiling = cap if attempt >= 64 else min(cap, base * 2**attempt)
    return rand() * ceiling


def sign(secret: Secret, raw: bytes) -> str:
    """Hex HMAC-SHA256 of the exact bytes sent (the gzip body), as X-Signature carries it."""
    return hmac.new(secret.reveal(), raw, hashlib.sha256).hexdigest()


def batch_body(device: str, events: list[dict[str, Any]]) -> bytes:
    """The ingest body: gzip of the JSON document; mtime 0 so the same batch is the same bytes."""
    text = json.dumps({"device": device, "events": events}, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode("utf-8"), mtime=0)


def read_secret(path: Path) -> Secret:
    """The device secret from its file: hex, readable by the appliance user only."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigError("no device secret: enrol this terminal with head office first", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the device secret: {exc}", where=str(path)) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError("the device secret is readable by other users; run chmod 600 on it", where=str(path))
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise ConfigError("the device secret is not hex; enrol this terminal again", where=str(path)) from None
    if len(value) < 16:
        raise ConfigError("the device secret is too short; enrol this terminal again", where=str(path))
    return Secret(value)


def write_secret(path: Path, secret: Secret) -> None:
    """Write the secret with mode 0600 from the first byte (never briefly world-readable), then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a leftover file
        os.write(fd, secret.reveal().hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def request_json(url: str, *, timeout: float, data: bytes | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """One request to head office (POST when `data` is given) and its JSON object answer, or a typed error.

    400/401/403/404 are refusals (sending the same again cannot help), 413 a batch too big
    (send it in smaller ones), anything else or no answer means try again later.
    """
    method = "POST" if data is not None else "GET"
    extra = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers={**extra, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        message = _server_message(exc.read())
        if exc.code == 413:
            raise SyncTooLarge(f"head office refused the batch as too large: {message}", status=413, where=url) from None
        if exc.code in (400, 401, 403, 404):
            raise SyncRejected(f"head office refused ({exc.code}): {message}", status=exc.code, where=url) from None
        raise SyncUnreachable(f"head office answered {exc.code}: {message}", where=url) from None
    except (urllib.error.URLError, HTTPException, socket.timeout, ConnectionError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, socket.timeout):  # "timed out" alone does not say which limit, nor that it can be changed
            raise SyncUnreachable(f"head office did not answer within {timeout:g} s: check the network, or raise "
                                  "[sync] timeout_s if head office is slow", where=url) from None
        raise SyncUnreachable(f"head office did not answer: {reason}", where=url) from None
    try:
        document = json.loads(raw)
    except ValueError:
        # Quote the answer: a captive portal's or a web server's page says what answers in head office's place.
        start = raw[:120].decode("utf-8", "replace")
        raise SyncProtocolError(f"head office answered with something that is not JSON ({start!r}): check that "
                                "[sync] url is head office's address", where=url) from None
    if not isinstance(document, dict):
        raise SyncProtocolError("head office answered with JSON that is not an object", where=url)
    return document


def _server_message(raw: bytes) -> str:
    try:
        document = json.loads(raw)
        return str(document.get("message") or document.get("error") or "no reason given")
    except (ValueError, AttributeError):
        return raw[:200].decode("utf-8", "replace") or "no reason given"


def _seqs(document: dict[str, Any], key: str, url: str) -> tuple[int, ...]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(type(seq) is int for seq in value):
        raise SyncProtocolError(f"head office's {key!r} is not a list of sequence numbers", where=url)
    return tuple(value)


@dataclass(frozen=True)
class Prepared:
    """A batch ready to post: the exact bytes and the headers that sign them."""

    device: str
    body: bytes
    headers: dict[str, str]


def prepare_batch(device: str, secret: Secret, events: list[dict[str, Any]]) -> Prepared:
    """Zip and sign a batch once; the same bytes may be posted again after a lost answer."""
    body = batch_body(device, events)
    return Prepared(device, body, {"X-Device": device, "X-Signature": sign(secret, body), "Content-Encoding": "gzip"})


def post_batch(url: str, batch: Prepared, *, timeout: float) -> IngestResult:
    """POST a prepared batch to /v1/ingest; returns what head office says it now holds."""
    endpoint = f"{url}/v1/ingest"
    document = request_json(endpoint, data=batch.body, headers=batch.headers, timeout=timeout)
    last_seq = document.get("last_seq")
    problems = document.get("problems", [])
    if type(last_seq) is not int or not isinstance(problems, list):
        raise SyncProtocolError("head office's answer lacks last_seq or problems", where=endpoint)
    return IngestResult(_seqs(document, "stored", endpoint), _seqs(document, "duplicates", endpoint),
                        _seqs(document, "conflicts", endpoint), last_seq,
                        tuple(p for p in problems if isinstance(p, dict)))


def send_batch(url: str, device: str, secret: Secret, events: list[dict[str, Any]], *, timeout: float) -> IngestResult:
    """Prepare and post one batch."""
    return post_batch(url, prepare_batch(device, secret, events), timeout=timeout)


def enroll(url: str, code: str, device: str, secret_file: Path, *, timeout: float = 10.0) -> None:
    """Trade a one-time enrolment code for this terminal's secret and write it to `secret_file`."""
    endpoint = f"{url}/v1/enroll"
    body = json.dumps({"code": code, "device": device}).encode("utf-8")
    document = request_json(endpoint, data=body, timeout=timeout)
    if document.get("device") != device:
        raise SyncProtocolError(f"head office enrolled device {document.get('device')!r}, not {device!r}", where=endpoint)
    try:
        secret = bytes.fromhex(str(document.get("secret", "")))
    except ValueError:
        raise SyncProtocolError("head office's secret is not hex", where=endpoint) from None
    if len(secret) != 32:
        raise SyncProtocolError("head office's secret is not 32 bytes", where=endpoint)
    write_secret(secret_file, Secret(secret))
