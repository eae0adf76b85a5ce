"""`monitor demo`: the real pipeline on bundled articles, offline, in seconds.

A loopback web server plays three fictional French outlets (feeds and article
pages); the shipped rules run on a temporary SQLite database and the alerts
are printed on the console. Only the demo's own sources may reach loopback:
the private-network guard stays on for everything else.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from monitor.config import CONSOLE, Config, Routing, SourceConfig
from monitor.config.alerts import ChannelConfig
from monitor.demo.server import DemoIndex, DemoServer, load_index
from monitor.display import shorten
from monitor.preflight import load_checked
from monitor.settings import Settings

CHECK, CROSS = "✔", "✘"


def demo_config(settings: Settings) -> Config:
    """The shipped rules, from the config directory or else from the source checkout."""
    candidates = [settings.config_dir, Path(__file__).resolve().parents[2]]
    root = next(
        (c for c in candidates if (c / "alerts").is_dir() and (c / "sources.toml").is_file()), None
    )
    if root is None:
        raise SystemExit(
            "monitor demo needs the shipped alerts/ and sources.toml: run it from the "
            "repository, or pass --config DIR"
        )
    return load_checked(root, settings.environ)


def with_demo_sources(config: Config, index: DemoIndex, server: DemoServer) -> Config:
    sources = tuple(
        SourceConfig(
            id=o.id,
            name=o.name,
            url=server.feed_url(o.id),
            kind="feed",
            lang="fr",
            interval=timedelta(minutes=5),
            tags=("demo",),
            allow_private_networks=True,
        )
        for o in index.outlets
    )
    # Everything goes to the console, whatever channels the shipped rules name; the
    # bundled articles have fixed dates, so no age keeps them from alerting.
    rules = tuple(
        r.model_copy(update={"channels": None, "mode": None, "max_age": None}) for r in config.rules
    )
    console = ChannelConfig(name=CONSOLE, url="console://", format="text")
    # One loopback host serves every page: politeness delays would only slow the demo down.
    fetch = config.fetch.model_copy(update={"host_delay": timedelta(0), "per_host": 8})
    return dataclasses.replace(
        config,
        fetch=fetch,
        sources=sources,
        rules=rules,
        channels={CONSOLE: console},
        routing=Routing(channels=(CONSOLE,), mode="immediate"),
        max_age=timedelta.max,
        digests={},
    )


async def run_demo(settings: Settings, keep: Path | None = None) -> int:
    from monitor.app import Service

    base = demo_config(settings)
    index = load_index()
    with tempfile.TemporaryDirectory(prefix="veille-demo-") as tmp:
        data_dir = keep or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        demo_settings = dataclasses.replace(
            settings,
            data_dir=data_dir,
            database_url=f"sqlite:///{(data_dir / 'demo.sqlite3').resolve()}",
        )
        async with DemoServer(index) as server:
            config = with_demo_sources(base, index, server)
            _say(
                f"veille demo: {len(index.articles)} fictional articles from {len(index.outlets)} "
                f"outlets served at {server.base}, {len(config.rules)} shipped rules.\n"
            )
            async with Service(demo_settings, config, allow_private=False) as service:
                first = await service.run_pass()
                _say("\nfirst pass\n  " + "\n  ".join(first.lines()))
                second = await service.run_pass()
                _say(
                    "second pass (nothing changed: the feeds answer 304, nothing is re-sent)\n  "
                    + "\n  ".join(second.lines())
                )
                fired = await service.store.matched_rules()
        _say("\n" + report(index, server.base, fired))
    return 0


def report(index: DemoIndex, base: str, fired: dict[str, set[str]]) -> str:
    lines = ["what fired, article by article (expected → got):"]
    for article in index.articles:
        got = fired.get(f"{base}/{article.outlet}/{article.slug}", set())
        expected = set(article.expect)
        mark = CHECK if got == expected else CROSS
        shown = ", ".join(sorted(got)) or "silent"
        lines.append(
            f"  {mark} {shorten(article.title, 78)}\n"
            f"      expected {', '.join(sorted(expected)) or 'silent'}; got {shown}"
        )
    return "\n".join(lines)


def _say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
