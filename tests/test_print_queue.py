"""The durable print queue: kept until printed, in order, never printed twice by itself."""

from __future__ import annotations

import pytest

from appliance.hal import registry
from appliance.hal.errors import DeviceIOError, DeviceUnavailable
from appliance.hal.print_queue import PrintQueue


@pytest.fixture
def printer():
    return registry.create("printer", "printer", "sim://printer")


def test_jobs_print_in_order_and_once(tmp_path, printer):
    queue = PrintQueue(tmp_path / "q")
    assert queue.submit("T01-000001", b"one\n") and queue.submit("T01-000002", b"two\n")
    assert not queue.submit("T01-000001", b"one again\n")  # a repeated job id is a duplicate
    assert queue.pump(printer) == 2
    assert printer.jobs == [b"one\n", b"two\n"]
    assert queue.pump(printer) == 0 and [j.id for j in queue.done()] == ["T01-000001", "T01-000002"]


def test_a_printer_that_is_not_ready_keeps_the_jobs(tmp_path, printer):
    queue = PrintQueue(tmp_path / "q")
    queue.submit("A", b"a")
    printer.paper = "out"
    assert queue.pump(printer) == 0 and [j.id for j in queue.pending()] == ["A"]
    printer.paper = "ok"
    printer.plugged = False
    assert queue.pump(printer) == 0  # offline: status says so, nothing sent
    printer.plugged = True
    assert queue.pump(printer) == 1 and printer.jobs == [b"a"]


def test_a_job_the_printer_never_took_stays_pending(tmp_path, printer, monkeypatch):
    queue = PrintQueue(tmp_path / "q")
    queue.submit("A", b"a")

    def unplugged(data):
        raise DeviceUnavailable("cable out", device="printer")

    monkeypatch.setattr(printer, "write", unplugged)
    with pytest.raises(DeviceUnavailable):
        queue.pump(printer)
    assert [j.state for j in queue.pending()] == ["pending"] and queue.interrupted() == []


def test_a_printer_stopping_mid_job_leaves_it_interrupted_not_retried(tmp_path, printer):
    queue = PrintQueue(tmp_path / "q")
    queue.submit("A", b"x" * 100)
    queue.submit("B", b"b")
    printer.fail_after = 40
    with pytest.raises(DeviceIOError, match="mid-receipt"):
        queue.pump(printer)
    printer.paper = "ok"
    assert queue.pump(printer) == 1  # B prints; A is not sent again by itself
    assert [j.id for j in queue.interrupted()] == ["A"]
    assert bytes(printer.output) == b"x" * 40 + b"b"
    copy = queue.reprint("A", b"*** COPY ***\n")
    assert queue.pump(printer) == 1 and printer.jobs[-1] == b"*** COPY ***\n" + b"x" * 100
    assert copy == "A.copy1" and queue.interrupted() == []


def test_the_queue_survives_a_restart(tmp_path, printer):
    folder = tmp_path / "q"
    first = PrintQueue(folder)
    first.submit("A", b"a")
    first.submit("B", b"b")
    job_a = next(p for p in (folder / "pending").iterdir() if p.name.endswith("-A"))
    job_a.rename(folder / "sending" / job_a.name)  # the power went while A was printing
    second = PrintQueue(folder)
    assert [j.id for j in second.interrupted()] == ["A"] and [j.id for j in second.pending()] == ["B"]
    assert second.pump(printer) == 1 and printer.jobs == [b"b"]
    assert second.submit("C", b"c")
    assert [j.seq for j in second.pending()] == [3]  # numbering goes on after the restart
    second.discard("A")
    assert second.interrupted() == []


def test_reprint_last_and_pruning(tmp_path, printer):
    queue = PrintQueue(tmp_path / "q", keep_done=3)
    for n in range(5):
        queue.submit(f"R{n}", f"r{n}".encode())
    queue.pump(printer)
    assert [j.id for j in queue.done()] == ["R2", "R3", "R4"]
    queue.reprint_last(b"COPY ")
    queue.pump(printer)
    assert printer.jobs[-1] == b"COPY r4"
    with pytest.raises(DeviceIOError, match="no printed or interrupted job"):
        queue.reprint("R0", b"")


@pytest.mark.parametrize("job_id", ["", "../x", ".hidden", "a/b"])
def test_job_ids_that_cannot_be_file_names(tmp_path, job_id):
    with pytest.raises(ValueError):
        PrintQueue(tmp_path / "q").submit(job_id, b"x")
