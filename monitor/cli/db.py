"""`monitor db upgrade|prune`: database maintenance."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from monitor.cli.common import EXIT_OK, EXIT_USAGE, Commands, duration_argument, with_monitor
from monitor.settings import Settings, read_config


def register(commands: Commands) -> None:
    db = commands.add_parser("db", help="database maintenance")
    db.set_defaults(group_parser=db)
    actions = db.add_subparsers(title="actions", metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade", help="migrate the database schema to the latest version"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)
    prune = actions.add_parser(
        "prune",
        help="drop the text of old articles that matched no rule",
        description="Blank the text, summary and fingerprint of articles first seen "
        "before the cutoff that matched no rule. Their rows stay, so they are never "
        "taken for new articles; articles that matched a rule keep everything. "
        "`monitor run` does this daily when [retention] keep_text is set in monitor.toml.",
    )
    prune.add_argument(
        "--older-than",
        metavar="DURATION",
        type=duration_argument(_keep_text),
        help="cutoff, like 365d (default: [retention] keep_text; at least 30d)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would be dropped, change nothing"
    )
    prune.set_defaults(handler=cmd_db_prune)


def _keep_text(value: timedelta) -> timedelta:
    from monitor.config.service import check_keep_text

    return check_keep_text(value)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.api import upgrade_database

    print(f"database schema up to date: {upgrade_database(settings)}")
    return EXIT_OK


def cmd_db_prune(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.display import local_time

    config = read_config(settings, checked=False)
    if args.older_than is None and config.service.retention.keep_text is None:
        print(
            "nothing to do: give --older-than, or set [retention] keep_text in monitor.toml",
            file=sys.stderr,
        )
        return EXIT_USAGE
    result = with_monitor(
        settings, config, lambda monitor: monitor.prune(args.older_than, dry_run=args.dry_run)
    )
    assert result is not None  # a cutoff is known
    print(
        f"{'would drop' if args.dry_run else 'dropped'} the text of {result.articles} articles "
        f"first seen before {local_time(result.before)} that matched no rule "
        f"({result.characters / 1e6:.1f} million characters)"
    )
    return EXIT_OK
