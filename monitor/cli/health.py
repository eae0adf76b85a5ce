"""`monitor health`: is `monitor run` alive? For health checks and supervisors."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from monitor.cli.common import EXIT_FAILED, EXIT_OK, Commands, duration_argument
from monitor.settings import Settings


def register(commands: Commands) -> None:
    health = commands.add_parser(
        "health",
        help="is `monitor run` alive? (for health checks and supervisors)",
        description="Read the heartbeat that `monitor run` writes in the data directory "
        "every 30 s. Exit 0 when it is fresh, 1 when it is missing (not running) or too old "
        "(hung or killed). When the service serves /healthz (`--http`), that must answer "
        "too.",
    )
    health.add_argument(
        "--max-age",
        default="2m",
        type=duration_argument(),
        metavar="DURATION",
        help="oldest acceptable beat (default 2m)",
    )
    health.set_defaults(handler=cmd_health)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.listings import service_health

    healthy, line = service_health(settings.data_dir, args.max_age, datetime.now(UTC))
    print(line)
    return EXIT_OK if healthy else EXIT_FAILED
