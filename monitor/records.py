"""Plain records that cross stage boundaries.

Each stage owns its internals; what it hands to the next one is one of these
frozen dataclasses. ORM rows never leave `monitor.store`, and the match and
cluster stages see text, never HTTP or SQL objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.fields import NO_FIELDS, Fields


@dataclass(frozen=True, slots=True)
class CacheValidators:
    """What the last successful fetch told us, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Bytes from the network, or the news that nothing changed."""

    url: str  # the final URL, after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None  # from the Content-Type header, when given
    validators: CacheValidators = field(default_factory=CacheValidators)
    permanent_redirect: str | None = None  # the new address of a moved source
    max_age: float | None = None  # Cache-Control max-age, seconds

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed (or one link of a listing page), before extraction."""

    key: str  # stable identity within the source: guid, else link, else content hash
    url: str | None
    title: str
    summary: str  # plain text
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    fields: Fields = NO_FIELDS  # structured values (a notice's buyer, awardees, amount)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...] = ()
    children: tuple[str, ...] = ()  # a sitemap index: the sitemaps to read, most recent first


class Extraction(StrEnum):
    """Where an article's text came from."""

    PAGE = "page"  # the article page, extracted
    SUMMARY = "summary"  # the page could not be fetched or extracted: the feed's summary
    WATCH = "watch"  # a change of a watched region: what was added and removed


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    site_name: str | None = None
    lang: str | None = None
    description: str | None = None  # og:description or meta description: often the lead
    paywalled: bool = False


@dataclass(frozen=True, slots=True)
class WatchChange:
    """What changed in a watched region since the last pass, line by line."""

    added: tuple[str, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True, slots=True)
class Article:
    """A news item with clean text, ready to store, match and cluster."""

    url: str
    canonical_url: str
    source_id: str
    source_name: str
    title: str
    text: str
    summary: str
    content_hash: str
    extraction: Extraction
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None
    lang: str | None = None
    site_name: str | None = None
    tags: tuple[str, ...] = ()
    # "short", "paywall", "extract-failed" (the text is the feed's summary), "robots"
    # (robots.txt disallows the page), "rate-limited" (the site asked us to slow down;
    # the page is fetched again on a later pass), "lead-added" (the feed summary or
    # og:description was put before the extracted text), "undated" (first seen is the date)
    flags: tuple[str, ...] = ()
    change: WatchChange | None = None  # `watch` sources: the change this article reports
    fields: Fields = NO_FIELDS  # structured values, from the item: matched by rule scopes


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """What one pass over one source did; summed up by `monitor run --once`."""

    source_id: str
    ok: bool
    new_articles: int = 0
    updated_articles: int = 0
    matches: int = 0
    alerts: int = 0
    not_modified: bool = False
    error_kind: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    skipped: str | None = None  # not polled: "backoff", "retry-after" or "max-age"
    next_check_at: datetime | None = None
    moved_to: str | None = None  # the source answered with a permanent redirect here
    summary_fallbacks: int = 0  # articles kept with the feed's summary (page not usable)
    changes: int = 0  # `watch` sources: changes of the watched region raised as articles


@dataclass
class PassProgress:
    """How far a pass is, for a progress line: sources read, then articles written."""

    sources: int
    sources_read: int = 0
    articles: int = 0  # read so far, each to be matched and written
    articles_written: int = 0
    alerts: int = 0


@dataclass
class SourceMemo:
    """What the pipeline remembers about a source between passes (the `state` JSON column).

    Unknown or broken JSON reads as an empty memo: losing it costs a watch baseline or a
    retry, never a crash.
    """

    watch: tuple[str, ...] | None = None  # the watched region's lines at the last pass
    retry: dict[str, int] = field(default_factory=dict)  # entry key digest -> attempts so far
    hold: str | None = None  # why next_check_at is later than the interval says
    sitemaps: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)  # numbers of the last successful pass
    cursor: dict[str, Any] = field(default_factory=dict)  # JSON sources: where the next pass starts

    @classmethod
    def from_json(cls, text: str | None) -> SourceMemo:
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        watch = data.get("watch")
        return cls(
            watch=tuple(str(line) for line in watch) if isinstance(watch, list) else None,
            retry={str(k): int(v) for k, v in _dict(data.get("retry")).items() if _int(v)},
            hold=data.get("hold") if isinstance(data.get("hold"), str) else None,
            sitemaps={
                str(url): (v[0], v[1])
                for url, v in _dict(data.get("sitemaps")).items()
                if isinstance(v, list) and len(v) == 2
            },
            last=_dict(data.get("last")),
            cursor=_dict(data.get("cursor")),
        )

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "watch": list(self.watch) if self.watch is not None else None,
            "retry": self.retry,
            "hold": self.hold,
            "sitemaps": {url: list(v) for url, v in self.sitemaps.items()},
            "last": self.last,
            "cursor": self.cursor,
        }
        kept = {k: v for k, v in data.items() if v or (k == "watch" and v is not None)}
        return json.dumps(kept, ensure_ascii=False)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
