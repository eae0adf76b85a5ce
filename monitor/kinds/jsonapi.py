"""json (and the presets boamp, decp): the records of an API's pages, from the source's
cursor on; each record is an item, with its text in the record (no page is read).

At most `max_pages` pages a pass: the next pass resumes where this one stopped, the
cursor moving with the memo that the pipeline saves once the articles are written.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.kinds.base import Ask, Read, Tools
from monitor.parse.feed import finish
from monitor.parse.jsonapi import Cursor, first_url, next_cursor, parse_page, start_cursor
from monitor.records import CacheValidators, FeedItem, FetchResult

ACCEPT = "application/json, */*;q=0.5"


async def read(ask: Ask, tools: Tools) -> Read:
    source = ask.source
    assert source.mapping is not None  # the configuration requires one
    memo = ask.memo
    cursor = Cursor.from_dict(memo.cursor) if memo.cursor else None
    if cursor is None and source.cursor is not None:
        cursor = start_cursor(ask.now, source.lookback)
    url: str | None = first_url(source.url, source.params, source.paging, source.cursor, cursor)
    items: list[FeedItem] = []
    marks: list[tuple[str, str]] = []
    warnings: list[str] = []
    fetched: FetchResult | None = None
    page = 0
    # Records past max_items are not read at all (not read and dropped): the cursor
    # then stays before them, and the next pass asks for them again.
    budget = source.max_items
    while url is not None and page < source.paging.max_pages and budget > 0:
        page += 1
        fetched = await tools.http.get(
            url, source_id=source.id, accept=ACCEPT, private=source.private_access
        )
        parsed = await tools.pool.run(
            parse_page,
            fetched.body,
            url=fetched.url,
            mapping=source.mapping,
            paging=source.paging,
            page=page,
            spec=source.cursor,
            cursor=cursor,
            max_items=budget,
            source_id=source.id,
        )
        items += parsed.items
        marks += parsed.marks
        warnings += parsed.warnings
        # A page cut short ends the pass: the pages after it are newer than its
        # unread records, and reading them would move the cursor past those.
        url = parsed.next_url if budget >= source.paging.limit else None
        budget -= max(len(parsed.marks), len(parsed.items))
    assert fetched is not None  # max_pages is at least 1
    moved = next_cursor(cursor, marks)
    memo = replace(memo, cursor=moved.to_dict() if moved is not None else {})
    # The pages' URLs carry the cursor and offsets: neither a redirect nor validators
    # of one of them is the source's.
    last = replace(fetched, permanent_redirect=None, validators=CacheValidators())
    read = finish("", items, warnings, source.max_items)
    return Read(last, memo, read.items, read.warnings)
