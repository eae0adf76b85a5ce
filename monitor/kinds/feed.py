"""feed: an RSS, Atom, RDF or JSON Feed document; its entries are the items."""

from __future__ import annotations

from monitor.fetch import FEED_ACCEPT
from monitor.kinds.base import Ask, Read, Tools, fetch, parse
from monitor.parse.feed import parse_feed


async def read(ask: Ask, tools: Tools) -> Read:
    fetched = await fetch(ask, tools, FEED_ACCEPT)
    if fetched.not_modified:
        return Read(fetched, ask.memo)
    parsed = await parse(
        tools,
        parse_feed,
        fetched.body,
        content_type=fetched.content_type,
        url=fetched.url,
        charset=fetched.charset,
        max_items=ask.source.max_items,
        source_id=ask.source.id,
    )
    return Read(fetched, ask.memo, parsed.items, parsed.warnings)
