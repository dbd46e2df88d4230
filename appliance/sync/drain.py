"""One sync pass: send the outbox to head office batch by batch until it is empty or a send fails.

Only seqs head office lists as stored, duplicates or conflicts are marked sent: a lost answer leaves
the batch unsent, the resend comes back as duplicates and is marked then, so an event
is never lost and never stored twice (idempotency key = device, seq).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from appliance.config import Settings
from appliance.native.secret import Secret
from appliance.store.db import Store
from appliance.sync.client import (SyncError, SyncProtocolError, SyncTooLarge, SyncUnreachable, backoff, read_secret,
                                   send_batch)
from appliance.sync.outbox import SyncState, mark_sent, record_last_seq, unsent


@dataclass(frozen=True)
class Target:
    """Where and as whom to send: from the [sync] configuration and the device secret file."""

    url: str
    device: str
    secret: Secret
    batch_max_events: int
    timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "Target":
        """The configured head office and this device's credentials (the secret file must exist)."""
        return cls(url=settings.sync.url, device=settings.device.id,
                   secret=read_secret(settings.resolve(settings.sync.device_secret_file)),
                   batch_max_events=settings.sync.batch_max_events, timeout_s=settings.sync.timeout_s)


@dataclass(frozen=True)
class DrainResult:
    sent: int  # events newly confirmed by head office in this pass
    batches: int
    error: SyncError | None = None


def drain(
    store: Store,
    state: SyncState,
    target: Target,
    *,
    now: Callable[[], str],
    attempts: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> DrainResult:
    """Send until the outbox is empty; an unreachable head office is retried `attempts` times with backoff.

    A rejection (401/400) or a protocol error is not retried: sending the same bytes again
    cannot fix it. Every failure is recorded in `state` for `appliance sync status`.
    """
    sent = batches = 0
    limit = target.batch_max_events
    while events := unsent(store.conn, limit):
        try:
            result = _send_with_retries(target, events, attempts, sleep)
        except SyncTooLarge as exc:
            if len(events) > 1:
                limit = len(events) // 2  # the same events again, in halves, for the rest of this pass
                continue
            state.error(now(), f"event {events[0]['seq']} alone is larger than head office accepts: {exc}")
            return DrainResult(sent, batches, exc)
        except SyncError as exc:
            state.error(now(), str(exc))
            return DrainResult(sent, batches, exc)
        batches += 1
        in_batch = {event["seq"] for event in events}
        # A conflict is confirmed too: head office keeps the copy it had and flags it for a
        # technician; sending ours again could never change that, and the journal keeps ours.
        confirmed = sorted(in_batch.intersection((*result.stored, *result.duplicates, *result.conflicts)))
        sent += mark_sent(store, confirmed, now())
        record_last_seq(store, result.last_seq)
        if result.problems:
            # A gap or broken chain at head office needs a technician, but the events it
            # did confirm are safe there: keep them marked and report.
            described = ", ".join(f"seq {p.get('seq')}: {p.get('problem')}" for p in result.problems[:5])
            state.error(now(), f"head office reports {described}")
        if not confirmed:
            error = SyncProtocolError(
                f"head office confirmed none of seqs {events[0]['seq']}-{events[-1]['seq']}; they stay queued"
            )
            state.error(now(), str(error))
            return DrainResult(sent, batches, error)
    state.success(now(), sent)
    return DrainResult(sent, batches)


def _send_with_retries(target: Target, events: list[dict], attempts: int, sleep: Callable[[float], None]):
    for attempt in range(attempts):
        try:
            return send_batch(target.url, target.device, target.secret, events, timeout=target.timeout_s)
        except SyncUnreachable:
            if attempt + 1 >= attempts:
                raise
            sleep(backoff(attempt))
    raise ValueError("attempts must be at least 1")
