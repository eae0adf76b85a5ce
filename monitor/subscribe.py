"""Adding feeds to a configuration: one from a site's address, many from an OPML file,
and the configured feeds as OPML.

A site's page is fetched through the guarded client (private addresses refused unless
allowed) and its advertised feeds found; the feed is read before anything is written.
An OPML file is read offline: its feeds are added as they are, not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config.edit import (
    SOURCES_FILE,
    EditRefused,
    NewSource,
    SourcesFile,
    display_name,
    one_line,
    slug_for_site,
    unique_id,
)
from monitor.config.sources import FetchSettings, load_sources
from monitor.config.toml import read_toml
from monitor.errors import ConfigError, ParseError
from monitor.parse.feed import advertised_feeds, looks_like_html, parse_feed
from monitor.parse.opml import OpmlFeed, read_opml
from monitor.records import FetchResult

if TYPE_CHECKING:
    from monitor.fetch import HttpClient

ADDING = "add"  # the source id errors carry while no source exists yet


@dataclass(frozen=True)
class FoundFeed:
    url: str
    title: str
    items: int
    page: str | None = None  # the HTML page that advertised it
    others: tuple[str, ...] = ()  # the other feeds that page advertises

    @property
    def described(self) -> str:
        """Its title and size, on one line: '"Le Fil", 12 items'."""
        return f'"{one_line(self.title)}", {self.items} item{"" if self.items == 1 else "s"}'


@dataclass
class ImportReport:
    added: list[NewSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why, naming the feed
    first_line: int | None = None


async def find_feed_at(url: str, fetch: FetchSettings, *, allow_private: bool) -> FoundFeed:
    # Imported here: importing and exporting OPML, which fetch nothing, stay light.
    from monitor.fetch import HttpClient

    async with HttpClient(fetch, allow_private=allow_private) as http:
        return await find_feed(http, url)


async def find_feed(http: HttpClient, url: str) -> FoundFeed:
    """The feed at `url`, or the first one the page at `url` advertises; a SourceError
    (FetchError, ParseError) saying why there is none."""
    from monitor.fetch import FEED_ACCEPT

    result = await http.get(url, source_id=ADDING, accept=FEED_ACCEPT)
    try:
        return _read_feed(result, url)
    except ParseError:
        if not looks_like_html(result.body, result.content_type):
            raise
    links = advertised_feeds(result.body, result.url)
    if not links:
        raise ParseError(
            ADDING,
            f'no feed found on {url}: the page has no <link rel="alternate"> to an RSS, '
            "Atom or JSON feed (give the feed's own address)",
        )
    feed = _read_feed(await http.get(links[0], source_id=ADDING, accept=FEED_ACCEPT), links[0])
    return replace(feed, page=url, others=tuple(links[1:]))


def _read_feed(result: FetchResult, url: str) -> FoundFeed:
    parsed = parse_feed(
        result.body,
        url=result.url,
        content_type=result.content_type,
        charset=result.charset,
        source_id=ADDING,
    )
    # A feed that moved for good is added at its new address.
    return FoundFeed(result.permanent_redirect or url, parsed.title, len(parsed.items))


def new_source(
    found: FoundFeed, sources: SourcesFile, source_id: str | None, today: datetime
) -> NewSource:
    found_on = f", found on {found.page}" if found.page else ""
    note = f"Added by `monitor sources add` on {today:%Y-%m-%d}: {found.described}{found_on}"
    return NewSource(
        id=source_id or unique_id(slug_for_site(found.page or found.url), sources.ids),
        name=display_name(found.title, found.url),
        url=found.url,
        note=note,
    )


def import_opml(sources: SourcesFile, body: bytes, display: str) -> ImportReport:
    """Add every feed of the OPML document that `sources` does not have yet, and save."""
    report = ImportReport()
    for feed in read_opml(body, display):
        category = f" ({one_line(feed.category)})" if feed.category else ""
        new = NewSource(
            id=unique_id(slug_for_site(feed.site or feed.url), sources.ids),
            name=display_name(feed.title, feed.url),
            url=feed.url,
            note=f"Imported from {Path(display).name}{category}",
        )
        try:
            sources.add(new)
        except EditRefused as exc:
            report.skipped.append(str(exc))
            continue
        report.added.append(new)
    if report.added:
        report.first_line = sources.save()
    return report


def configured_feeds(root: Path) -> list[OpmlFeed]:
    """The configured feed sources, for OPML (a sources.toml with errors is refused)."""
    _, sources, problems = load_sources(read_toml(root / SOURCES_FILE, SOURCES_FILE))
    if problems:
        raise ConfigError(problems)
    return [OpmlFeed(url=s.url, title=one_line(s.name)) for s in sources if s.kind == "feed"]
