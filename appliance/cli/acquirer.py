"""`appliance acquirer-sim`: run the reference acquirer host in the foreground (for tests, demos, bench work)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from appliance.errors import InputError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("acquirer-sim", help="run the reference ISO 8583 acquirer host (a simulator)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8583, help="TCP port; 0 picks a free one (default 8583)")
    parser.add_argument("--keys", type=Path, metavar="FILE", help="JSON file of issuer keys (hex) to check ARQCs, answer ARPCs, check PINs")
    parser.add_argument("--slow", type=float, default=0.0, metavar="S", help="answer every request S seconds late")
    parser.add_argument("--drop", action="store_true", help="close every connection without answering")
    parser.add_argument("--garbage", action="store_true", help="answer random bytes in a valid frame")
    parser.add_argument("--state", type=Path, metavar="FILE", help="JSON file keeping the ledger across restarts")
    parser.add_argument("--seal-key", type=Path, metavar="FILE",
                        help="private key that opens offline advices' sealed card data; made when missing, "
                             "its public half written to FILE.pub for the terminals' [payments] seal_key")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the host needs pyemv (the `acquirer` extra), which a till does not install.
    from acquirer.issuer import IssuerKeys, KeyFileError
    from acquirer.sealing import SealingError, SealingKey
    from acquirer.server import Acquirer, AcquirerServer, Faults, StateFileError

    try:
        keys = IssuerKeys.load(args.keys) if args.keys else None
        sealing = SealingKey.load_or_create(args.seal_key) if args.seal_key else None
        acquirer = Acquirer(keys, args.state, sealing)
    except (KeyFileError, StateFileError, SealingError) as exc:
        raise InputError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    server = AcquirerServer((args.host, args.port), acquirer, Faults(slow=args.slow, drop=args.drop, garbage=args.garbage))
    host, port = server.address
    print(f"acquirer-sim listening on {host}:{port}", flush=True)
    if keys is None:
        print("no --keys: ARQCs are not checked and no ARPC is sent", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("acquirer-sim stopped", flush=True)
    return 0
