"""`page` sources: a listing page without a feed (a press room, a news index).

The source's CSS selector picks the article links, or the blocks (cards,
list items) that hold them. Each distinct link becomes an item keyed by its
URL; its title is the block's heading, else the link's own text. The page
date comes later, from the article page itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from monitor.parse.feed import finish
from monitor.parse.html import base_url, html_document, http_link, select
from monitor.parse.text import clean_text
from monitor.records import FeedItem, ParsedFeed

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def parse_listing(
    body: bytes,
    *,
    url: str,
    selector: str,
    charset: str | None = None,
    max_items: int = 200,
    source_id: str = "",
) -> ParsedFeed:
    root = html_document(body, url, charset, source_id)
    base = base_url(root, url)
    items: list[FeedItem] = []
    for element in select(root, selector, url, source_id):
        item = _item(element, base)
        if item is not None and item.url not in (url, base):  # "see all news": the page itself
            items.append(item)
    warnings: list[str] = []
    if not items:
        warnings.append(f"the selector {selector!r} matches elements but no http(s) link")
    title = clean_text(root.findtext(".//title") or "")
    return finish(title, items, warnings, max_items)


def _item(element: etree._Element, base: str) -> FeedItem | None:
    anchors = [element] if element.tag == "a" else element.xpath(".//a[@href]")
    for anchor in anchors:
        link = http_link(anchor.get("href"), base)
        if link is None:
            continue
        title = _heading(element) or _text(anchor) or ""
        return FeedItem(
            key="url:" + link,
            url=link,
            title=title,
            summary="",
            published=_time(element),
        )
    return None


def _heading(element: etree._Element) -> str | None:
    for heading in element.iter(*_HEADINGS):
        text = clean_text(heading.text_content())
        if text:
            return text
    return None


def _text(anchor: etree._Element) -> str | None:
    text = clean_text(anchor.text_content())
    if text:
        return text
    for attribute in ("title", "aria-label"):
        if anchor.get(attribute):
            return clean_text(anchor.get(attribute))
    for image in anchor.iter("img"):
        if image.get("alt"):
            return clean_text(image.get("alt"))
    return None


def _time(element: etree._Element) -> datetime | None:
    """A <time datetime="..."> inside the block, when the listing gives dates."""
    for stamp in element.iter("time"):
        value = (stamp.get("datetime") or "").strip()
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            continue
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
