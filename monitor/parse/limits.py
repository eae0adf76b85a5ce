"""Caps on what one hostile or broken document can make the parsers produce.

Every cap on parsed input lives here, so that sources.toml's "Limits" comment
block has one place to agree with. A value over a cap is cut (titles, texts) or
the document is refused with a ParseError (entities, depth, inflated size).
"""

from __future__ import annotations

MAX_TITLE = 1_000  # characters of an item's title
MAX_SUMMARY = 20_000  # characters of an item's summary (feed text)
MAX_TEXT = 200_000  # characters of an extracted article's text
MAX_ITEMS = 500  # items kept from one feed, whatever a source's max_items says
MAX_SITEMAP_INFLATED = 20_000_000  # bytes of a gzipped sitemap once inflated
MAX_SITEMAP_URLS = 50_000  # <url> entries read from one sitemap (the protocol's own limit)
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in a JSON Feed or JSON API page
DOCTYPE_SCAN = 64 * 1024  # bytes at the head of a feed searched for a DOCTYPE
EXTRACT_DEADLINE = 30.0  # seconds one extraction task may run in a worker
POISON_AFTER = 2  # failed extractions of a URL after which it is no longer tried
