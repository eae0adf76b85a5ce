"""page: a listing page; the links its CSS selector finds are the items."""

from __future__ import annotations

from monitor.fetch import PAGE_ACCEPT
from monitor.kinds.base import Ask, Read, Tools, fetch, parse
from monitor.parse.listing import parse_listing


async def read(ask: Ask, tools: Tools) -> Read:
    assert ask.source.selector is not None  # the configuration requires one
    fetched = await fetch(ask, tools, PAGE_ACCEPT)
    if fetched.not_modified:
        return Read(fetched, ask.memo)
    parsed = await parse(
        tools,
        parse_listing,
        fetched.body,
        selector=ask.source.selector,
        url=fetched.url,
        charset=fetched.charset,
        max_items=ask.source.max_items,
        source_id=ask.source.id,
    )
    return Read(fetched, ask.memo, parsed.items, parsed.warnings)
