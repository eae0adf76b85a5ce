"""`sitemap` sources: news sitemaps (`<news:news>`), plain sitemaps and sitemap indexes.

A sitemap lists URLs, newest last as often as first; items are ordered by
their publication date (news:publication_date, else lastmod), newest first,
before the item limit applies. A sitemap index yields no items but the
sitemaps it lists (newest first), which the pipeline reads in turn.

A sitemap is read as a stream (lxml's iterparse, fed in chunks): each entry is
read when its end tag comes, then dropped from the tree, so a sitemap of a
million entries never stands in memory as a million elements; a URL already
listed is skipped as it comes. Gzipped sitemaps (`.xml.gz` sent as a file, not
with Content-Encoding) are inflated a chunk at a time as the parser asks, and
refused, before any parsing, when they pass MAX_SITEMAP_INFLATED bytes; at most
MAX_SITEMAP_URLS entries are read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice

from lxml import etree

from monitor.errors import ParseError
from monitor.parse.feed import Dropped, finish, first_of_each
from monitor.parse.html import http_link
from monitor.parse.limits import MAX_SITEMAP_INFLATED, MAX_SITEMAP_URLS
from monitor.parse.text import clean_text
from monitor.records import FeedItem, ParsedFeed

MAX_CHILDREN = 3  # sitemaps of an index read per pass: the most recent ones
CHUNK = 64 * 1024  # bytes handed to the parser at a time (inflated, for a gzipped sitemap)
_OLDEST = datetime.min.replace(tzinfo=UTC)
_KINDS = ("urlset", "sitemapindex")
# What is read of an entry: its children by these names, and theirs for <news:news>.
_READ = {"loc", "lastmod", "news", "title", "publication_date"}


def parse_sitemap(
    body: bytes,
    *,
    url: str,
    max_items: int = 200,
    max_size: int = 50_000_000,
    source_id: str = "",
) -> ParsedFeed:
    if body[:2] == b"\x1f\x8b":
        cap = min(max_size, MAX_SITEMAP_INFLATED)
        reader = _Stream(_inflated(body, cap, url, source_id))
    else:
        reader = _Stream(body[start : start + CHUNK] for start in range(0, len(body), CHUNK))
    events = etree.iterparse(
        reader,
        events=("start", "end"),
        recover=True,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
    )
    try:
        return _read(events, reader, url, max_items, source_id)
    except etree.XMLSyntaxError as exc:
        if reader.blank:
            raise ParseError(source_id, f"empty response from {url}") from None
        raise ParseError(source_id, f"unreadable sitemap {url}: {exc}") from None


def _read(
    events: etree.iterparse, reader: _Stream, url: str, max_items: int, source_id: str
) -> ParsedFeed:
    root = next((element for event, element in events if event == "start"), None)
    kind = _local(root) if root is not None else ""
    if not kind and reader.blank:
        raise ParseError(source_id, f"empty response from {url}")
    if root is None or kind not in _KINDS:
        raise ParseError(source_id, f"not a sitemap at {url} (root element {kind or 'missing'!r})")
    entries = _children_of(root, events)
    if kind == "sitemapindex":
        children = _children(entries, url)
        warnings = _parser_warnings(events.error_log)
        return ParsedFeed(title="", items=(), warnings=tuple(warnings), children=children)
    return _urlset(entries, events, url, max_items)


def _urlset(
    entries: Iterator[etree._Element], events: etree.iterparse, base: str, max_items: int
) -> ParsedFeed:
    """The items of a <urlset>, read as its entries come, each URL once."""
    urls = (entry for entry in entries if _local(entry) == "url")
    dropped = Dropped()
    read = (item for entry in islice(urls, MAX_SITEMAP_URLS) for item in _item(entry, base))
    items = list(first_of_each(read, dropped))
    skipped = sum(1 for _ in urls)  # parsed to the end (the warnings need it), not read
    warnings = _parser_warnings(events.error_log)
    if skipped:
        warnings.append(
            f"{skipped:,} URLs beyond the first {MAX_SITEMAP_URLS:,} of the sitemap were skipped"
        )
    items.sort(key=lambda i: i.published or i.updated or _OLDEST, reverse=True)
    if not items:
        warnings.append("the sitemap lists no URL")
    return finish("", items, warnings, max_items, dropped)


def _children_of(root: etree._Element, events: etree.iterparse) -> Iterator[etree._Element]:
    """Each child of `root` once it is complete; then it is dropped from the tree, and so
    are the elements inside it that are not read (the tree never holds more than one)."""
    depth = 1
    for event, element in events:
        if event == "start":
            depth += 1
            continue
        depth -= 1
        parent = element.getparent()
        if depth == 1:
            yield element
            root.remove(element)
        elif parent is not None and depth > 1 and _local(element) not in _READ:
            parent.remove(element)


class _Stream:
    """A file-like object over `chunks`, for iterparse, which reads as it parses; it
    tells whether all it gave was blank (an empty response, not a broken sitemap)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.blank = True

    def read(self, _size: int = -1) -> bytes:
        chunk = next(self._chunks, b"")
        self.blank = self.blank and not chunk.strip()
        return chunk


