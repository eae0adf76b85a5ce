"""Real published articles, end to end: served as news pages on loopback, fetched,
extracted and matched by the shipped rules, one alert per event, the same whatever
order the feeds answer in.

The articles are real press excerpts labeled by a reader (tests/data/press). Each story
told by several outlets is published within a few hours, as news is: the test places
them in time (the excerpts' own dates are often missing or month-only).
"""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from monitor.extract.article import detect_language
from monitor.labels import LabeledArticle, read_labeled
from monitor.labels.evaluate import evaluate
from monitor.store.tables import AlertRow, ArticleRow, MatchRow

from support import REPO, Clock, reset_postgres, service, write

PRESS = REPO / "tests" / "data" / "press"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Multi-outlet stories: four events (one alert each) and two that are no event.
EVENTS = {
    "culture-ms-office-2016-11": "ministry-microsoft",
    "lyon1-ms-partenariat-2007-11": "ministry-microsoft",
    "gard-copilot-2025": "ministry-microsoft",
    # told in words that name the body differently: « les données de santé des Français »
    # and the Health Data Hub, Sciences Po and « Sciences Po Paris »
    "hdh-azure-2019": "ministry-microsoft",
    "sciencespo-ms-partenariat-2007-10": "ministry-microsoft",
    "s3ns-qualification-2025-12": "secnumcloud-qualification",
}
NOT_EVENTS = {
    "dinum-note-office365-2021-09": "ministry-microsoft",
    "thales-google-partnership-2021-10": "secnumcloud-qualification",
}
HEADLINE = ("ministry-microsoft", "secnumcloud-qualification")


def chosen() -> list[LabeledArticle]:
    articles = []
    for path in sorted(PRESS.glob("*.jsonl")):
        read, problems = read_labeled(path)
        assert not problems
        articles += [a for a in read if a.story in EVENTS or a.story in NOT_EVENTS]
    return articles


def published(article: LabeledArticle, stories: list[str]) -> datetime:
    """Stories a day apart, their articles an hour apart, all in the last few days."""
    position = stories.index(article.story or "")
    return NOW - timedelta(days=position + 1) + timedelta(minutes=sum(map(ord, article.id)) % 60)


def headline(article: LabeledArticle) -> str:
    """The article's title; for an excerpt labeled without one, its first line, as the
    outlet's page would show it."""
    if article.title:
        return article.title
    first = article.text.split("\n", 1)[0]
    return first if len(first) <= 120 else first[:120].rsplit(" ", 1)[0] + "…"


