"""The `appliance` command: the till's tools for merchants, scripts and technicians.

Exit codes: 0 done; 1 refused by a business rule (the message says why); 2 bad input,
usage or configuration; 3 the store or its journal is damaged.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Sequence

from appliance import __version__, native
from appliance.cli import (
    acquirer, api_cmd, card_cmd, card_test_cmd, catalog_cmd, config_cmd, demo, doctor_cmd, member_cmd, operator_cmd,
    provision_cmd, report_cmd, run_cmd, sale_cmd, shift_cmd, stock_cmd, store_cmd, sync_cmd, tlv_cmd, update_cmd,
)
from appliance.errors import ApplianceError, ConfigError, InputError, StoreError

EXIT_REFUSED, EXIT_INPUT, EXIT_STORE = 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance", description="Point-of-sale appliance tools.")
    parser.add_argument("--version", action="version", version=f"appliance {__version__} ({native.describe()})")
    parser.add_argument("--config", help="configuration file (default: $APPLIANCE_CONFIG or the embedded default)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser("demo", help="run a scripted shop day and print its receipts and Z report")
    demo_parser.add_argument("--png-dir", type=Path, help="also save each receipt and the Z report as PNG images of the paper")
    demo_parser.set_defaults(func=demo.run)
    for module in (config_cmd, catalog_cmd, operator_cmd, sale_cmd, shift_cmd, store_cmd, tlv_cmd, doctor_cmd, acquirer,
                   card_cmd, card_test_cmd, stock_cmd, member_cmd, report_cmd, run_cmd, api_cmd, sync_cmd, update_cmd,
                   provision_cmd):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (InputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except StoreError as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except ApplianceError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except sqlite3.Error as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
