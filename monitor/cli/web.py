"""`monitor web`: the operator's web console."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, bind_argument
from monitor.settings import Settings, read_config

DEFAULT_WEB_BIND = "127.0.0.1:8080"


def register(commands: Commands) -> None:
    web = commands.add_parser(
        "web",
        help="the operator's web console (sources, alerts, deliveries, rule playground)",
        description="Serve the web console until Ctrl-C or SIGTERM. Read-only unless "
        "MONITOR_WEB_TOKEN is set: then the console asks for that token (a login form, or "
        "Authorization: Bearer) and allows its actions (poll now, right/wrong, retry). "
        "An address other than loopback is refused without a token.",
    )
    web.add_argument(
        "--bind",
        metavar="HOST:PORT",
        type=bind_argument,
        default=DEFAULT_WEB_BIND,
        help=f"where to listen (default {DEFAULT_WEB_BIND})",
    )
    web.set_defaults(handler=cmd_web)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from monitor.api import Control, Monitor
    from monitor.web import ConsoleRefused, check_exposure, serve_console

    token = settings.environ.get("MONITOR_WEB_TOKEN") or None
    try:
        check_exposure(args.bind, token)
    except ConsoleRefused as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE

    async def console() -> int:
        async with Monitor(settings, read_config(settings)) as monitor:
            try:
                await serve_console(monitor, args.bind, token, Control.from_signals())
            except ConsoleRefused as exc:
                print(exc, file=sys.stderr)
                return EXIT_FAILED
        return EXIT_OK

    return asyncio.run(console())
