"""Helpers for tests (not fixtures): corpus location, config directories, ports, the service
as a process. Submodules hold the rest: `servers` (loopback web and SMTP servers), `ingest`
(feeds, pages and services for ingestion tests), `console`, `matrix`, `notify`,
`layers` (what a module imports), `probe` (what a command loads)."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import pytest

from monitor.app import Service
from monitor.demo.server import load_index
from monitor.extract import WorkerPool
from monitor.preflight import load_checked
from monitor.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("MONITOR_TEST_DATABASE_URL")
CORPUS = Path(os.environ.get("MONITOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")


def corpus_path(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus not found at {path} (set MONITOR_CORPUS_DIR)")
    return path


async def reset_postgres(url: str) -> None:
    """Empty a PostgreSQL test database: its public schema dropped and created again."""
    from sqlalchemy import text

    from monitor.store.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the demo's articles as real pages, and services built on temporary configs ---------------

DEMO = {a.slug: a for a in load_index().articles}
EVENT = "armees-renouvelle-accord-cadre-microsoft"
OTHER_OUTLET = "armees-microsoft-reconduit-jusqu-en-2030"
OFF_TOPIC = "koral-k3-smartphone-durci-assemble-bretagne"
MICROSOFT_RULE = """
[[rule]]
id = "ministry-microsoft"
title = "Un ministère signe avec Microsoft"
query = 'Microsoft AND (ministère OR Armées)'
"""


def rss_of(*items: dict[str, str]) -> str:
    """An RSS 2.0 feed whose items have these elements (title, link, description...)."""
    entries = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'
    )


def rss(items: list[tuple[str, str]]) -> str:
    """A feed of demo articles, each (slug, URL where it is served)."""
    return rss_of(
        *(
            {"title": DEMO[slug].title, "link": url, "guid": url, "description": DEMO[slug].summary}
            for slug, url in items
        )
    )


def loopback_sources(feeds: dict[str, str], extra: str = "") -> str:
    """sources.toml with one feed source per (id, URL), allowed to reach loopback."""
    return "".join(
        f'[[source]]\nid = "{sid}"\nname = "{sid.title()}"\nurl = "{url}"\n{extra}'
        "allow_private_networks = true\n\n"
        for sid, url in feeds.items()
    )


def serve_articles(web_server: Any, *slugs: str) -> dict[str, str]:
    return {slug: web_server.add(f"/articles/{slug}", DEMO[slug].html) for slug in slugs}


def event_and_off_topic(tmp_path: Path, web_server: Any) -> Path:
    """A configuration directory: one loopback feed ("src") of the Microsoft event and an
    off-topic article, and the Microsoft rule."""
    pages = serve_articles(web_server, EVENT, OFF_TOPIC)
    feed = web_server.add("/feed.xml", rss(list(pages.items())), content_type="application/rss+xml")
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"src": feed}))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    return root


class CountingPool(WorkerPool):
    """The real process pool, counting what it is asked to do."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls: list[str] = []

    async def run(self, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(function.__name__)
        return await super().run(function, *args, **kwargs)


class Clock:
    """A clock that tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def service(
    tmp_path: Path,
    config_dir: Path,
    pool: WorkerPool,
    db_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
    environ: dict[str, str] | None = None,
    *,
    settings_env: dict[str, str] | None = None,
    console: TextIO | None = None,
) -> Service:
    """A Service on `config_dir` sharing the test session's worker pool; `environ` is what the
    configuration's ${VAR}s see, `settings_env` adds MONITOR_* settings."""
    settings = Settings.from_env(
        {
            "MONITOR_DATABASE_URL": db_url or f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MONITOR_DATA_DIR": str(tmp_path / "data"),  # the heartbeat, for one
            **(settings_env or {}),
        },
        config_dir=config_dir,
    )
    config = load_checked(config_dir, environ or {})
    options: dict[str, Any] = {"clock": clock} if clock else {}
    if console is not None:
        options["console"] = console
    return Service(settings, config, pool=pool, **options)


# The demo's articles have fixed dates, older than the 48 h after which news no longer
# alerts at once: tests that expect alerts from them lift the limit, not rewrite dates.
ANY_AGE = '[alerts]\nmax_age = "36500d"\n'


def allow_any_age(config_dir: Path) -> Path:
    """Add `[alerts] max_age` of a century to a test configuration directory."""
    return write(config_dir / "alerts" / "age.toml", ANY_AGE)


# -- `monitor run` as a process ----------------------------------------------------------------

SILENT_RULE = """
[[rule]]
id = "watch"
title = "Veille"
query = 'Introuvable'
"""


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, seconds: float = 60
) -> None:
    """Wait until `check()` (or the coroutine it returns) is true, polling every 0.1 s."""
    for _ in range(int(seconds * 10)):
        done = check()
        if await done if inspect.isawaitable(done) else done:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


def mail_config(root: Path, feeds: dict[str, str], mail: str, rules: str) -> Path:
    """A configuration directory: loopback feeds (id -> URL), these rules, alerts by email."""
    write(root / "sources.toml", loopback_sources(feeds))
    write(root / "alerts" / "rules.toml", rules)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\n',
    )
    allow_any_age(root)
    return root


def config_dir(tmp_path: Any, feed: str, mail: str, rules: str) -> Path:
    return mail_config(tmp_path / "config", {"fil": feed}, mail, rules)


async def start_service(
    tmp_path: Path, root: Path, *argv: str, database_url: str | None = None
) -> asyncio.subprocess.Process:
    """`monitor run [argv]` in a process of its own, logging to tmp_path/monitor.log."""
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
    }
    with (tmp_path / "monitor.log").open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--config", str(root), "run", *argv,
            env=env, cwd=str(REPO), stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
