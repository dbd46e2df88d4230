"""`appliance card queue|send|batch`: what the acquirer has yet to receive, sending it now, the batch close."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from appliance.cli.common import open_store, paper, settings_from
from appliance.config import Settings
from appliance.core import card_batch, card_setup, host_queue, offline
from appliance.core.card_host import Acquirer
from appliance.core.clock import SystemClock
from appliance.core.money import format_amount
from appliance.display.report import batch_report
from appliance.errors import ConfigError
from appliance.store.db import Store


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("card", help="card payments: the queue for the acquirer, sending it, batch close")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("queue", help="reversals and offline payments waiting for the acquirer").set_defaults(func=queue)
    sub.add_parser("send", help="send what is waiting to the acquirer now").set_defaults(func=send)
    batch = sub.add_parser("batch", help="close the card batch with the acquirer and print its report")
    batch.add_argument("--width", type=int, choices=(32, 42, 48))
    batch.set_defaults(func=close_batch)


def queue(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with open_store(settings, must_exist=True) as store:
        waiting = host_queue.pending(store.conn)
        exposure = offline.exposure(store.conn)
    print(f"reversals waiting: {waiting['reversal']}")
    print(f"offline payments waiting: {waiting['advice']} "
          f"({format_amount(exposure.total, settings.currency.exponent)})")
    if exposure.count:
        print(exposure.banner(settings.currency.exponent))
    return 0


def send(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    acquirer = _acquirer(settings)
    with open_store(settings, must_exist=True) as store:
        report = host_queue.drain(store, acquirer, now=SystemClock().now())
        waiting = host_queue.pending(store.conn)
    print(f"sent {report.sent}; still waiting: {waiting['reversal']} reversal(s), {waiting['advice']} offline payment(s)")
    for declined in report.declined:
        amount = format_amount(declined["amount"], settings.currency.exponent)
        print(f"DECLINED BY THE ISSUER after an offline approval: {declined['masked_pan']} {amount} "
              f"(response {declined['response_code']}, sale {declined['sale_id']})")
    if report.last_error:
        print(f"the acquirer did not answer: {report.last_error}", file=sys.stderr)
        return 1
    return 0


def close_batch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with open_store(settings, must_exist=True) as store:
        result = run_batch_close(settings, store, SystemClock().now())
    print(paper(batch_report(result, settings), [args.width or settings.receipt.width]))
    return 0 if result.in_balance else 1


def run_batch_close(settings: Settings, store: Store, at: datetime) -> card_batch.BatchResult:
    return card_batch.close(store, _acquirer(settings), at=at)


def _acquirer(settings: Settings) -> Acquirer:
    acquirer = card_setup.acquirer(settings)
    if acquirer is None:
        raise ConfigError("no acquirer is configured", where=f"{settings.source}: [payments] host")
    return acquirer
