"""`appliance run`: the till itself — the daemon on the configured devices, until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from appliance.cli.common import open_store, settings_from
from appliance.cli.demo import seed_demo
from appliance.core.clock import SystemClock
from appliance.core.till import Till
from appliance.daemon import Daemon


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="run the till: devices, sales, customer display (until SIGTERM)")
    parser.add_argument("--demo", action="store_true",
                        help="on an empty database, seed the demo catalog, staff, a member and promotions first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    # journald takes stderr as the log: no files wearing the SD card.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.demo:
        with open_store(settings) as store:
            seed_demo(Till(settings, store, SystemClock()), SystemClock().now())
    daemon = Daemon(settings)
    asyncio.run(daemon.run())
    return 0
