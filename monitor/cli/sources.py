"""`monitor sources`: the health of every source; add, import or export feeds."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.common import EXIT_FAILED, EXIT_OK, Commands, say, with_listings
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.listings import SourceHealth


def register(commands: Commands) -> None:
    sources = commands.add_parser(
        "sources",
        help="the health of every source; add, import or export feeds",
        description="Alone: last attempt and success, consecutive failures, "
        "last error, items seen and a status per source. The actions add feeds to "
        "sources.toml (appended as commented blocks; the rest of the file is kept as it "
        "is) or export them.",
    )
    sources.add_argument("--failing", action="store_true", help="only sources in error")
    sources.set_defaults(handler=cmd_sources)
    actions = sources.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a feed, from its address or from its site's page",
        description="Fetch URL (private addresses refused unless allowed); when it is an "
        'HTML page, take the first feed it advertises (<link rel="alternate">). The feed '
        "is read, its title and item count shown, then appended to sources.toml. A URL or "
        "an id already configured is refused (exit 1).",
    )
    add.add_argument("url", metavar="URL")
    add.add_argument("--id", help="the source's id (default: from the site's host name)")
    add.set_defaults(handler=cmd_sources_add)
    opml_in = actions.add_parser(
        "import",
        help="add the feeds of an OPML file",
        description="Add every feed (outline with an xmlUrl, at any depth) that is not "
        "configured yet, without fetching them; list what was added and what was skipped, "
        "and why.",
    )
    opml_in.add_argument("file", type=Path, metavar="FILE.opml")
    opml_in.set_defaults(handler=cmd_sources_import)
    opml_out = actions.add_parser(
        "export",
        help="the feed sources as OPML 2.0",
        description="Write the feed sources of sources.toml as OPML 2.0, for a feed "
        "reader or another veille.",
    )
    opml_out.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: standard output"
    )
    opml_out.set_defaults(handler=cmd_sources_export)


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    config = read_config(settings, checked=False)
    # Without a database, nothing was polled yet.
    no_database: list[SourceHealth] = []
    health = with_listings(settings, config, lambda listings: listings.sources(), no_database)
    polled = [h for h in health if h.state and h.state.last_attempt_at]
    shown = [
        h.state
        for h in polled
        if h.state and h.config.enabled and (h.state.consecutive_failures or not args.failing)
    ]
    if shown:
        # Imported here: rich, only when there is a table to print.
        from monitor.report import print_table, sources_table

        poisoned = {h.config.id: h.poisoned for h in health}
        print_table(sources_table(shown, config, datetime.now(UTC), poisoned))
    never = sorted({s.id for s in config.sources if s.enabled} - {h.config.id for h in polled})
    if never:
        print(f"never polled yet: {', '.join(never)}")
    disabled = sorted(s.id for s in config.sources if not s.enabled)
    if disabled:
        print(f"disabled: {', '.join(disabled)}")
    return EXIT_OK


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from monitor.api import BlockedAddress, EditRefused, SourceError, add_source

    allow = settings.allow_private_networks
    try:
        added = asyncio.run(add_source(settings.config_dir, args.url, args.id, allow_private=allow))
    except (EditRefused, SourceError) as exc:
        reason = exc.message if isinstance(exc, SourceError) else str(exc)
        if isinstance(exc, BlockedAddress):
            reason += "; MONITOR_ALLOW_PRIVATE_NETWORKS=1 or [fetch] allow_networks allow it"
        say(f"cannot add {args.url}: {reason}", error=True)
        return EXIT_FAILED
    found = added.feed
    if found.page:
        others = f" (it also advertises {', '.join(found.others)})" if found.others else ""
        say(f"feed found on {found.page}: {found.url}{others}")
    say(f"feed {found.described}")
    print(
        f"added source {added.source.id!r} to {added.path} (line {added.line}): check it with "
        f"`monitor check`, poll it with `monitor run --once --source {added.source.id}`"
    )
    return EXIT_OK


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.configdir import EditRefused, OpmlError, import_opml

    try:
        imported = import_opml(settings.config_dir, args.file)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except (EditRefused, OpmlError) as exc:
        say(f"cannot import {args.file}: {exc}", error=True)
        return EXIT_FAILED
    report = imported.report
    for new in report.added:
        say(f"added {new.id}: {new.url}")
    for why in report.skipped:
        say(f"skipped: {why}")
    if not report.added and not report.skipped:
        print(f"no feed in {args.file} (no outline with an xmlUrl)", file=sys.stderr)
        return EXIT_FAILED
    where = f", appended to {imported.path} from line {report.first_line}" if report.added else ""
    print(f"{len(report.added)} added, {len(report.skipped)} skipped{where}")
    return EXIT_OK


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.configdir import export_opml

    opml = export_opml(settings.config_dir)
    if args.file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(opml.document)
        return EXIT_OK
    try:
        args.file.write_bytes(opml.document)
    except OSError as exc:
        print(f"cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{opml.feeds} feeds written to {args.file}")
    return EXIT_OK
