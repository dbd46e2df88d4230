"""Head office's catalog feed: products and prices, applied through the catalog import.

Head office wins: a product it sends replaces the local one (name, price, barcodes...).
Each page goes through the same checks as a merchant's CSV file, with this terminal's
own rules (tax classes, currency, in-store label ranges), so a row this terminal cannot
sell is refused with the import's reason and the others still apply.
"""

from __future__ import annotations

import csv
import io

from appliance.config import Settings
from appliance.core.catalog_csv import COLUMNS, Rules, import_csv
from appliance.store.db import Store
from appliance.sync.feeds import Item


def apply(store: Store, settings: Settings, items: list[Item], at: str) -> list[str]:
    refused = [f"catalog {item.key}: head office removed it; publish the row with active 0 instead"
               for item in items if item.body is None]  # fmt: skip
    rows = [item for item in items if item.body is not None]
    if not rows:
        return refused
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in rows:
        writer.writerow([str(item.body.get(column, "")) for column in COLUMNS])
    result = import_csv(store, io.BytesIO(text.getvalue().encode("utf-8")), Rules.of(settings), at=at,
                        skip_bad=True, name=f"head office catalog v{rows[0].version}-v{rows[-1].version}")  # fmt: skip
    # Line 1 is the header: line n is rows[n - 2].
    return refused + [f"catalog {rows[e.line - 2].key}: {e.column}: {e.reason}" for e in result.errors]
