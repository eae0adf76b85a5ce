"""HTML documents for the `page` and `watch` kinds: decoding, base URL, CSS selection."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from monitor.errors import ParseError
from monitor.parse.encoding import decode


def html_document(body: bytes, url: str, charset: str | None, source_id: str) -> etree._Element:
    text, _ = decode(body, charset)
    if not text.strip():
        raise ParseError(source_id, f"empty response from {url}")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(source_id, f"unreadable HTML from {url}: {exc}") from exc


def base_url(root: etree._Element, url: str) -> str:
    """The document's <base href>, when it has one, resolved against its own address."""
    for base in root.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


def select(root: etree._Element, selector: str, url: str, source_id: str) -> list[etree._Element]:
    """The elements `selector` finds; none at all means the page changed under the selector."""
    found = list(root.cssselect(selector))
    if not found:
        raise ParseError(
            source_id,
            f"the selector {selector!r} matches nothing on {url}: "
            "the page has probably changed; check the selector",
        )
    return found


def http_link(href: str | None, base: str) -> str | None:
    """An absolute http(s) link without its fragment, or None for anything else."""
    if not href or not href.strip():
        return None
    absolute = urljoin(base, href.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))
