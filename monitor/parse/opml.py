"""OPML, the feed list every feed reader imports and exports.

Reading is bounded and offline: a size cap, no network, no DTD, and entity declarations
removed before parsing (libxml2 expands internal entities in attribute values even when
told not to resolve entities, and OPML keeps everything in attributes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from monitor.errors import MonitorError, ParseError
from monitor.parse.entities import without_entity_declarations

MAX_OPML = 5_000_000  # bytes; a list of ten thousand feeds is about 2 MB
# What XML 1.0 cannot carry at all, even escaped (a TOML string can hold it).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class OpmlError(MonitorError):
    """Not an OPML file that can be read: too large, not XML, not OPML."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str  # xmlUrl
    title: str = ""
    site: str = ""  # htmlUrl
    category: str = ""  # the titles of the enclosing outlines, joined by "/"


def read_opml(body: bytes, display: str) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, in document order, however deeply nested."""
    if len(body) > MAX_OPML:
        raise OpmlError(f"{display}: larger than {MAX_OPML:,} bytes: refused")
    try:
        body = without_entity_declarations(body, display, "opml")
    except ParseError as exc:
        raise OpmlError(exc.message) from exc
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"{display}: not well-formed XML: {exc}") from exc
    if root.tag != "opml":
        raise OpmlError(f"{display}: not an OPML file (its root element is <{root.tag}>)")
    return [_feed(outline) for outline in root.iter("outline") if outline.get("xmlUrl")]


def _feed(outline: etree._Element) -> OpmlFeed:
    enclosing = [_title(parent) for parent in outline.iterancestors("outline")]
    return OpmlFeed(
        url=(outline.get("xmlUrl") or "").strip(),
        title=_title(outline),
        site=(outline.get("htmlUrl") or "").strip(),
        category="/".join(reversed([t for t in enclosing if t])),
    )


def _title(outline: etree._Element) -> str:
    return (outline.get("title") or outline.get("text") or "").strip()


def write_opml(feeds: Iterable[OpmlFeed], title: str, now: datetime | None = None) -> bytes:
    """An OPML 2.0 document listing `feeds` (the serializer escapes every attribute)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_text(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for feed in feeds:
        outline = etree.SubElement(body, "outline", type="rss", text=xml_text(feed.title))
        outline.set("title", xml_text(feed.title))
        outline.set("xmlUrl", xml_text(feed.url))
        if feed.site:
            outline.set("htmlUrl", xml_text(feed.site))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def xml_text(value: str) -> str:
    """`value` without the characters no XML document may hold."""
    return _NOT_XML.sub("", value)
