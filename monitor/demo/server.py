"""A loopback web server for the demo: fictional outlets, their RSS feeds and article pages."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from importlib import resources
from types import TracebackType
from xml.sax.saxutils import escape

from aiohttp import web

DATA = resources.files("monitor.demo") / "data"


@dataclass(frozen=True)
class Outlet:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    outlet: str
    title: str
    published: datetime
    summary: str
    author: str
    expect: tuple[str, ...]
    note: str

    @property
    def html(self) -> bytes:
        return (DATA / "articles" / f"{self.slug}.html").read_bytes()


@dataclass(frozen=True)
class DemoIndex:
    outlets: tuple[Outlet, ...]
    articles: tuple[DemoArticle, ...]

    def of(self, outlet: str) -> list[DemoArticle]:
        return sorted(
            (a for a in self.articles if a.outlet == outlet),
            key=lambda a: a.published,
            reverse=True,
        )


def load_index() -> DemoIndex:
    data = tomllib.loads((DATA / "index.toml").read_text(encoding="utf-8"))
    outlets = tuple(Outlet(o["id"], o["name"], o.get("description", "")) for o in data["outlet"])
    articles = tuple(
        DemoArticle(
            a["slug"],
            a["outlet"],
            a["title"],
            a["published"],
            a["summary"],
            a.get("author", ""),
            tuple(a.get("expect", ())),
            a.get("note", ""),
        )
        for a in data["article"]
    )
    return DemoIndex(outlets, articles)


def rss(outlet: Outlet, articles: list[DemoArticle], base: str) -> bytes:
    items = "".join(
        f"""
    <item>
      <title>{escape(a.title)}</title>
      <link>{base}/{outlet.id}/{a.slug}</link>
      <guid isPermaLink="false">{outlet.id}-{a.slug}</guid>
      <pubDate>{format_datetime(a.published)}</pubDate>
      <dc:creator>{escape(a.author)}</dc:creator>
      <description>{escape(a.summary)}</description>
    </item>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(outlet.name)}</title>
    <link>{base}/{outlet.id}/</link>
    <description>{escape(outlet.description)}</description>
    <language>fr-FR</language>{items}
  </channel>
</rss>
""".encode()


class DemoServer:
    def __init__(self, index: DemoIndex) -> None:
        self.index = index
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> DemoServer:
        app = web.Application()
        app.router.add_get("/{outlet}/feed.xml", self._feed)
        app.router.add_get("/{outlet}/{slug}", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def feed_url(self, outlet: str) -> str:
        return f"{self.base}/{outlet}/feed.xml"

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        outlet = next((o for o in self.index.outlets if o.id == request.match_info["outlet"]), None)
        if outlet is None:
            raise web.HTTPNotFound()
        body = rss(outlet, self.index.of(outlet.id), self.base)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body, content_type="application/rss+xml", charset="utf-8", headers={"ETag": etag}
        )

    async def _page(self, request: web.Request) -> web.StreamResponse:
        slug = request.match_info["slug"]
        article = next(
            (
                a
                for a in self.index.articles
                if a.slug == slug and a.outlet == request.match_info["outlet"]
            ),
            None,
        )
        if article is None:
            raise web.HTTPNotFound()
        return web.Response(body=article.html, content_type="text/html", charset="utf-8")
