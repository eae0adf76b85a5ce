"""`monitor backtest`: replay rules over the stored articles, sending nothing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    count_argument,
    duration_argument,
    unknown_rules,
    with_monitor,
)
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.api import Backtest, Monitor


def register(commands: Commands) -> None:
    backtest = commands.add_parser(
        "backtest",
        help="replay rules over stored articles, sending nothing",
        description="Run rules (all, or those named) over the archive "
        "and print what would have fired, with passages and counts, "
        "and how that differs from what fired when articles arrived.",
    )
    backtest.add_argument(
        "rule_ids", nargs="*", metavar="RULE_ID", help="only these rules (default: every rule)"
    )
    backtest.add_argument(
        "--since",
        default="30d",
        type=_since,
        metavar="DURATION",
        help="how far back (default 30d; 'all' for everything)",
    )
    backtest.add_argument(
        "--passages",
        type=count_argument(0),
        default=1,
        metavar="N",
        help="matching passages quoted under each article (default 1; 0 for none)",
    )
    backtest.set_defaults(handler=cmd_backtest)


def _since(text: str) -> timedelta | None:
    return None if text == "all" else _duration(text)


_duration: Callable[[str], timedelta] = duration_argument()


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.api import render_backtest
    from monitor.display import local_time

    config = read_config(settings)
    if unknown_rules(config, args.rule_ids):
        return EXIT_USAGE

    async def replay(monitor: Monitor) -> Backtest:
        with _progress(await monitor.archive_size(args.since)) as advance:
            return await monitor.backtest(args.rule_ids or None, args.since, advance)

    result = with_monitor(settings, config, replay)
    print("\n".join(render_backtest(result, args.passages, local_time)))
    return EXIT_OK


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error when it is a terminal and the run is long."""
    if total < 2000 or not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("replaying", total=total)
        yield lambda n: bar.advance(task, n)