def page(article: LabeledArticle, when: datetime) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    title = escape(headline(article))
    return (
        f"<!doctype html><html lang='{article.lang or 'fr'}'><head><meta charset='utf-8'>"
        f"<title>{title}</title><meta property='article:published_time' "
        f"content='{when.isoformat()}'></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    )


def feed(items: list[tuple[LabeledArticle, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{escape(headline(a))}</title>"
        f"<link>{url}</link><guid>{url}</guid><pubDate>{format_datetime(when)}</pubDate></item>"
        for a, url, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{entries}</channel></rss>"
    )


def outlet(article: LabeledArticle) -> str:
    return (urlsplit(article.url or "").hostname or "press").removeprefix("www.").split(".")[0]


class Press:
    """One loopback server: an article page per labeled article, a feed per outlet (the
    feeds listed in ``order``; ``slow`` ones answer late)."""

    def __init__(self, articles: list[LabeledArticle]) -> None:
        self.articles = articles
        self.routes: dict[str, tuple[str, str]] = {}
        self.dates: dict[str, datetime] = {}  # article id -> the date its page carries
        self.slow: set[str] = set()
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.answer)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        stories = sorted({a.story or "" for a in self.articles})
        by_outlet: dict[str, list[tuple[LabeledArticle, str, datetime]]] = defaultdict(list)
        for article in self.articles:
            when = self.dates[article.id] = published(article, stories)
            path = f"/{outlet(article)}/{article.id}"
            self.routes[path] = (page(article, when), "text/html; charset=utf-8")
            by_outlet[outlet(article)].append((article, self.base + path, when))
        for name, items in by_outlet.items():
            self.routes[f"/{name}.xml"] = (feed(items), "application/rss+xml")
        self.urls = {a.id: self.base + f"/{outlet(a)}/{a.id}" for a in self.articles}
        self.feeds = {name: f"{self.base}/{name}.xml" for name in by_outlet}

    async def answer(self, request: web.Request) -> web.Response:
        if request.path in self.slow:
            await asyncio.sleep(0.3)
        body, content_type = self.routes.get(request.path, ("not found", "text/plain"))
        status = 200 if request.path in self.routes else 404
        return web.Response(text=body, status=status, content_type=content_type.split(";")[0])

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def configure(root: Path, feeds: list[tuple[str, str]], mail: str) -> Path:
    shutil.copytree(REPO / "alerts" / "rules", root / "alerts" / "rules")
    write(
        root / "sources.toml",
        # Every outlet is on one loopback host: no politeness delay between its requests.
        '[fetch]\nhost_delay = "0s"\nper_host = 8\n\n'
        + "".join(
            f'[[source]]\nid = "{name}"\nname = "{name}"\nurl = "{url}"\n'
            "allow_private_networks = true\n\n"
            for name, url in feeds
        ),
    )
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\nmode = "both"\n'
        '\n[digests.quotidien]\ncron = "0 7 * * *"\nchannels = ["mail"]\n',
    )
    return root


async def one_pass(tmp: Path, press: Press, feeds: list[tuple[str, str]], mail: str, pool, db):
    """Run one pass; (story of each article URL, alerts as (rule, heading URL), fired
    (url, rule) of the event tier, the digest's content)."""
    root = configure(tmp / "config", feeds, mail)
    async with service(tmp, root, pool, db, Clock(NOW)) as svc:
        summary = await svc.run_pass()
        async with svc.store.transaction() as session:
            stories = dict(
                (await session.execute(select(ArticleRow.url, ArticleRow.story_id))).all()
            )
            alerts = (
                await session.execute(
                    select(AlertRow.rule_id, ArticleRow.url)
                    .join(MatchRow, MatchRow.id == AlertRow.match_id)
                    .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
                )
            ).all()
            fired = (
                await session.execute(
                    select(ArticleRow.url, MatchRow.rule_id)
                    .join(MatchRow, MatchRow.article_id == ArticleRow.id)
                    .where(MatchRow.tier == "event")
                )
            ).all()
        digest = await svc.digests.preview("quotidien")
    assert all(o.ok for o in summary.outcomes), [o.error for o in summary.outcomes if not o.ok]
    return stories, sorted(map(tuple, alerts)), set(map(tuple, fired)), digest


def grouping(stories: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = defaultdict(set)
    for url, story in stories.items():
        groups[story].add(url)
    return {frozenset(g) for g in groups.values()}


async def test_real_press_one_alert_per_event_whatever_the_order(
    tmp_path, smtp_server, pool, db_url
) -> None:
    articles = chosen()
    press = Press(articles)
    await press.start()
    try:
        feeds = sorted(press.feeds.items())
        first = await one_pass(tmp_path / "a", press, feeds, smtp_server.url(), pool, db_url)
        # Again on a fresh database: the feeds listed the other way round, the first
        # half of them answering late.
        press.slow = {urlsplit(url).path for _, url in feeds[: len(feeds) // 2]}
        second_db = db_url if "postgresql" in db_url else f"sqlite:///{tmp_path / 'b.sqlite3'}"
        if "postgresql" in db_url:
            await reset_postgres(db_url)
        second = await one_pass(
            tmp_path / "b", press, list(reversed(feeds)), smtp_server.url(), pool, second_db
        )
    finally:
        await press.close()

    stories, alerts, fired, digest = first
    # The same articles give the same stories, the same alerts headed by the same article.
    assert grouping(stories) == grouping(second[0])
    assert alerts == second[1] and fired == second[2]

    # What the pipeline fired is what `monitor rules eval` predicts for these articles,
    # given the headline and the date their pages carry.
    from monitor.preflight import load_checked

    config = load_checked(tmp_path / "a" / "config", {})
    served = [replace(a, title=headline(a), published=press.dates[a.id].date()) for a in articles]
    for score in evaluate(config, served, HEADLINE, detect_language):
        predicted = {
            (press.urls[c.article.id], score.rule_id) for c in score.cases if c.verdict.fired
        }
        assert predicted == {(u, r) for u, r in fired if r == score.rule_id}

    by_id = {press.urls[a.id]: a for a in articles}
    for story, rule in EVENTS.items():
        members = {url for url, a in by_id.items() if a.story == story}
        fired_here = {url for url, r in fired if r == rule and url in members}
        raised = [url for r, url in alerts if r == rule and url in members]
        assert fired_here, f"{story}: no article fired {rule}"
        # One alert for the story, and every article that fired is in its story.
        assert len(raised) == 1, f"{story}: {len(raised)} alerts"
        assert len({stories[url] for url in fired_here}) == 1, f"{story} split"
    for story in NOT_EVENTS:
        members = {url for url, a in by_id.items() if a.story == story}
        assert not [url for r, url in alerts if r in HEADLINE and url in members], story

    # The digest lists each alerted story once, under its rule, with its outlets.
    listed = {(group.rule_id, s.entry.url) for group in digest.groups for s in group.stories}
    assert {(r, u) for r, u in alerts} <= listed
    related = {(g.rule_id, s.entry.story_id) for g in digest.groups for s in g.related}
    assert not related & {(r, stories[u]) for r, u in alerts}
    # The stories that are no event but on the rule's topic are its related coverage.
    for story, rule in NOT_EVENTS.items():
        members = {stories[url] for url, a in by_id.items() if a.story == story}
        assert members & {s for r, s in related if r == rule}, f"{story} not in related"
