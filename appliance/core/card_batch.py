"""End-of-day batch close with the acquirer: the till's card totals against the host's.

Before closing, everything the host must know is sent (reversals, offline advices):
totals that leave them out would never balance. The batch number is committed before
the request leaves, so a lost answer never makes two batches share a number; only an
in-balance answer ("00") settles the payments into the batch, and both outcomes are
journaled so an out-of-balance day is on record for the merchant and the acquirer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from appliance.core import host_queue
from appliance.core.card_host import Acquirer, HostDown, HostNoAnswer
from appliance.core.clock import iso
from appliance.emv.iso8583 import Totals
from appliance.errors import DomainError
from appliance.store.db import Store


@dataclass(frozen=True)
class BatchResult:
    batch: int
    totals: Totals
    tips: int
    response_code: str
    closed_at: str

    @property
    def in_balance(self) -> bool:
        return self.response_code == "00"


def open_totals(conn: sqlite3.Connection) -> tuple[Totals, int]:
    """Card payments (debits) and refunds (credits) not yet in a batch, reversed ones left out; and the tips."""
    rows = {kind: (count, amount, tips) for kind, count, amount, tips in conn.execute(
        "SELECT kind, count(*), coalesce(sum(amount), 0), coalesce(sum(tip), 0) FROM card_auths "
        "WHERE batch IS NULL AND reversed = 0 GROUP BY kind")}
    debit, credit = rows.get("sale", (0, 0, 0)), rows.get("refund", (0, 0, 0))
    return Totals(debit[0], debit[1], credit[0], credit[1]), debit[2]


def close(store: Store, acquirer: Acquirer, *, at: datetime) -> BatchResult:
    """Send what is queued, then the totals; raises DomainError (nothing settled) when the host cannot be asked."""
    drained = host_queue.drain(store, acquirer, now=at)
    waiting = host_queue.pending(store.conn)
    if waiting["reversal"] or waiting["advice"]:
        raise DomainError(
            f"the bank has not yet received {waiting['advice']} offline payment(s) and {waiting['reversal']} "
            f"reversal(s){': ' + drained.last_error if drained.last_error else ''}; close the batch once they are sent",
            code="batch_waiting")
    totals, tips = open_totals(store.conn)
    with store.atomic() as conn:
        batch = store.next_counter(conn, "card_batch")
    try:
        reply = acquirer.batch_close(batch, totals)
    except (HostDown, HostNoAnswer) as exc:
        raise DomainError(f"batch close failed: {exc}; try again", code="batch_failed") from exc
    closed_at = iso(at)
    result = BatchResult(batch, totals, tips, reply.response_code, closed_at)
    with store.event("card.batch_closed", ref=f"batch-{batch}", at=closed_at) as event:
        if result.in_balance:
            event.conn.execute("UPDATE card_auths SET batch = ? WHERE batch IS NULL", (batch,))
        event.payload = {"batch": batch, "response_code": reply.response_code, "debit_count": totals.debit_count,
                         "debit_amount": totals.debit_amount, "credit_count": totals.credit_count,
                         "credit_amount": totals.credit_amount, "tips": tips}
    return result
