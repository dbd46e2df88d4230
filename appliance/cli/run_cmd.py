"""`appliance run`: the till itself — the daemon on the configured devices, until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Callable

from appliance.cli import update_cmd
from appliance.cli.common import open_store, settings_from
from appliance.cli.demo import seed_demo
from appliance.core.clock import SystemClock
from appliance.core.till import Till
from appliance.daemon import Daemon


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="run the till: devices, sales, customer display (until SIGTERM)")
    parser.add_argument("--demo", action="store_true",
                        help="on an empty database, seed the demo catalog, staff, a member and promotions first")
    parser.add_argument("--console", choices=("auto", "on", "off"), default="auto",
                        help="the operator console in this terminal: auto (when it is a terminal), on or off")
    parser.add_argument("--lang", choices=("zh", "en"), help="console labels (default: [console] language)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    console = args.console == "on" or (args.console == "auto" and sys.stdin.isatty() and sys.stdout.isatty())
    if console:
        # The console owns the terminal: the log goes to a file beside the database instead.
        log_file = settings.database_path.parent / "appliance.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=logging.INFO, filename=log_file, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        # journald takes stderr as the log: no files wearing the SD card.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    gate = _update_gate(settings)  # before anything opens the store: a trial slot may not migrate it
    if args.demo:
        with open_store(settings) as store:
            seed_demo(Till(settings, store, SystemClock()), SystemClock().now())
    daemon = Daemon(settings, on_ready=gate)
    asyncio.run(_with_console(daemon, args.lang) if console else daemon.run())
    return 0


def _update_gate(settings) -> Callable[[], object] | None:
    """On a slot on trial: what commits it. Without pending schema migrations the daemon commits once
    it is up (a failure rolls back); with them the self-check commits first, so the schema only ever
    moves forward on a committed slot and a rollback never meets a schema it cannot read."""
    env = update_cmd.boot_env(settings)
    if env is None:
        return None
    from image.update import in_trial

    if not in_trial(env):
        return None
    if update_cmd.pending_migration(settings):
        update_cmd.trial_commit(settings)
        return None
    return lambda: update_cmd.trial_commit(settings)


async def _with_console(daemon: Daemon, language: str | None) -> None:
    """The daemon and its console on one loop; quitting the console stops the till."""
    from appliance.display.console.app import ConsoleApp  # textual loads only with a console

    running = asyncio.create_task(daemon.run())
    try:
        await ConsoleApp(daemon, language=language).run_async()
    finally:
        daemon.stop()
        await running