def _inflated(data: bytes, cap: int, url: str, source_id: str) -> Iterator[bytes]:
    """A gzip file's content, a chunk at a time, once a first inflation, which keeps
    nothing, has found it within `cap` bytes: a ParseError as soon as it passes the cap.
    Inflating twice costs far less than parsing what a bomb holds up to its cap."""
    size = 0
    for piece in _inflation(data, url, source_id):
        size += len(piece)
        if size > cap:
            raise ParseError(
                source_id, f"gzipped sitemap {url} inflates past the {cap:,}-byte cap: refused"
            )
    return _inflation(data, url, source_id)


def _inflation(data: bytes, url: str, source_id: str) -> Iterator[bytes]:
    """A gzip file's content, CHUNK bytes at a time (max_length: never more at once)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while not inflater.eof:
        try:
            piece = inflater.decompress(data, CHUNK)
        except zlib.error as exc:
            raise ParseError(source_id, f"corrupt gzipped sitemap {url}: {exc}") from None
        data = inflater.unconsumed_tail  # the input not inflated yet, for the next chunk
        if not piece and not data:
            raise ParseError(source_id, f"corrupt gzipped sitemap {url}: truncated")
        yield piece


def _item(entry: etree._Element, base: str) -> list[FeedItem]:
    fields = _fields(entry)
    link = http_link(fields.get("loc"), base)
    if link is None:
        return []
    news = next((child for child in entry if _local(child) == "news"), None)
    news_fields = _fields(news) if news is not None else {}
    return [
        FeedItem(
            key="url:" + link,
            url=link,
            title=clean_text(news_fields.get("title", "")),
            summary="",
            published=w3c_date(news_fields.get("publication_date")),
            updated=w3c_date(fields.get("lastmod")),
        )
    ]


def _children(entries: Iterable[etree._Element], base: str) -> tuple[str, ...]:
    found: list[tuple[datetime, int, str]] = []
    for position, entry in enumerate(e for e in entries if _local(e) == "sitemap"):
        fields = _fields(entry)
        link = http_link(fields.get("loc"), base)
        if link:
            # Newest first; without dates, the later entries (sitemap-2026-11.xml...) first.
            found.append((w3c_date(fields.get("lastmod")) or _OLDEST, position, link))
    found.sort(reverse=True)
    return tuple(link for _, _, link in found[:MAX_CHILDREN])


def _fields(element: etree._Element) -> dict[str, str]:
    """Direct children's text by local name (namespaces vary: news, image, none at all)."""
    return {
        _local(child): (child.text or "").strip() for child in element if isinstance(child.tag, str)
    }


def _local(element: etree._Element) -> str:
    """The tag without its namespace. Not etree.QName: it raises ValueError on the names
    the recovering parser lets through ("<E:"), found by fuzzing."""
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def w3c_date(value: str | None) -> datetime | None:
    """A W3C datetime (2026-11-20, 2026-11-20T08:00:00+01:00, ...Z) in UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parser_warnings(error_log: etree._ListErrorLog) -> list[str]:
    errors = [e for e in error_log if e.level >= etree.ErrorLevels.ERROR]
    if not errors:
        return []
    first = errors[0]
    return [f"ill-formed sitemap, read as far as possible (line {first.line}: {first.message})"]
