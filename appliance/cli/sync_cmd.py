"""`appliance sync status|now|enroll`: how far head office is behind, sending the outbox and pulling the feeds now (docs/sync.md)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from appliance.cli.common import open_store, settings_from
from appliance.errors import ConfigError
from appliance.sync.client import enroll
from appliance.sync.drain import Target, drain
from appliance.sync.feeds import pull_all
from appliance.sync.outbox import SyncState, status


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sync", help="sending the journal to head office")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("status", help="unsent events, last success and last error").set_defaults(func=show_status)
    now = sub.add_parser("now", help="send every unsent event to head office, then pull its feeds, now")
    now.add_argument("--attempts", type=int, default=3, metavar="N",
                     help="tries per batch while head office does not answer, with growing random pauses (default 3)")
    now.set_defaults(func=send_now)
    enrol = sub.add_parser("enroll", help="trade a one-time enrolment code from head office for this terminal's secret")
    enrol.add_argument("--code", required=True, help="the one-time code head office issued for this terminal")
    enrol.set_defaults(func=enroll_device)


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def show_status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with open_store(settings, must_exist=True) as store:
        info = status(store.conn, SyncState.beside(settings.database_path))
        cursors = store.conn.execute("SELECT feed, version, applied_at FROM feed_cursors ORDER BY feed").fetchall()
    print(f"head office:    {settings.sync.url or '(none: [sync] url is empty)'}")
    print(f"unsent events:  {info.pending}" + (f" (oldest queued {info.oldest_pending})" if info.oldest_pending else ""))
    print(f"sent in total:  {info.sent_total}")
    if info.head_office_last_seq is not None:
        print(f"head office holds up to seq {info.head_office_last_seq}")
    success, error = info.last_success, info.last_error
    print(f"last success:   {success['at'] + ' (' + str(success.get('sent', 0)) + ' sent)' if success else 'never'}")
    print(f"last error:     {error['at'] + ' ' + error['message'] if error else 'none'}")
    for feed, version, applied_at in cursors:
        print(f"feed {feed + ':':<16} version {version} (applied {applied_at})")
    if info.pending >= settings.sync.outbox_alert:
        print(f"WARNING: {info.pending} events wait for head office (alert at {settings.sync.outbox_alert}); "
              "check the network and `appliance sync now`")
        return 1
    return 0


def send_now(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.sync.url:
        raise ConfigError("sync is off: set url in [sync]", where=f"{settings.source}: [sync] url")
    if args.attempts < 1:
        raise ConfigError("--attempts must be 1 or more", where="--attempts")
    target = Target.from_settings(settings)
    with open_store(settings, must_exist=True) as store:
        result = drain(store, SyncState.beside(settings.database_path), target, now=_utc_now, attempts=args.attempts)
        print(f"sent {result.sent} events in {result.batches} batches")
        if result.error is not None:
            raise result.error
        for pulled in pull_all(store, settings, target, now=_utc_now):
            print(f"{pulled.feed}: {pulled.applied} applied, now at version {pulled.version}")
            for problem in pulled.refused:
                print(f"  refused: {problem}")
    return 0


def enroll_device(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.sync.url:
        raise ConfigError("sync is off: set url in [sync]", where=f"{settings.source}: [sync] url")
    secret_file = settings.resolve(settings.sync.device_secret_file)
    enroll(settings.sync.url, args.code.strip(), settings.device.id, secret_file, timeout=settings.sync.timeout_s)
    print(f"terminal {settings.device.id} enrolled with {settings.sync.url}; its secret is in {secret_file} (mode 0600)")
    return 0
