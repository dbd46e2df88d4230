"""Messages the acquirer must receive eventually: reversals and offline advices, retried until acknowledged.

Reversals are armed *before* an authorisation is sent (the row is committed first, with
`next_attempt_at = ARMED`): if the till dies between the bank's approval and the sale's
commit, nothing else remembers that money was reserved on the customer's card. The
sale's transaction disarms it (`complete`); a payment handed back, a timeout or a
restart after a crash (`release_orphans`) makes it due. Advices (payments approved
offline) are queued inside the sale's transaction with the card number sealed to the
acquirer's key, so the till itself cannot read it back.

Sending retries with exponential backoff and jitter; a row is done only when the host
has answered. An advice the issuer declines is journaled and reported, never dropped.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from appliance.core.clock import iso
from appliance.store.db import Store

ARMED = "9999-12-31T00:00:00.000Z"  # sorts after every real time: never due until released
FIRST_RETRY_S = 10
MAX_RETRY_S = 900


class SendError(Exception):
    """The host did not acknowledge (unreachable, no answer, garbage); try again later."""


class Sender(Protocol):
    def reversal(self, payload: dict[str, Any]) -> str:
        """Send a reversal; the host's response code. Raises SendError when not acknowledged."""

    def advice(self, payload: dict[str, Any], sealed_card: bytes | None) -> str:
        """Upload an offline approval; the issuer's response code. Raises SendError when not acknowledged."""


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    declined: list[dict[str, Any]] = field(default_factory=list)  # advices the issuer refused
    last_error: str = ""


def arm_reversal(store: Store, *, stan: int, amount: int, payload: dict[str, Any], sale_id: str, at: datetime) -> None:
    """Committed before the authorisation request leaves the till."""
    with store.atomic() as conn:
        conn.execute(
            "INSERT INTO host_queue (kind, stan, amount, payload, next_attempt_at, created_at, sale_id) "
            "VALUES ('reversal', ?, ?, ?, ?, ?, ?)",
            (stan, amount, json.dumps(payload, sort_keys=True), ARMED, iso(at), sale_id),
        )


def make_due(store: Store, stan: int, *, reason: str, at: datetime) -> None:
    """The authorisation must be undone: send the reversal at the next drain."""
    with store.atomic() as conn:
        conn.execute(
            "UPDATE host_queue SET next_attempt_at = ?, result = ? WHERE kind = 'reversal' AND stan = ? AND done_at IS NULL",
            (iso(at), reason, stan),
        )


def drop_armed(store: Store, stan: int, *, reason: str, at: datetime) -> None:
    """The request never left the till (host unreachable): nothing to reverse."""
    with store.atomic() as conn:
        conn.execute(
            "UPDATE host_queue SET done_at = ?, result = ? WHERE kind = 'reversal' AND stan = ? AND next_attempt_at = ?",
            (iso(at), reason, stan, ARMED),
        )


def complete(conn: sqlite3.Connection, stan: int, *, at: str) -> None:
    """Inside the sale's transaction: the approved payment is kept, its reversal disarmed."""
    conn.execute(
        "UPDATE host_queue SET done_at = ?, result = 'completed' WHERE kind = 'reversal' AND stan = ? AND next_attempt_at = ?",
        (at, stan, ARMED),
    )


def queue_reversal(conn: sqlite3.Connection, *, stan: int, amount: int, payload: dict[str, Any], sale_id: str, at: str) -> None:
    """Inside a post-void's transaction: undo an approved payment of a completed sale."""
    conn.execute(
        "INSERT INTO host_queue (kind, stan, amount, payload, next_attempt_at, created_at, sale_id) "
        "VALUES ('reversal', ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, stan) DO UPDATE SET next_attempt_at = excluded.next_attempt_at, done_at = NULL, "
        "payload = excluded.payload, result = 'voided'",
        (stan, amount, json.dumps(payload, sort_keys=True), at, at, sale_id),
    )


def original_message(conn: sqlite3.Connection, stan: int) -> dict[str, Any]:
    """What was kept of the request with this STAN (its advice first, else its reversal row)."""
    row = conn.execute(
        "SELECT payload FROM host_queue WHERE stan = ? ORDER BY kind = 'advice' DESC, id DESC LIMIT 1", (stan,)
    ).fetchone()
    return json.loads(row[0]) if row else {}


