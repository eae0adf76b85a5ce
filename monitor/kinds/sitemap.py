"""sitemap: the URLs of a (news) sitemap, or of the newest sitemaps of an index.

Each child sitemap gets its own conditional GET, with the validators remembered from the
last pass; one that fails is a warning, not a failed source.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.errors import SourceError
from monitor.fetch.client import SITEMAP_ACCEPT
from monitor.kinds.base import Ask, Read, Tools, fetch
from monitor.parse.feed import finish
from monitor.parse.sitemap import parse_sitemap
from monitor.records import CacheValidators, FeedItem, FetchResult

DEPTH = 2  # an index of indexes, at most
# A URL dated before this is history, not news (a site-wide sitemap lists years of
# pages); news sitemaps only list the last two days anyway. Undated URLs are kept.
WINDOW = timedelta(days=7)
_OLDEST = datetime.min.replace(tzinfo=UTC)

Validators = tuple[str | None, str | None]


async def read(ask: Ask, tools: Tools) -> Read:
    fetched = await fetch(ask, tools, SITEMAP_ACCEPT)
    if fetched.not_modified:
        return Read(fetched, ask.memo)
    with tools.recorder.timed("parse"):
        items, warnings, children = await _crawl(ask, tools, fetched)
    if fetched.body and not items and not children and not warnings:
        warnings.append("the sitemap lists no URL")
    since = ask.now - WINDOW
    items = [i for i in items if (i.published or i.updated or since) >= since]
    items.sort(key=lambda i: i.published or i.updated or _OLDEST, reverse=True)
    parsed = finish("", items, warnings, ask.source.max_items)
    memo = replace(ask.memo, sitemaps=children)
    return Read(fetched, memo, parsed.items, parsed.warnings)


async def _crawl(
    ask: Ask, tools: Tools, fetched: FetchResult
) -> tuple[list[FeedItem], list[str], dict[str, Validators]]:
    """The items of the sitemap and of its children, breadth first; the validators of
    each child read."""
    source = ask.source
    items: list[FeedItem] = []
    warnings: list[str] = []
    children: dict[str, Validators] = {}
    todo = [(fetched, 0)]
    while todo:
        current, depth = todo.pop(0)
        parsed = await tools.pool.run(
            parse_sitemap,
            current.body,
            url=current.url,
            max_items=source.max_items,
            max_size=tools.max_body * 10,
            source_id=source.id,
        )
        items += parsed.items
        warnings += [f"{current.url}: {w}" if depth else w for w in parsed.warnings]
        if parsed.children and depth >= DEPTH:
            warnings.append(f"{current.url}: sitemap indexes nested too deep; not followed")
            continue
        for child in parsed.children:
            if child == current.url:
                continue
            try:
                answer = await tools.http.get(
                    child,
                    source_id=source.id,
                    validators=_validators(ask.memo.sitemaps.get(child)),
                    accept=SITEMAP_ACCEPT,
                    private=source.private_access,
                )
            except SourceError as exc:
                warnings.append(f"sitemap {child} skipped: {exc.message}")
                continue
            children[child] = (answer.validators.etag, answer.validators.last_modified)
            if not answer.not_modified:
                todo.append((answer, depth + 1))
    return items, warnings, children


def _validators(pair: Validators | None) -> CacheValidators | None:
    return CacheValidators(*pair) if pair else None
