"""`appliance config check`: load the configuration and print what is in effect."""

from __future__ import annotations

import argparse

from appliance.cli.common import settings_from


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("config", help="check the configuration")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate the configuration file and print the effective settings")
    check.set_defaults(func=check_config)


def check_config(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    print(f"# effective configuration from {settings.source}")
    print(f"# database: {settings.database_path}")
    print(settings.to_toml(), end="")
    return 0
