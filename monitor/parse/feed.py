"""RSS 0.9x/1.0/2.0, Atom, RDF and JSON Feed into `ParsedFeed` (feedparser does the reading).

This runs in the worker process pool: feedparser is pure Python and a large
feed costs tens of milliseconds of CPU that the event loop should not pay.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from monitor.parse.dates import from_struct
from monitor.parse.encoding import codec_name, xml_as_utf8
from monitor.parse.entities import without_entity_declarations
from monitor.parse.html import http_link
from monitor.parse.identity import entry_key
from monitor.parse.jsonfeed import looks_like_json, parse_json_feed
from monitor.parse.limits import MAX_ITEMS, MAX_SUMMARY, MAX_TITLE
from monitor.parse.text import clean_text, html_to_text
from monitor.records import FeedItem, ParsedFeed


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str = "",
    charset: str | None = None,
    max_items: int = 200,
    source_id: str = "",
) -> ParsedFeed:
    if looks_like_json(body, content_type):
        title, items, warnings = parse_json_feed(body, url, source_id)
        return finish(title, items, warnings, max_items)
    # Decode first, with the same order of trust as pages: feedparser believes a lying header.
    utf8, used = xml_as_utf8(body, charset)
    # Blank lines before the XML declaration (a PHP include's doing) make it ill-formed.
    utf8 = utf8.lstrip()
    utf8 = without_entity_declarations(utf8, url, source_id)
    headers = {"content-location": url}
    if content_type or used != "ascii":
        # What feedparser reads is UTF-8 now, whatever the server said (or did not say).
        charset_param = "; charset=utf-8" if used != "ascii" else ""
        headers["content-type"] = (content_type or "application/xml") + charset_param
    # Imported here: feeds are parsed in the workers, the main process never needs it.
    import feedparser

    # Neither sanitized nor with relative links resolved: summaries become plain text
    # (html_to_text), and resolving re-parses each HTML summary, which on an entity-heavy
    # one cost nearly half the parse's time and memory.
    parsed = feedparser.parse(
        utf8, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    warnings = _bozo_warnings(
        parsed, (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    )
    declared = codec_name(charset)
    if declared and used not in ("ascii", declared):
        warnings.append(
            f"the server declares charset {charset} but the feed is {used}: read as {used}"
        )
    if not parsed.entries and (warnings or not parsed.get("version")):
        raise ParseError(source_id, _not_a_feed(body, content_type, warnings, url))
    if not parsed.entries:
        warnings.append("the feed has no items")
    items = [_item(entry, url) for entry in parsed.entries]
    return finish(clean_text(parsed.feed.get("title", "") or ""), items, warnings, max_items)


def finish(
    title: str,
    all_items: list[FeedItem],
    warnings: list[str],
    max_items: int,
    dropped: Dropped | None = None,
) -> ParsedFeed:
    """The feed: entries keyed, each once, capped; `dropped` counts the entries that a
    streaming reader dropped already (`first_of_each`), for the same warnings."""
    all_items, rekeyed = _rekey_shared_guids(all_items)
    if rekeyed:
        warnings.append(
            f"{rekeyed} entries share an id with entries that link elsewhere; "
            "identified by their link instead"
        )
    max_items = min(max_items, MAX_ITEMS)
    dropped = Dropped() if dropped is None else dropped
    items = _dedupe_and_cap(all_items, max_items, dropped)
    items, cut = _within_text_limits(items)
    if cut:
        warnings.append(
            f"{cut} entries had a title over {MAX_TITLE:,} or a summary over "
            f"{MAX_SUMMARY:,} characters; cut there"
        )
    if dropped.duplicates:
        warnings.append(
            f"{dropped.duplicates} entries repeat an earlier entry's id; kept the first"
        )
    if dropped.over_limit:
        warnings.append(
            f"{dropped.over_limit} entries beyond the {max_items}-item limit were skipped"
        )
    return ParsedFeed(title=title, items=tuple(items), warnings=tuple(warnings))


@dataclass
class Dropped:
    """Entries left out of a feed: repeats of an earlier entry's key, and those past the
    item limit."""

    duplicates: int = 0
    over_limit: int = 0


def _rekey_shared_guids(items: list[FeedItem]) -> tuple[list[FeedItem], int]:
    """A guid given to several entries with different links (a feed that puts its home page,
    or a constant, in every <guid>) identifies nothing: those entries are keyed by link."""
    links: dict[str, set[str | None]] = defaultdict(set)
    for item in items:
        links[item.key].add(item.url)
    shared = {key for key, urls in links.items() if key.startswith("guid:") and len(urls) > 1}
    if not shared:
        return items, 0
    rekeyed = [
        replace(item, key="url:" + item.url) if item.key in shared and item.url else item
        for item in items
    ]
    return rekeyed, sum(1 for item in items if item.key in shared and item.url)


def first_of_each(items: Iterable[FeedItem], dropped: Dropped) -> Iterator[FeedItem]:
    """The items whose key comes for the first time, as they come; repeats are counted in
    `dropped`."""
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            dropped.duplicates += 1
            continue
        seen.add(item.key)
        yield item


def _dedupe_and_cap(all_items: list[FeedItem], max_items: int, dropped: Dropped) -> list[FeedItem]:
    items: list[FeedItem] = []
    for item in first_of_each(all_items, dropped):
        if len(items) >= max_items:
            dropped.over_limit += 1
            continue
        items.append(item)
    return items


def _within_text_limits(items: list[FeedItem]) -> tuple[list[FeedItem], int]:
    """Titles and summaries cut to their caps, and how many items were cut."""
    capped = [
        replace(item, title=item.title[:MAX_TITLE], summary=item.summary[:MAX_SUMMARY])
        if len(item.title) > MAX_TITLE or len(item.summary) > MAX_SUMMARY
        else item
        for item in items
    ]
    return capped, sum(1 for old, new in zip(items, capped, strict=True) if old is not new)


def _item(entry: Any, base: str) -> FeedItem:
    link = entry.get("link") or _first_alternate(entry)
    url = urljoin(base, link.strip()) if link else None
    title = html_to_text(entry.get("title", ""))
    summary = html_to_text(_richest_summary(entry))
    guid = (entry.get("id") or "").strip() or None
    return FeedItem(
        key=entry_key(guid, url, title, summary),
        url=url,
        title=title,
        summary=summary,
        guid=guid,
        author=clean_text(entry.get("author", "") or "") or None,
        published=from_struct(entry.get("published_parsed")),
        updated=from_struct(entry.get("updated_parsed")),
    )


def _first_alternate(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _richest_summary(entry: Any) -> str:
    """The longest of the summary and the content blocks: some feeds ship the full text."""
    candidates = [entry.get("summary", "") or ""]
    candidates += [c.get("value", "") or "" for c in entry.get("content", [])]
    return max(candidates, key=len)


def _bozo_warnings(parsed: Any, benign: tuple[type[Exception], ...]) -> list[str]:
    """What feedparser flagged, but for the `benign` flags, which say nothing about the
    feed's quality (a missing or generic Content-Type, a charset it had to correct)."""
    if not parsed.get("bozo"):
        return []
    exc = parsed.get("bozo_exception")
    if isinstance(exc, benign):
        return []
    name = type(exc).__name__ if exc is not None else "Error"
    return [f"ill-formed feed, read as far as possible ({name}: {exc})"]


