"""`monitor notify --test CHANNEL`: send the sample alert through a channel now."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands
from monitor.settings import Settings, read_config


def register(commands: Commands) -> None:
    notify = commands.add_parser(
        "notify",
        help="send a test notification through a channel",
        description="Send the sample alert through a configured channel now, and say "
        "whether it went through (exit 0) or the exact error (exit 1).",
    )
    notify.add_argument("--test", metavar="CHANNEL", required=True, help="channel name")
    notify.set_defaults(handler=cmd_notify)


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from monitor.api import UnknownName, probe_channel

    config = read_config(settings)
    try:
        result = asyncio.run(probe_channel(config, args.test))
    except UnknownName as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if result.ok:
        print(f"channel {args.test}: test notification sent")
        return EXIT_OK
    print(f"channel {args.test}: test notification failed: {result.error}", file=sys.stderr)
    return EXIT_FAILED
