"""`python -m hq`: run the head office server, issue enrolment codes, revoke devices."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from appliance.errors import ApplianceError

from hq.server import start
from hq.storage import SqliteStorage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hq", description="Head office: receives the terminals' journals.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the terminal contract over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8470, help="port to listen on; 0 picks a free one")
    code = sub.add_parser("enroll-code", help="print a new one-time enrolment code")
    revoke = sub.add_parser("revoke", help="refuse a device's uploads from now on")
    revoke.add_argument("device", help="the device id")
    for command in (serve, code, revoke):
        command.add_argument("--db", type=Path, required=True, help="the head office SQLite file")
    return parser


async def _serve(storage: SqliteStorage, host: str, port: int) -> None:
    app_runner, bound = await start(storage, host, port)
    # Printed and flushed so a supervisor (or a test) knows when requests will be answered.
    print(f"hq listening on http://{host}:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await app_runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        storage = SqliteStorage(args.db)
        if args.command == "serve":
            asyncio.run(_serve(storage, args.host, args.port))
        elif args.command == "enroll-code":
            print(storage.new_enrollment_code())
        else:
            storage.revoke(args.device)
            print(f"revoked {args.device}")
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
