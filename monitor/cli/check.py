"""`monitor check`: validate the configuration."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import EXIT_OK, Commands
from monitor.settings import Settings, read_config


def register(commands: Commands) -> None:
    check = commands.add_parser(
        "check",
        help="validate the configuration",
        description="Load sources.toml and alerts/ as the service would; "
        "report every problem with its file and line. Exit 1 on error.",
    )
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    config = read_config(settings)
    enabled = sum(s.enabled for s in config.sources)
    print(f"configuration OK ({config.root.resolve()})")
    print(f"  sources:  {len(config.sources)} ({enabled} enabled)")
    print(f"  rules:    {len(config.rules)} enabled, {len(config.lists)} term lists")
    print(f"  channels: {', '.join(sorted(config.channels))}")
    print(f"  digests:  {', '.join(sorted(config.digests)) or 'none'}")
    if not config.rules:
        print(
            "warning: no enabled rule: nothing will ever alert (add [[rule]] tables in alerts/)",
            file=sys.stderr,
        )
    return EXIT_OK
