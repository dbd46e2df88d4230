"""The daemon's sync thread: sending the outbox when a batch is due, pulling the feeds every `pull_every_s`.

It runs on a thread of its own with its own connection (SQLite allows the till's writer
and this one side by side in WAL mode; marking rows sent waits its turn), so a slow or
absent head office never holds up a sale. Failures back off with jitter; a missing
device secret is said once and retried rarely, since only a technician can fix it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Callable

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.store.db import Store
from appliance.sync.client import SyncError, backoff
from appliance.sync.drain import Target, drain
from appliance.sync.feeds import pull_all
from appliance.sync.outbox import SyncState, batch_due, status

log = logging.getLogger(__name__)
IDLE_CHECK_S = 5.0
NOT_ENROLLED_CHECK_S = 300.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Uploader:
    def __init__(self, settings: Settings, on_pulled: Callable[[str], None] = lambda feed: None):
        """`on_pulled(feed)` is called (on this thread) after a feed changed rows, e.g. to reload promotions."""
        self.settings = settings
        self.on_pulled = on_pulled
        self.state = SyncState.beside(settings.database_path)
        self.store: Store | None = None
        self.failures = 0
        self.next_pull = 0.0  # monotonic time of the next feed pull; at once after start

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
        if batch_due(info.pending, info.oldest_pending, datetime.now(timezone.utc),
                     max_events=self.settings.sync.batch_max_events, max_age_s=self.settings.sync.batch_max_age_s):
            result = drain(self.store, self.state, target, now=_now)
            if result.error is not None:
                return self._failed(result.error)
        if time.monotonic() >= self.next_pull:
            try:
                for pulled in pull_all(self.store, self.settings, target, now=_now):
                    for problem in pulled.refused:
                        log.warning("head office's %s feed: %s", pulled.feed, problem)
                    if pulled.applied:
                        self.on_pulled(pulled.feed)
            except SyncError as exc:
                self.state.error(_now(), str(exc))
                return self._failed(exc)
            self.next_pull = time.monotonic() + self.settings.sync.pull_every_s
        self.failures = 0
        return IDLE_CHECK_S

    def _failed(self, error: Exception) -> float:
        self.failures += 1
        log.warning("sync with head office: %s", error)
        return backoff(self.failures)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
