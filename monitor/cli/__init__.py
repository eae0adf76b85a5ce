"""The `monitor` command: a thin client of `monitor.api`, one module per command group.

Each module registers its commands (argument parsing) and prints what the API answers."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence

from monitor import __version__
from monitor.cli import (
    alerts,
    backtest,
    check,
    db,
    demo,
    digest,
    feedback,
    health,
    init,
    notify,
    rules,
    run,
    sources,
    web,
)
from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands
from monitor.errors import ConfigError, DatabaseUnusable
from monitor.log import setup_logging
from monitor.settings import Settings

# In the order `monitor --help` lists them.
REGISTER: list[Callable[[Commands], None]] = [
    init.register,
    run.register,
    check.register,
    rules.register,
    backtest.register,
    digest.register,
    alerts.register,
    feedback.register,
    notify.register,
    sources.register,
    health.register,
    db.register,
    demo.register,
    web.register,
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        # `monitor rules` alone: that group's help, not the top-level one.
        getattr(args, "group_parser", parser).print_help()
        return EXIT_USAGE
    settings = Settings.from_env(config_dir=args.config)
    setup_logging("WARNING" if args.quiet else ("DEBUG" if args.verbose else settings.log_level))
    try:
        code = int(args.handler(args, settings))
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return code
    except ConfigError as exc:
        print_config_error(exc)
        return EXIT_FAILED
    except DatabaseUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `monitor sources | head`: the reader has all it wanted. Point stdout at
        # /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def console() -> int:
    """The `monitor` command itself (console script, `python -m monitor`): `main`, in a
    process that ends with it.

    At exit the interpreter runs full cycle collections over every object still alive
    (the imported modules, a pass's caches and indexes), to free memory that the process
    gives back anyway: 0.05 s after `monitor sources`, 0.15 s after `check`, 0.3 s after a
    pass. Objects frozen out of the collector are not examined. `main` itself does not
    freeze, for the callers that go on living (tests, embedding code)."""
    code = main()
    gc.freeze()
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="veille: watch French digital-policy news and alert on the events that matter.",
    )
    parser.add_argument("--version", action="version", version=f"veille {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        metavar="DIR",
        help="configuration directory holding sources.toml and alerts/ "
        "(default: $MONITOR_CONFIG_DIR, else the current directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in REGISTER:
        register(commands)
    return parser


def print_config_error(exc: ConfigError) -> None:
    count = len(exc.problems)
    print(f"configuration error{'s' if count > 1 else ''} ({count}):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
