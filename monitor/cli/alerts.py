"""`monitor alerts`: recent deliveries, and failed ones sent again."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    count_argument,
    with_listings,
    with_monitor,
)
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.api import DeliveryRecord
    from monitor.listings import DeliveryStatus


def register(commands: Commands) -> None:
    alerts = commands.add_parser(
        "alerts",
        help="list recent deliveries (alerts, digests, notices)",
        description="What was sent, what waits for a retry, what failed.",
    )
    which = alerts.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true", help="only deliveries that failed for good")
    which.add_argument("--pending", action="store_true", help="only deliveries waiting to be sent")
    which.add_argument(
        "--retry",
        nargs="*",
        type=int,
        metavar="ID",
        help="send failed deliveries again (all, or these ids), once the cause is fixed: "
        "they get a fresh round of attempts, sent by `monitor run` or the next `run --once`",
    )
    alerts.add_argument(
        "--limit",
        type=count_argument(1),
        default=50,
        metavar="N",
        help="show at most N deliveries, the newest first (default 50)",
    )
    alerts.set_defaults(handler=cmd_alerts)


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    if args.retry is not None:
        return _retry_failed(args.retry or None, settings)
    status: DeliveryStatus | None = (
        "failed" if args.failed else ("pending" if args.pending else None)
    )
    no_database: list[DeliveryRecord] = []
    records = with_listings(
        settings,
        read_config(settings, checked=False),
        lambda listings: listings.deliveries(status, args.limit),
        no_database,
    )
    if not records:
        print(f"no {status} deliveries" if status else "no alerts")
        return EXIT_OK
    # Imported here: rich, only when there is a table to print.
    from monitor.report import deliveries_table, print_table

    print_table(deliveries_table(records, status))
    return EXIT_FAILED if args.failed and records else EXIT_OK


def _retry_failed(ids: list[int] | None, settings: Settings) -> int:
    requeued = with_monitor(
        settings, read_config(settings, checked=False), lambda monitor: monitor.retry(ids)
    )
    if requeued:
        print(
            f"{len(requeued)} failed deliver{'ies' if len(requeued) > 1 else 'y'} queued again "
            f"({', '.join(map(str, requeued))}): `monitor run` sends them, or `monitor run --once`"
        )
    else:
        print("no failed delivery to send again")
    missing = sorted(set(ids or ()) - set(requeued))
    if missing:
        print(f"not failed, or unknown: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