def _not_a_feed(body: bytes, content_type: str, warnings: list[str], url: str) -> str:
    if not body.strip():
        return f"empty response from {url}"
    if looks_like_html(body, content_type):
        advertised = advertised_feed(body, url)
        hint = f"; the page advertises a feed at {advertised}" if advertised else ""
        return (
            f"got an HTML page, not a feed, from {url} "
            f"(content type {content_type or 'unknown'}){hint}"
        )
    detail = f": {warnings[0]}" if warnings else ""
    return f"not a recognizable RSS, Atom or JSON feed at {url}{detail}"


def looks_like_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


_LINK_OR_BASE = re.compile(rb"<(link|base)\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_FEED_TYPES = (b"application/rss+xml", b"application/atom+xml", b"application/feed+json")


def advertised_feed(body: bytes, base: str) -> str | None:
    """The first feed an HTML page links to with <link rel="alternate" type="...">."""
    return next(iter(advertised_feeds(body, base)), None)


def advertised_feeds(body: bytes, base: str) -> list[str]:
    """Every http(s) feed an HTML page links to with <link rel="alternate" type="...">, in
    page order, each once, resolved against the page's <base href> or else `base`."""
    found: list[str] = []
    based = False
    for tag in _LINK_OR_BASE.finditer(body[:200_000]):
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
            for m in _ATTR.finditer(tag.group(0))
        }
        href = html.unescape(attrs.get(b"href", b"").decode("utf-8", errors="replace"))
        if tag.group(1).lower() == b"base":
            if not based and href.strip():  # only the first <base href> counts
                base, based = urljoin(base, href.strip()), True
            continue
        rel = attrs.get(b"rel", b"").lower().split()
        if b"alternate" in rel and attrs.get(b"type", b"").lower() in _FEED_TYPES:
            url = http_link(href, base)
            if url and url not in found:
                found.append(url)
    return found
