"""The daemon's uploader: whether a batch is due, sending it, and how long to wait before looking again.

It runs on a thread of its own with its own connection (SQLite allows the till's writer
and this one side by side in WAL mode; marking rows sent waits its turn), so a slow or
absent head office never holds up a sale. Failures back off with jitter; a missing
device secret is said once and retried rarely, since only a technician can fix it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.store.db import Store
from appliance.sync.client import backoff
from appliance.sync.drain import Target, drain
from appliance.sync.outbox import SyncState, batch_due, status

log = logging.getLogger(__name__)
IDLE_CHECK_S = 5.0
NOT_ENROLLED_CHECK_S = 300.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Uploader:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = SyncState.beside(settings.database_path)
        self.store: Store | None = None
        self.failures = 0

    def step(self) -> float:
        """Send what is due; the seconds to wait before the next step."""
        try:
            target = Target.from_settings(self.settings)
        except ApplianceError as exc:
            log.error("upstream sync waits for enrolment: %s", exc)
            return NOT_ENROLLED_CHECK_S
        if self.store is None:
            self.store = Store(self.settings.database_path)
        info = status(self.store.conn, self.state)
        if not batch_due(info.pending, info.oldest_pending, datetime.now(timezone.utc),
                         max_events=self.settings.sync.batch_max_events, max_age_s=self.settings.sync.batch_max_age_s):
            return IDLE_CHECK_S
        result = drain(self.store, self.state, target, now=_now)
        if result.error is None:
            self.failures = 0
            return IDLE_CHECK_S
        self.failures += 1
        log.warning("upstream sync: %s", result.error)
        return backoff(self.failures)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
