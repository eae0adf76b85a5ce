"""`monitor run`: the service, or one pass over the sources (`--once`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    bind_argument,
    unknown_names,
)
from monitor.log import LOG_FORMATS
from monitor.settings import Settings, database_file_known, read_config

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.config.service import BindAddress
    from monitor.extract.pool import WorkerPool

EXIT_ALL_SOURCES_FAILED = 3  # `run --once`: not one source could be read (offline?)


def register(commands: Commands) -> None:
    run = commands.add_parser(
        "run",
        help="poll the sources and send alerts (until stopped)",
        description="Start the service: every source is polled at its "
        "interval, alerts are sent as they come, until SIGINT or SIGTERM. "
        "SIGHUP reads the configuration again (kept as it is when the new one has "
        "errors, which are logged). The database schema is upgraded first.",
    )
    run.add_argument(
        "--once", action="store_true", help="one pass over all sources, print a summary and exit"
    )
    run.add_argument(
        "--source", action="append", metavar="ID", help="with --once: only this source (repeatable)"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="with --once: poll sources that are backing off or whose cache is still fresh",
    )
    run.add_argument(
        "--no-send",
        action="store_true",
        help="with --once: store and match everything, send nothing and queue nothing "
        "(a first pass that marks the backlog as seen)",
    )
    run.add_argument(
        "--http",
        metavar="HOST:PORT",
        type=bind_argument,
        help="serve /healthz, /readyz and /metrics there, e.g. 127.0.0.1:9108 "
        "(default: [service] http in monitor.toml, else off)",
    )
    run.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="human lines or JSON lines (default: $MONITOR_LOG_FORMAT, "
        "else [service] log_format, else human)",
    )
    run.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.extract.pool import WorkerPool

    if not args.once and (args.source or args.force or args.no_send):
        print("--source, --force and --no-send go with --once (one pass)", file=sys.stderr)
        return EXIT_USAGE
    if args.once and args.http:
        print("--http goes with the service, not with --once", file=sys.stderr)
        return EXIT_USAGE
    if settings.log_format not in (None, *LOG_FORMATS):
        print(f"MONITOR_LOG_FORMAT is {settings.log_format!r}: use human or json", file=sys.stderr)
        return EXIT_USAGE
    pool = WorkerPool(settings.workers)
    if not args.once or not database_file_known(settings):
        # The service, and the first pass of a database (it reads every page), will need
        # the workers: they start before this process imports the API, so that their own
        # start-up (the extractor's and the matcher's imports) runs meanwhile, on the
        # other cores. A pass on a database that exists starts them at its first task: a
        # pass whose feeds all answer 304 (the usual cron run) needs none.
        pool.start()
    try:
        return run_with(pool, args, settings)
    finally:
        pool.close(wait=True)


def run_with(pool: WorkerPool, args: argparse.Namespace, settings: Settings) -> int:
    """`monitor run`, its options checked, on the started worker pool."""
    from monitor.api import instance_id, prepare_service_process
    from monitor.log import use_log_format

    prepare_service_process()
    config = read_config(settings)
    service = config.service.service
    use_log_format(
        args.log_format or settings.log_format or service.log_format, instance_id(service.instance)
    )
    known = [s.id for s in config.sources]
    if args.source and unknown_names("unknown source id", args.source, known):
        return EXIT_USAGE
    if args.once:
        return run_once(pool, args, settings, config)
    return serve(pool, settings, config, args.http or service.http)


def run_once(pool: WorkerPool, args: argparse.Namespace, settings: Settings, config: Config) -> int:
    import asyncio

    from monitor.api import Monitor, instance_id, log_start, quiet_source_failures
    from monitor.display import progress_line

    # In the configuration's order, each once.
    chosen = [s.id for s in config.sources if s.id in args.source] if args.source else None

    async def once() -> int:
        log_start(settings, config, instance_id(config.service.service.instance))
        with quiet_source_failures(), progress_line(sys.stderr) as progress:
            async with Monitor(settings, config, send=not args.no_send, pool=pool) as monitor:
                summary = await monitor.poll(chosen, force=args.force, progress=progress)
        print("\n".join(summary.lines()))
        return EXIT_ALL_SOURCES_FAILED if summary.all_failed else EXIT_OK

    return asyncio.run(once())


def serve(pool: WorkerPool, settings: Settings, config: Config, bind: BindAddress | None) -> int:
    import asyncio

    from monitor.api import CannotListen, run_service

    try:
        asyncio.run(run_service(settings, config, bind, pool))
    except CannotListen as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
