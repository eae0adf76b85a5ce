"""`sitemap` sources: news sitemaps (`<news:news>`), plain sitemaps and sitemap indexes.

A sitemap lists URLs, newest last as often as first; items are ordered by
their publication date (news:publication_date, else lastmod), newest first,
before the item limit applies. A sitemap index yields no items but the
sitemaps it lists (newest first), which the pipeline reads in turn. Gzipped
sitemaps (`.xml.gz` sent as a file, not with Content-Encoding) are inflated
incrementally and refused beyond MAX_SITEMAP_INFLATED bytes; at most
MAX_SITEMAP_URLS entries are read.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from lxml import etree

from monitor.errors import ParseError
from monitor.fetch.body import BadEncoding, BodyTooLarge, inflate_capped
from monitor.parse.feed import finish
from monitor.parse.html import http_link
from monitor.parse.limits import MAX_SITEMAP_INFLATED, MAX_SITEMAP_URLS
from monitor.parse.text import clean_text
from monitor.records import FeedItem, ParsedFeed

MAX_CHILDREN = 3  # sitemaps of an index read per pass: the most recent ones
_OLDEST = datetime.min.replace(tzinfo=UTC)


def parse_sitemap(
    body: bytes,
    *,
    url: str,
    max_items: int = 200,
    max_size: int = 50_000_000,
    source_id: str = "",
) -> ParsedFeed:
    if body[:2] == b"\x1f\x8b":
        try:
            body = inflate_capped(body, min(max_size, MAX_SITEMAP_INFLATED))
        except BodyTooLarge as exc:
            raise ParseError(source_id, f"{exc} (gzipped sitemap {url})") from exc
        except (BadEncoding, zlib.error) as exc:
            raise ParseError(source_id, f"corrupt gzipped sitemap {url}: {exc}") from exc
    if not body.strip():
        raise ParseError(source_id, f"empty response from {url}")
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(source_id, f"unreadable sitemap {url}: {exc}") from None
    warnings = _parser_warnings(parser)
    kind = _local(root) if root is not None else ""
    if kind == "sitemapindex":
        children = _children(root, url)
        return ParsedFeed(title="", items=(), warnings=tuple(warnings), children=children)
    if kind != "urlset":
        raise ParseError(source_id, f"not a sitemap at {url} (root element {kind or 'missing'!r})")
    entries = [entry for entry in root if _local(entry) == "url"]
    if len(entries) > MAX_SITEMAP_URLS:
        warnings.append(
            f"{len(entries) - MAX_SITEMAP_URLS:,} URLs beyond the first "
            f"{MAX_SITEMAP_URLS:,} of the sitemap were skipped"
        )
    items = [item for entry in entries[:MAX_SITEMAP_URLS] for item in _item(entry, url)]
    items.sort(key=lambda i: i.published or i.updated or _OLDEST, reverse=True)
    if not items:
        warnings.append("the sitemap lists no URL")
    return finish("", items, warnings, max_items)


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


def _children(root: etree._Element, base: str) -> tuple[str, ...]:
    found: list[tuple[datetime, int, str]] = []
    for position, entry in enumerate(e for e in root if _local(e) == "sitemap"):
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


def _parser_warnings(parser: etree.XMLParser) -> list[str]:
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if not errors:
        return []
    first = errors[0]
    return [f"ill-formed sitemap, read as far as possible (line {first.line}: {first.message})"]
