"""Ingestion tests' material: feeds, news sitemaps, article pages, a service on a temporary
configuration, a second loopback host."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from monitor.app import Service
from monitor.extract import WorkerPool
from monitor.store.tables import ArticleRow

from support import Clock, service, write

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = """
[[rule]]
id = "secnumcloud"
title = "SecNumCloud"
query = 'SecNumCloud'
"""
FETCH = """
[fetch]
timeout = "2s"
read_timeout = "1s"
max_body = "1MB"
host_delay = "0s"
per_host = 8
"""
ARTICLE = """<!DOCTYPE html><html lang="fr"><head><title>{title}</title>
<meta property="og:description" content="{lead}">
<meta property="og:site_name" content="Le Journal">
<meta property="article:published_time" content="2026-11-20T08:00:00+00:00">{head}</head>
<body><p class="chapo">{lead}</p><article><h1>{title}</h1>
<p>{body}</p><p>Le ministère précise que la migration concernera plusieurs directions et
s'étalera sur les deux prochaines années, avec un premier lot au printemps.</p>
<p>Les syndicats demandent des garanties sur la réversibilité et le coût total du projet,
ainsi qu'un calendrier détaillé des étapes de la bascule.</p></article></body></html>"""


def article_html(
    title: str = "Un hébergeur qualifié",
    body: str = "L'offre a obtenu la qualification SecNumCloud de l'ANSSI cette semaine.",
    lead: str = "Le chapô qui dit l'essentiel de l'événement annoncé ce matin.",
    head: str = "",
) -> str:
    return ARTICLE.format(title=title, body=body, lead=lead, head=head)


def urlset_of(*entries: tuple[str, str, str]) -> str:
    """A news sitemap of (URL, publication date, title)."""
    urls = "".join(
        f"<url><loc>{loc}</loc><news:news><news:publication_date>{date}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>"
        for loc, date, title in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )


def source(sid: str, url: str, **extra: Any) -> str:
    lines = ["[[source]]", f'id = "{sid}"', f'name = "Source {sid}"', f'url = "{url}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


def build(
    tmp_path: Path,
    sources: str,
    pool: WorkerPool,
    *,
    db_url: str | None = None,
    clock: Clock | None = None,
    fetch: str = FETCH,
    env: dict[str, str] | None = None,
) -> Service:
    """A Service on a temporary config directory with `sources`, sharing the session's pool."""
    config_dir = tmp_path / "config"
    write(config_dir / "sources.toml", fetch + "\n" + sources)
    write(config_dir / "alerts" / "rules.toml", RULES)
    return service(
        tmp_path, config_dir, pool, db_url, clock or Clock(NOW),
        settings_env=env, console=io.StringIO(),
    )  # fmt: skip


async def articles(svc: Service) -> list[ArticleRow]:
    async with svc.store.transaction() as session:
        return list((await session.scalars(select(ArticleRow).order_by(ArticleRow.id))).all())


async def states(svc: Service) -> dict[str, Any]:
    return {state.id: state for state in await svc.store.source_states()}


@dataclass
class OtherHost:
    """A second loopback server on 127.0.0.2: a "public" host for the guard tests."""

    server: TestServer
    routes: dict[str, tuple[str, str]]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@asynccontextmanager
async def second_host() -> AsyncIterator[OtherHost]:
    routes: dict[str, tuple[str, str]] = {}

    async def handle(request: web.Request) -> web.Response:
        if request.path not in routes:
            return web.Response(status=404)
        body, content_type = routes[request.path]
        return web.Response(text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.2")
    await server.start_server()
    try:
        yield OtherHost(server, routes)
    finally:
        await server.close()
