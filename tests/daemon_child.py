"""A daemon in a child process, for tests that kill it with SIGKILL at random points and restart it.

    python -m tests.daemon_child CONFIG drive STEPS_JSON   feeds the steps to the simulated devices,
                                                           printing "sent N" after each; then waits
    python -m tests.daemon_child CONFIG recover            starts, reports the recovered state as
                                                           one JSON line, sends the card queue, stops

Steps are "key:NAME" (keypad), "scan:CODE" (scanner) and "card:pse_sda" (an emulated chip card
inserted once the reader asks for one). The card's bank is the parent's reference acquirer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from appliance import config
from appliance.core import host_queue
from appliance.daemon import Daemon
from appliance.sdnotify import Notifier
from tests.emv.personalise import card_pse_sda


async def _drive(daemon: Daemon, steps: list[str]) -> None:
    keypad, scanner = daemon.manager.device("keypad"), daemon.manager.device("scanner")
    for number, step in enumerate(steps, start=1):
        kind, _, value = step.partition(":")
        if kind == "key":
            keypad.press(value)
        elif kind == "scan":
            scanner.scan(value)
        elif kind == "card":
            deadline = time.monotonic() + 10
            while not daemon.pinpad.waiting and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            daemon.manager.device("card_reader").insert(card_pse_sda())
        print(f"sent {number}", flush=True)
        await asyncio.sleep(0.03)
    print("finished", flush=True)


async def _report(daemon: Daemon) -> None:
    sale = daemon.till.sale
    acquirer = getattr(daemon.till.tenders.get("card"), "acquirer", None)
    if acquirer is not None:
        await daemon.run_in_worker(lambda: host_queue.drain(daemon.store, acquirer, now=daemon.clock.now()))
    printed = bytes(daemon.manager.device("printer").output)
    print(json.dumps({
        "sale": None if sale is None else {"id": sale.id, "lines": len(sale.lines),
                                           "payments": [[p.kind, p.amount] for p in sale.payments]},
        "printed": [job.id for job in daemon.prints.done()],
        "printed_bytes": len(printed),
        "pending_jobs": [job.id for job in daemon.prints.pending()],
        "interrupted_jobs": [job.id for job in daemon.prints.interrupted()],
        "waiting": host_queue.pending(daemon.store.conn),
    }), flush=True)
    daemon.stop()


async def main(path: str, mode: str, steps: list[str]) -> None:
    daemon = Daemon(config.load(path), notifier=Notifier({}))
    running = asyncio.create_task(daemon.run())
    while daemon.loop is None or not daemon.manager.states["keypad"].online:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # start-up: restore and the print queue run before inputs are read
    if mode == "drive":
        await _drive(daemon, steps)
        await running
    else:
        await _report(daemon)
        await running


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else []))
