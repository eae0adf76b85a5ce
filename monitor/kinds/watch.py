"""watch: the lines of a page region, compared with the last pass; a change becomes one
article, written here (what was added and removed), with no page to read.

The first pass only takes the baseline."""

from __future__ import annotations

import logging
from dataclasses import replace

from monitor.fetch import PAGE_ACCEPT
from monitor.kinds.base import Ask, Made, Read, Tools, fetch
from monitor.parse.identity import content_hash, digest
from monitor.parse.watch import change_text, change_title, compare, region_lines
from monitor.records import Article, Extraction, FeedItem, WatchChange

log = logging.getLogger(__name__)


async def read(ask: Ask, tools: Tools) -> Read:
    source = ask.source
    assert source.selector is not None  # the configuration requires one
    fetched = await fetch(ask, tools, PAGE_ACCEPT)
    if fetched.not_modified:
        return Read(fetched, ask.memo)
    lines = await tools.pool.run(
        region_lines,
        fetched.body,
        url=fetched.url,
        selector=source.selector,
        charset=fetched.charset,
        source_id=source.id,
    )
    memo = replace(ask.memo, watch=lines)
    if ask.memo.watch is None:
        log.info("source %s: watching %d lines from now on", source.id, len(lines))
        return Read(fetched, memo)
    change = compare(ask.memo.watch, lines)
    made = (_article(ask, fetched.url, change),) if change else ()
    return Read(fetched, memo, made=made)


def _article(ask: Ask, url: str, change: WatchChange) -> Made:
    """The change as an article of its own, identified by what was added and removed."""
    source = ask.source
    identity = digest("\n".join(sorted(change.added)) + "\0" + "\n".join(sorted(change.removed)))
    text = change_text(change)
    title = change_title(source.name, change)
    item = FeedItem(key="watch:" + identity, url=url, title=title, summary=text)
    article = Article(
        url=url,
        canonical_url=f"watch:{source.id}:{identity[:32]}",
        source_id=source.id,
        source_name=source.name,
        title=title,
        text=text,
        summary=text,
        content_hash=content_hash(title, text),
        extraction=Extraction.WATCH,
        published=ask.now,
        lang=source.lang,  # else told from the text in the worker pool
        tags=source.tags,
        change=change,
    )
    return Made(item, article)
