"""Source kinds: how a source of each kind is polled, behind one interface.

    feed     RSS, Atom, RDF, JSON Feed
    page     the links a CSS selector finds on a listing page
    sitemap  the URLs of a (news) sitemap, or of the newest sitemaps of an index
    watch    the lines of a page region, compared with the last pass: a change
             becomes one article (what was added and removed)
    json     the records of an API's pages (and the presets boamp, decp), from the
             source's cursor on: each record is an item, no page read

Each is a module with one `read(ask, tools) -> Read` (`SourceKind`); a new kind is a
new module and a line below.
"""

from __future__ import annotations

from monitor.config.sources import JSON_KINDS
from monitor.kinds import feed, jsonapi, page, sitemap, watch
from monitor.kinds.base import Ask, Made, Read, SourceKind, Tools

__all__ = ["Ask", "Made", "Read", "SourceKind", "Tools", "kind"]

KINDS: dict[str, SourceKind] = {
    "feed": feed.read,
    "page": page.read,
    "sitemap": sitemap.read,
    "watch": watch.read,
    **dict.fromkeys(JSON_KINDS, jsonapi.read),
}


def kind(name: str) -> SourceKind:
    """The kind of this name; the configuration allows no other."""
    return KINDS[name]
