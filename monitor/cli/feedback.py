"""`monitor feedback`: verdicts on alerts, missed articles, and their export as labeled data."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, cast

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    unknown_rules,
    with_listings,
    with_monitor,
)
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.api import LabeledArticle, Verdict
    from monitor.config import Config

VERDICTS = ("wrong", "right")  # as the usage line gives them


def register(commands: Commands) -> None:
    feedback = commands.add_parser(
        "feedback",
        help="record a verdict on an alert, or a missed article; export them as labeled data",
        description="`monitor feedback ALERT_ID wrong|right [--note TEXT]` records a "
        "recipient's verdict on an alert (its id is at the foot of every alert); "
        "`monitor feedback --missed URL --rule ID` records an article the rule should have "
        "alerted on; `monitor feedback export [--rule ID] > FILE.jsonl` writes every "
        "verdict as labeled articles, for `monitor rules eval FILE.jsonl`.",
        usage="monitor feedback ALERT_ID {wrong,right} [--note TEXT]\n"
        "       monitor feedback --missed URL --rule ID [--note TEXT]\n"
        "       monitor feedback export [--rule ID]",
    )
    feedback.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    feedback.add_argument("--note", help="why, in a few words")
    feedback.add_argument("--missed", metavar="URL", help="an article the rule should have caught")
    feedback.add_argument(
        "--rule", metavar="ID", help="the rule missed (with --missed); only this rule (export)"
    )
    feedback.set_defaults(handler=cmd_feedback)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    config = read_config(settings, checked=False)
    if args.rule is not None and unknown_rules(config, [args.rule]):
        return EXIT_USAGE
    if args.missed is not None:
        if args.words or args.rule is None:
            print("usage: monitor feedback --missed URL --rule ID [--note TEXT]", file=sys.stderr)
            return EXIT_USAGE
        return _feedback_missed(args, config, settings)
    if args.words == ["export"]:
        return _feedback_export(args.rule, config, settings)
    if len(args.words) == 2 and args.words[0].isdigit() and args.words[1] in VERDICTS:
        verdict = cast("Verdict", args.words[1])
        return _feedback_verdict(int(args.words[0]), verdict, args.note, config, settings)
    print(
        "usage: monitor feedback ALERT_ID wrong|right [--note TEXT], "
        "monitor feedback --missed URL --rule ID, or monitor feedback export [--rule ID]",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _feedback_verdict(
    alert_id: int, verdict: Verdict, note: str | None, config: Config, settings: Settings
) -> int:
    from monitor.api import UnknownAlert
    from monitor.display import shorten

    try:
        record = with_monitor(
            settings,
            config,
            lambda monitor: monitor.feedback(alert_id, verdict, note),
        )
    except UnknownAlert as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(f"alert {alert_id} ({record.rule_id}) marked {verdict}: {shorten(record.title, 70)}")
    return EXIT_OK


def _feedback_missed(args: argparse.Namespace, config: Config, settings: Settings) -> int:
    from monitor.display import shorten
    from monitor.errors import MonitorError

    try:
        title = with_monitor(
            settings, config, lambda monitor: monitor.missed(args.rule, args.missed, args.note)
        )
    except MonitorError as exc:
        print(f"cannot read {args.missed}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"recorded as missed by {args.rule}: {shorten(title or args.missed, 70)}")
    return EXIT_OK


def _feedback_export(rule_id: str | None, config: Config, settings: Settings) -> int:
    from monitor.listings import write_labeled

    no_database: list[LabeledArticle] = []
    labeled = with_listings(
        settings, config, lambda listings: listings.verdicts(rule_id), no_database
    )
    count = write_labeled(labeled, sys.stdout)
    print(f"{count} verdict{'s' if count != 1 else ''} written", file=sys.stderr)
    return EXIT_OK
