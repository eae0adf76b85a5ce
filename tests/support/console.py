"""A database filled by a real pass over loopback feeds, for the API and web console tests:
two outlets reporting one story, an off-topic article, an article whose title is full of
markup, a source that fails, and a mail channel that cannot be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from monitor.api import Monitor, open_monitor

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    OFF_TOPIC,
    OTHER_OUTLET,
    allow_any_age,
    rss,
    serve_articles,
    write,
)

RULE_ID = "ministry-microsoft"
MARKED = "ministere-agriculture-abandonne-microsoft-365"
# What a hostile or careless feed may send: it must show as text, never as markup.
MARKUP_TITLE = '<script>alert("pwned")</script> <b>Microsoft</b> & le ministère'


@dataclass(frozen=True)
class Filled:
    config_dir: Path
    database_url: str
    pages: dict[str, str]  # slug -> URL served

    def open(self, pool: Any, **options: Any) -> Monitor:
        return open_monitor(self.config_dir, self.database_url, environ={}, pool=pool, **options)


def _markup_item(url: str) -> str:
    # Escaped twice: RSS titles are HTML, and this one shows its tags as text.
    return (
        f"<item><title>{escape(escape(MARKUP_TITLE))}</title><link>{url}</link><guid>{url}</guid>"
        f"<description>{escape(DEMO[MARKED].summary)}</description></item>"
    )


def dated(feed: str, *hours_ago: float) -> str:
    """The feed's items dated that many hours ago, in order: the story index keeps the
    last days only, and the two outlets' articles must make one story whenever the tests
    run (their pages carry 2026-11 dates), the first outlet's first."""
    head, *items = feed.split("<item>")
    now = datetime.now(UTC)
    stamps = [format_datetime(now - timedelta(hours=h)) for h in hours_ago]
    return head + "".join(
        f"<item><pubDate>{stamp}</pubDate>{item}" for stamp, item in zip(stamps, items, strict=True)
    )


def console_config(root: Path, web_server: Any) -> tuple[Path, dict[str, str]]:
    """The configuration directory, and the article pages it leads to."""
    pages = serve_articles(web_server, EVENT, OFF_TOPIC, OTHER_OUTLET, MARKED)
    fil = rss([(EVENT, pages[EVENT]), (OFF_TOPIC, pages[OFF_TOPIC])]).replace(
        "</channel>", _markup_item(pages[MARKED]) + "</channel>"
    )
    feeds = {
        "fil": web_server.add(
            "/fil.xml", dated(fil, 3, 2.9, 1), content_type="application/rss+xml"
        ),
        "hebdo": web_server.add(
            "/hebdo.xml",
            dated(rss([(OTHER_OUTLET, pages[OTHER_OUTLET])]), 2),
            content_type="text/xml",
        ),
        "panne": web_server.add("/panne.xml", "", status=500),
    }
    write(
        root / "sources.toml",
        "".join(
            f'[[source]]\nid = "{sid}"\nname = "Outlet {sid}"\nurl = "{url}"\n'
            "allow_private_networks = true\n\n"
            for sid, url in feeds.items()
        ),
    )
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    write(
        root / "alerts" / "channels.toml",
        """
        [channels.mail]
        url = "mailto://127.0.0.1:9?from=veille@example.org&to=team@example.org"

        [routing]
        channels = ["console", "mail"]

        [digests.matin]
        channels = ["console"]
        title = "Synthèse du matin"
        """,
    )
    # One attempt: the unreachable mail channel fails for good at once.
    write(root / "monitor.toml", "[delivery]\nmax_attempts = 1\n")
    allow_any_age(root)
    return root, pages


async def fill(tmp_path: Path, web_server: Any, pool: Any, database_url: str) -> Filled:
    """The configuration, and one real pass over it into `database_url`."""
    root, pages = console_config(tmp_path / "config", web_server)
    filled = Filled(root, database_url, pages)
    async with filled.open(pool) as monitor:
        await monitor.poll()
    return filled
