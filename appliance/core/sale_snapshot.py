"""The sale in progress, kept on disk at every change, so a till that loses power resumes the same sale.

The snapshot is a small JSON file beside the database, replaced atomically (write,
fsync, rename, fsync the folder) after each change: a scan, a void, a payment. It is
not a business event, and nothing in it is money until the sale commits. On restart:
- a snapshot whose sale is already in the database was committed just before the
  power went: it is dropped;
- card payments are not restored: their authorisations are reversed at start (the
  card tender's armed reversals), so the cashier takes payment again for that part;
- everything else (lines, member, discounts, cash and voucher payments taken) is back.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from appliance.core.sale import Sale
from appliance.core.tenders import Payment
from appliance.core.till import Till

NAME = "sale-in-progress.json"


@dataclass(frozen=True)
class Restored:
    sale_id: str
    lines: int
    payments: int
    reversed_cards: int  # card payments dropped (reversed at the bank)

    def message(self) -> str:
        text = f"the sale in progress before the restart is back: {self.lines} item line(s), {self.payments} payment(s)"
        if self.reversed_cards:
            text += f"; {self.reversed_cards} card payment(s) were reversed: take payment again"
        return text


class SaleSnapshot:
    def __init__(self, folder: Path):
        self.path = folder / NAME

    def save(self, till: Till) -> None:
        """Called by the till after every change; removes the file once no sale is in progress."""
        if till.sale is None:
            if self.path.exists():
                self.path.unlink()
                _fsync_dir(self.path.parent)
            return
        state = {"sale": till.sale.as_state(), "shift_id": till.shift_id,
                 "payments": [dataclasses.asdict(payment) for payment in till.sale.payments]}
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)

    def restore(self, till: Till) -> Restored | None:
        """Put the interrupted sale back into `till` (signed in or not); None when there was none."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.path.rename(self.path.with_suffix(".damaged"))  # kept for a technician, never half-restored
            return None
        sale = Sale.from_state(state["sale"])
        if till.store.scalar("SELECT 1 FROM sales WHERE id = ?", (sale.id,)):
            self.path.unlink()
            return None
        payments = [Payment(**payment) for payment in state["payments"]]
        kept = [payment for payment in payments if payment.kind != "card"]
        sale.payments.extend(kept)
        till.restore(sale, state["shift_id"])
        return Restored(sale.id, len(sale.lines), len(kept), len(payments) - len(kept))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
