"""`monitor demo`: veille at work offline, on bundled articles."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.cli.common import Commands
from monitor.log import setup_logging
from monitor.settings import Settings


def register(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="see veille work offline, on bundled articles",
        description="Serve a bundled set of French tech-press articles "
        "from a loopback web server, run the real pipeline on a temporary "
        "database with the shipped rules, and print the alerts.",
    )
    demo.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the demo database in DIR instead of a temporary directory",
    )
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from monitor.api import run_demo

    if not args.verbose:
        setup_logging("WARNING")  # the demo's own output tells the story
    return asyncio.run(run_demo(settings, keep=args.keep))
