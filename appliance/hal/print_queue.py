"""A durable print queue: a receipt that cannot print now is kept, and never printed twice by itself.

Each job is a file, and its folder is its state:
- pending/   written (fsync + rename) before `submit` returns; printed in order when the
             printer is ready;
- sending/   moved here just before its bytes go out. If the printer fails mid-job, or
             the power goes while printing, the job stays here as "interrupted": it may
             be partly or wholly on paper, so it is not retried automatically. The
             operator reprints it (marked COPY) or discards it;
- done/      printed; the newest are kept for "reprint last receipt".
A job id given twice is printed once (the second submit is a duplicate).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from appliance.hal.base import Printer
from appliance.hal.errors import DeviceIOError, DeviceUnavailable, HalError

log = logging.getLogger(__name__)
STATES = ("pending", "sending", "done")


@dataclass(frozen=True)
class Job:
    id: str
    seq: int
    state: str  # "pending", "interrupted" (in sending/) or "done"
    size: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PrintQueue:
    def __init__(self, folder: Path, *, keep_done: int = 20):
        self.folder = Path(folder)
        self.keep_done = keep_done
        for state in STATES:
            (self.folder / state).mkdir(parents=True, exist_ok=True)
        self._seq = max((job.seq for job in self._all()), default=0)

    # --- reading the state

    def _jobs(self, state: str) -> list[Job]:
        jobs = []
        for path in (self.folder / state).iterdir():
            seq, _, job_id = path.name.partition("-")
            if not seq.isdigit() or not job_id:
                continue  # a temp file or something left by hand
            shown = "interrupted" if state == "sending" else state
            jobs.append(Job(job_id, int(seq), shown, path.stat().st_size))
        return sorted(jobs, key=lambda job: job.seq)

    def _all(self) -> list[Job]:
        return [job for state in STATES for job in self._jobs(state)]

    def known(self) -> set[str]:
        """Ids of every job the queue holds, in any state (the newest done ones are kept)."""
        return {job.id for job in self._all()}

    def pending(self) -> list[Job]:
        return self._jobs("pending")

    def interrupted(self) -> list[Job]:
        return self._jobs("sending")

    def done(self) -> list[Job]:
        return self._jobs("done")

    def _path(self, state: str, job: Job) -> Path:
        return self.folder / state / f"{job.seq:012d}-{job.id}"

    # --- changing it

    def submit(self, job_id: str, data: bytes) -> bool:
        """Keep `data` durably for printing; False when this job id was already submitted."""
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise ValueError(f"job id {job_id!r} cannot name a file")
        if any(job.id == job_id for job in self._all()):
            return False
        self._seq += 1
        job = Job(job_id, self._seq, "pending", len(data))
        tmp = self.folder / f".{job.seq:012d}-{job_id}.tmp"
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self._path("pending", job))
        _fsync_dir(self.folder / "pending")
        return True

    def _move(self, job: Job, source: str, target: str) -> Job:
        os.replace(self._path(source, job), self._path(target, job))
        _fsync_dir(self.folder / target)
        return job

    def pump(self, printer: Printer) -> int:
        """Print pending jobs in order while the printer is ready; returns how many printed.

        Stops at the first job that cannot go out. A job the printer never started is
        still pending; one it failed in the middle of is interrupted.
        """
        printed = 0
        for job in self.pending():
            status = printer.status()
            if not status.ready:
                log.info("printer %s not ready (online=%s paper=%s cover_open=%s): %d job(s) wait",
                         printer.name, status.online, status.paper, status.cover_open, len(self.pending()))
                break
            data = self._path("pending", job).read_bytes()
            self._move(job, "pending", "sending")
            try:
                printer.write(data)
            except DeviceUnavailable:
                self._move(job, "sending", "pending")  # nothing reached the printer: it will print later
                raise
            except HalError as exc:
                log.warning("print job %s interrupted: %s; reprint it as a copy or discard it", job.id, exc)
                raise
            self._move(job, "sending", "done")
            printed += 1
        self._prune()
        return printed

    def reprint(self, job_id: str, banner: bytes) -> str:
        """Queue a marked copy of a printed or interrupted job; returns the copy's job id."""
        source = next((j for j in self.done() + self.interrupted() if j.id == job_id), None)
        if source is None:
            raise DeviceIOError(f"no printed or interrupted job {job_id} to reprint", code="no_job")
        state = "done" if source.state == "done" else "sending"
        data = self._path(state, source).read_bytes()
        copies = sum(1 for job in self._all() if job.id.startswith(f"{job_id}.copy"))
        copy_id = f"{job_id}.copy{copies + 1}"
        self.submit(copy_id, banner + data)
        if state == "sending":
            self._move(source, "sending", "done")  # the copy replaces the interrupted print
        return copy_id

    def reprint_last(self, banner: bytes) -> str:
        done = [job for job in self.done() if ".copy" not in job.id]
        if not done:
            raise DeviceIOError("nothing has been printed yet", code="no_job")
        return self.reprint(done[-1].id, banner)

    def discard(self, job_id: str) -> None:
        """The operator decided an interrupted job needs no reprint."""
        job = next((j for j in self.interrupted() if j.id == job_id), None)
        if job is None:
            raise DeviceIOError(f"no interrupted job {job_id}", code="no_job")
        self._move(job, "sending", "done")

    def _prune(self) -> None:
        done = self.done()
        for job in done[: max(0, len(done) - self.keep_done)]:
            self._path("done", job).unlink(missing_ok=True)