def queue_advice(
    conn: sqlite3.Connection, *, stan: int, amount: int, payload: dict[str, Any], sealed_card: bytes, sale_id: str, at: str
) -> None:
    conn.execute(
        "INSERT INTO host_queue (kind, stan, amount, payload, sealed_card, next_attempt_at, created_at, sale_id) "
        "VALUES ('advice', ?, ?, ?, ?, ?, ?, ?)",
        (stan, amount, json.dumps(payload, sort_keys=True), sealed_card, at, at, sale_id),
    )


def cancel_advice(conn: sqlite3.Connection, stan: int, *, at: str) -> bool:
    """A post-void of an offline payment not yet uploaded: the money was never claimed."""
    return conn.execute(
        "UPDATE host_queue SET done_at = ?, result = 'voided before upload', sealed_card = NULL "
        "WHERE kind = 'advice' AND stan = ? AND done_at IS NULL",
        (at, stan),
    ).rowcount == 1


def release_orphans(store: Store, *, at: datetime) -> int:
    """At start-up: armed reversals of authorisations whose sale never committed become due."""
    with store.atomic() as conn:
        return conn.execute(
            "UPDATE host_queue SET next_attempt_at = ?, result = 'till restarted before the sale completed' "
            "WHERE kind = 'reversal' AND next_attempt_at = ? AND done_at IS NULL",
            (iso(at), ARMED),
        ).rowcount


def pending(conn: sqlite3.Connection) -> dict[str, int]:
    """Waiting messages by kind (armed reversals are not waiting: their sale is in progress)."""
    rows = conn.execute(
        "SELECT kind, count(*) FROM host_queue WHERE done_at IS NULL AND next_attempt_at != ? GROUP BY kind", (ARMED,)
    )
    return {"reversal": 0, "advice": 0, **dict(rows.fetchall())}


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before the next try: doubling from 10 s to 15 min, with full jitter on the upper half."""
    ceiling = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def drain(store: Store, sender: Sender, *, now: datetime, rng: random.Random | None = None, limit: int = 50) -> DrainReport:
    """Send what is due, reversals first (they release customers' money); stops at the first failure."""
    rng = rng or random.Random()
    report = DrainReport()
    rows = store.conn.execute(
        "SELECT id, kind, stan, amount, payload, sealed_card, attempts, sale_id FROM host_queue "
        "WHERE done_at IS NULL AND next_attempt_at <= ? ORDER BY kind DESC, id LIMIT ?",
        (iso(now), limit),
    ).fetchall()
    for row_id, kind, stan, amount, payload_text, sealed, attempts, sale_id in rows:
        payload = json.loads(payload_text)
        try:
            code = sender.reversal(payload) if kind == "reversal" else sender.advice(payload, sealed)
        except SendError as exc:
            report.failed += 1
            report.last_error = str(exc)
            retry_at = now + timedelta(seconds=backoff(attempts + 1, rng))
            with store.atomic() as conn:
                conn.execute(
                    "UPDATE host_queue SET attempts = attempts + 1, next_attempt_at = ?, result = ? WHERE id = ?",
                    (iso(retry_at), f"not acknowledged: {exc}", row_id),
                )
            break  # the host is down: the rest would fail the same way
        report.sent += 1
        at = iso(now)
        if kind == "advice" and code not in ("00", "Y1", "Y3"):
            declined = {"stan": stan, "amount": amount, "response_code": code, "sale_id": sale_id,
                        "masked_pan": payload.get("masked_pan", ""), "auth_id": payload.get("auth_id", "")}
            report.declined.append(declined)
            with store.event("card.advice_declined", ref=payload.get("auth_id", str(stan)), at=at) as event:
                _done(event.conn, row_id, code, at)
                event.payload = declined
        else:
            with store.atomic() as conn:
                _done(conn, row_id, code, at)
    return report


def _done(conn: sqlite3.Connection, row_id: int, code: str, at: str) -> None:
    # The sealed card number is only needed until the issuer has the advice.
    conn.execute("UPDATE host_queue SET done_at = ?, result = ?, attempts = attempts + 1, sealed_card = NULL WHERE id = ?",
                 (at, f"acknowledged {code}", row_id))
