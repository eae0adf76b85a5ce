"""`monitor digest`: preview the next digest, or send it now."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, with_monitor
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.api import Monitor
    from monitor.config import Config


def register(commands: Commands) -> None:
    digest = commands.add_parser(
        "digest",
        help="preview or send a digest now",
        description="Digests are sent by `monitor run` on their cron "
        "schedule. This command shows the next one, or sends it now "
        "(the next scheduled digest then starts from here).",
    )
    digest.add_argument("name", nargs="?", help="which digest (default: the only one)")
    action = digest.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--preview",
        metavar="FILE",
        type=Path,
        help="write the HTML of what the next digest would hold to FILE",
    )
    action.add_argument("--send", action="store_true", help="send it now")
    digest.set_defaults(handler=cmd_digest)


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    config = read_config(settings)
    name = _digest_name(args.name, config)
    if name is None:
        return EXIT_USAGE
    return with_monitor(
        settings, config, lambda monitor: (preview if args.preview else send)(monitor, name, args)
    )


def _digest_name(asked: str | None, config: Config) -> str | None:
    """The digest asked for, or the only one; None (said why) when there is no such one."""
    from monitor.config.validation import known_names

    digests = config.digests
    if not digests:
        print("no digest is configured (see alerts/digests.toml)", file=sys.stderr)
        return None
    name = asked or (next(iter(digests)) if len(digests) == 1 else "")
    if not name:
        print(f"which digest? one of: {', '.join(sorted(digests))}", file=sys.stderr)
        return None
    if name not in digests:
        print(f"unknown digest {name!r}{known_names(name, digests)}", file=sys.stderr)
        return None
    return name


async def preview(monitor: Monitor, name: str, args: argparse.Namespace) -> int:
    from monitor.display import local_time

    content = await monitor.digest_content(name)
    rendered = monitor.render_digest(content, "html")
    args.preview.write_text(rendered.body, encoding="utf-8")
    print(rendered.subject)
    print(f"from {local_time(content.start)} to {local_time(content.end)}")
    print(f"written to {args.preview}")
    return EXIT_OK


async def send(monitor: Monitor, name: str, args: argparse.Namespace) -> int:
    run, summary = await monitor.send_digest(name)
    print(
        f"digest {name}: run {run}, {summary.sent} sent, {summary.retrying} to retry, "
        f"{summary.failed} failed"
    )
    return EXIT_OK if not summary.failed else EXIT_FAILED
