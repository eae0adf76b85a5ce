"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), which feedparser does not read."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from monitor.parse.dates import iso_date
from monitor.parse.identity import entry_key
from monitor.parse.jsondoc import load_json
from monitor.parse.text import clean_text, html_to_text
from monitor.records import FeedItem

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip()[:1] == b"{"


def parse_json_feed(body: bytes, url: str, source_id: str) -> tuple[str, list[FeedItem], list[str]]:
    """Title, items and warnings of a JSON Feed document."""
    document = load_json(body, url, source_id)
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        JSON_FEED_PREFIX
    ):
        raise ParseError(source_id, f"JSON from {url} is not a JSON Feed (no jsonfeed.org version)")
    warnings: list[str] = []
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        warnings.append("JSON Feed without an 'items' list")
        raw_items = []
    base = _string(document.get("home_page_url")) or url
    items = [_item(raw, base) for raw in raw_items if isinstance(raw, dict)]
    return clean_text(_string(document.get("title"))), items, warnings


def _string(value: object) -> str:
    """A string member, else "": a hostile feed puts lists, objects and numbers anywhere."""
    return value if isinstance(value, str) else ""


def _item(raw: dict[str, Any], base: str) -> FeedItem:
    link = _string(raw.get("url")) or _string(raw.get("external_url"))
    url = urljoin(base, link) if link else None
    title = clean_text(_string(raw.get("title")))
    summary = html_to_text(_string(raw.get("content_html"))) or clean_text(
        _string(raw.get("content_text")) or _string(raw.get("summary"))
    )
    # The spec says a string, but numeric ids are common: both are kept.
    identifier = raw.get("id")
    has_id = isinstance(identifier, str | int) and not isinstance(identifier, bool)
    guid = str(identifier) if has_id and identifier != "" else None
    return FeedItem(
        key=entry_key(guid, url, title, summary),
        url=url,
        title=title,
        summary=summary,
        guid=guid,
        author=_author(raw),
        published=iso_date(raw.get("date_published")),
        updated=iso_date(raw.get("date_modified")),
    )


def _author(raw: dict[str, Any]) -> str | None:
    authors = raw.get("authors")
    if not isinstance(authors, list) or not authors:
        authors = [raw["author"]] if isinstance(raw.get("author"), dict) else []  # JSON Feed 1.0
    names = [a["name"] for a in authors if isinstance(a, dict) and _string(a.get("name"))]
    return ", ".join(names) or None
