"""`monitor init`: write the example configuration into a directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.common import EXIT_FAILED, EXIT_OK, Commands
from monitor.settings import Settings


def register(commands: Commands) -> None:
    init = commands.add_parser(
        "init",
        help="write the example configuration into a directory",
        description="Write the shipped sources.toml, alerts/ (rules, channels, digests) "
        "and a commented monitor.toml into DIR, to start from. Files already there are "
        "refused (exit 1) unless --force.",
    )
    init.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="where to write (default: the configuration directory: --config, "
        "$MONITOR_CONFIG_DIR, else the current directory)",
    )
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    import shlex

    from monitor.configdir import ExampleRefused, write_example_config

    target: Path = args.dir or settings.config_dir
    try:
        files = write_example_config(target, force=args.force)
    except ExampleRefused as exc:
        print(f"monitor init: {exc}", file=sys.stderr)
        return EXIT_FAILED
    here = target.resolve() == Path.cwd().resolve()
    config = "" if here else f" --config {shlex.quote(str(target))}"
    print(f"wrote {len(files)} files into {target}: sources.toml, monitor.toml, alerts/")
    print("next:")
    print("  edit sources.toml (or: monitor sources add URL) and the rules in alerts/rules/")
    print("  set your channels in alerts/channels.toml, their secrets in the environment")
    print(f"  monitor{config} check                 validate it all")
    print(f"  monitor{config} run --once --no-send  first pass: store the backlog, send nothing")
    print(f"  monitor{config} run                   the service")
    return EXIT_OK
