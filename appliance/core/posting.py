"""Posting a sale document: the single transaction behind "sale complete", a refund or a void.

Within one event it takes the next receipt number, writes the document's rows, runs
each tender's side effects (which may refer to those rows), writes the stock moves and
journals the document itself. If
any step refuses (a voucher used meanwhile on another till), nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from appliance.core.clock import iso
from appliance.core.ids import receipt_number
from appliance.core.tenders import Payment, Tender
from appliance.store import documents
from appliance.store.db import Store

STOCK_SIGN = {"sale": -1, "return": 1, "void": 1, "cancel": 0}

# What else a posted document changes in the same transaction (stock alerts, loyalty
# points): called with the connection, the document (which it may annotate before it is
# journaled, e.g. the points earned for the receipt) and the event time.
AfterPosting = Callable[[Any, dict[str, Any], str], None]


def post(
    store: Store,
    *,
    event_kind: str,
    doc: dict[str, Any],
    payments: Sequence[Payment],
    tenders: Mapping[str, Tender],
    at: datetime,
    restock: bool = True,
    first: Callable[[Any], None] | None = None,
    after: Sequence[AfterPosting] = (),
) -> dict[str, Any]:
    """Commit `doc` (without receipt number and payments yet); returns it completed.

    `first` runs first inside the transaction, under the write lock: it re-checks what
    the document was built on (another till may have refunded the same receipt since)
    and makes updates that belong to the same event (marking the original voided).
    """
    at_text = iso(at)
    with store.event(event_kind, ref=doc["id"], at=at_text) as event:
        conn = event.conn
        if first is not None:
            first(conn)
        doc["receipt_no"] = receipt_number(doc["device"], store.next_counter(conn, f"receipt:{doc['device']}"))
        doc["payments"] = [payment.as_row(seq) for seq, payment in enumerate(payments, start=1)]
        documents.insert(conn, doc, event.seq)
        for payment in payments:
            tenders[payment.kind].record(conn, payment, ref=doc["id"], at=at_text)
        sign = STOCK_SIGN[doc["kind"]]
        if sign > 0:
            # Said in the event so head office's stock by store follows this ledger (damaged
            # goods are refunded without going back on the shelf).
            doc["restocked"] = restock
        if sign and restock:
            conn.executemany(
                "INSERT INTO stock_moves (sku, quantity, kind, ref, at) VALUES (?, ?, ?, ?, ?)",
                [(line["sku"], sign * line["quantity"], doc["kind"], doc["id"], at_text) for line in doc["lines"]],
            )
        for effect in after:
            effect(conn, doc, at_text)
        event.payload = doc
    doc["journal_seq"] = event.seq
    return doc
