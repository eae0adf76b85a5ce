"""The spine: what happens to one source on one pass.

    skip the source while it backs off (errors, Retry-After, a long max-age)
    fetch the source (conditional GET; a 304 ends here)
      → parse it into items (in the worker pool), by kind:
          feed     RSS, Atom, RDF, JSON Feed
          page     the links a CSS selector finds on a listing page
          sitemap  the URLs of a (news) sitemap, or of the newest sitemaps of an index
          watch    the lines of a page region, compared with the last pass:
                   a change becomes one article (what was added and removed)
      → keep the items this source never gave, or gave with other content, or whose
        page could not be read last time for a passing reason (a 429, a timeout)
      → for each: the article page (robots.txt permitting), fetched and extracted
                  (worker pool), its lead put back when the extractor dropped it;
                  or the feed's summary when that fails, flagged and said
      → match every rule, find the article's story
      → store article, sighting, matches, alerts and their deliveries
        in one transaction (the outbox)
    then the dispatcher sends what the outbox holds.

Errors of one source are recorded on its row and never stop the others; the
next poll is set by the interval, pushed back by Cache-Control max-age and
Retry-After, and by an exponential backoff after consecutive failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.cluster import (
    Fingerprint,
    StoryCandidate,
    StoryIndex,
    canonical_url,
    fingerprint,
)
from monitor.config import Config, SourceConfig
from monitor.errors import RateLimited, SourceError
from monitor.extract import WorkerPool
from monitor.extract.article import detect_language
from monitor.extract.pages import ArticleReader, PageProblem
from monitor.fetch import FEED_ACCEPT, PAGE_ACCEPT, HttpClient
from monitor.fetch.client import SITEMAP_ACCEPT
from monitor.match import Document
from monitor.match.types import EVENT
from monitor.parse import parse_feed
from monitor.parse.feed import finish
from monitor.parse.identity import content_hash, digest, is_http
from monitor.parse.listing import parse_listing
from monitor.parse.sitemap import parse_sitemap
from monitor.parse.watch import change_text, change_title, compare, region_lines
from monitor.records import (
    Article,
    CacheValidators,
    Extraction,
    FeedItem,
    FetchResult,
    ParsedFeed,
    SourceMemo,
    SourceOutcome,
    WatchChange,
)
from monitor.schedule.polling import backoff, holding, next_poll
from monitor.store import ArticleWrite, KnownArticle, RuleHit, SourceState, Store

log = logging.getLogger(__name__)
STORY_WINDOW = timedelta(days=4)
PAGE_RETRIES = 3  # passes on which an article page that failed for a passing reason is retried
SITEMAP_DEPTH = 2  # an index of indexes, at most
# A sitemap URL dated before this is history, not news (a site-wide sitemap lists years of
# pages); news sitemaps only list the last two days anyway. Undated URLs are kept.
SITEMAP_WINDOW = timedelta(days=7)
MAX_WARNINGS = 5  # page problems listed one by one in the source's warning; the rest counted
ACCEPT = {"feed": FEED_ACCEPT, "page": PAGE_ACCEPT, "watch": PAGE_ACCEPT, "sitemap": SITEMAP_ACCEPT}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Tally:
    new: int = 0
    updated: int = 0
    matches: int = 0
    alerts: int = 0
    fallbacks: int = 0
    changes: int = 0
    retry_after: float | None = None  # the longest Retry-After an article page asked for
    warnings: list[str] = field(default_factory=list)
    page_problems: list[str] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        http: HttpClient,
        pool: WorkerPool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.pool = pool
        self.clock = clock
        self.stories = StoryIndex(window=STORY_WINDOW)
        self._write_lock = asyncio.Lock()  # one writer: dedup across sources stays race-free
        self.reader = ArticleReader(http, pool, config.fetch.concurrency, clock)

    async def load_story_index(self) -> None:
        """Rebuild the in-memory story index from the articles of the last few days."""
        since = self.clock() - STORY_WINDOW
        for article_id, story_id, blob, when, source_id in await self.store.recent_fingerprints(
            since
        ):
            self.stories.add(
                StoryCandidate(story_id, article_id, Fingerprint.from_bytes(blob), when, source_id)
            )

    async def process_source(self, source: SourceConfig, *, force: bool = False) -> SourceOutcome:
        """One pass over `source`. A source that is backing off (after failures, a
        Retry-After or a max-age longer than its interval) is skipped until its
        `next_check_at`, unless `force`."""
        state = await self.store.source_state(source.id)
        now = self.clock()
        self.stories.prune(now)  # stories older than the window take no new articles
        memo = SourceMemo.from_json(state.state)
        failures = state.consecutive_failures
        held = None if force else holding(state.next_check_at, failures, memo.hold, now)
        if held:
            return SourceOutcome(
                source.id, ok=True, skipped=held, next_check_at=state.next_check_at
            )
        try:
            fetched = await self.http.get(
                state.moved_to or source.url,
                source_id=source.id,
                # Article pages to try again need the items: no 304 until they are done.
                validators=None if memo.retry else state.validators,
                accept=ACCEPT[source.kind],
                allow_private=source.allow_private_networks,
            )
            if fetched.not_modified:
                return await self._record_ok(source, state, memo, now, fetched, _Tally(), ())
            if source.kind == "watch":
                tally = await self._watch(source, memo, fetched)
                return await self._record_ok(source, state, memo, now, fetched, tally, ())
            parsed = await self._parse(source, fetched, memo)
        except SourceError as exc:
            return await self._record_error(source, state, memo, now, exc)
        tally = await self._ingest_items(source, parsed, memo)
        return await self._record_ok(source, state, memo, now, fetched, tally, parsed.warnings)

    # -- parsing, by kind -----------------------------------------------------------------

    async def _parse(
        self, source: SourceConfig, fetched: FetchResult, memo: SourceMemo
    ) -> ParsedFeed:
        if source.kind == "sitemap":
            return await self._sitemap(source, fetched, memo)
        common = {
            "url": fetched.url,
            "charset": fetched.charset,
            "max_items": source.max_items,
            "source_id": source.id,
        }
        if source.kind == "page":
            assert source.selector is not None
            return await self.pool.run(
                parse_listing, fetched.body, selector=source.selector, **common
            )
        return await self.pool.run(
            parse_feed, fetched.body, content_type=fetched.content_type, **common
        )

    async def _sitemap(
        self, source: SourceConfig, fetched: FetchResult, memo: SourceMemo
    ) -> ParsedFeed:
        """A sitemap's items; for an index, the items of its newest sitemaps (each with its
        own conditional GET). A child that fails is a warning, not a failed source."""
        items: list[FeedItem] = []
        warnings: list[str] = []
        read: dict[str, tuple[str | None, str | None]] = {}
        todo = [(fetched, 0)]
        while todo:
            current, depth = todo.pop(0)
            parsed = await self.pool.run(
                parse_sitemap,
                current.body,
                url=current.url,
                max_items=source.max_items,
                max_size=self.config.fetch.max_body * 10,
                source_id=source.id,
            )
            items += parsed.items
            warnings += [f"{current.url}: {w}" if depth else w for w in parsed.warnings]
            if parsed.children and depth >= SITEMAP_DEPTH:
                warnings.append(f"{current.url}: sitemap indexes nested too deep; not followed")
                continue
            for child in parsed.children:
                if child == current.url:
                    continue
                try:
                    answer = await self.http.get(
                        child,
                        source_id=source.id,
                        validators=_validators(memo.sitemaps.get(child)),
                        accept=SITEMAP_ACCEPT,
                        allow_private=source.allow_private_networks,
                    )
                except SourceError as exc:
                    warnings.append(f"sitemap {child} skipped: {exc.message}")
                    continue
                read[child] = (answer.validators.etag, answer.validators.last_modified)
                if not answer.not_modified:
                    todo.append((answer, depth + 1))
        memo.sitemaps = read
        if fetched.body and not items and not read and not warnings:
            warnings.append("the sitemap lists no URL")
        since = self.clock() - SITEMAP_WINDOW
        items = [i for i in items if (i.published or i.updated or since) >= since]
        items.sort(key=lambda i: i.published or i.updated or _OLDEST, reverse=True)
        return finish("", items, warnings, source.max_items)

    async def _watch(self, source: SourceConfig, memo: SourceMemo, fetched: FetchResult) -> _Tally:
        assert source.selector is not None
        lines = await self.pool.run(
            region_lines,
            fetched.body,
            url=fetched.url,
            selector=source.selector,
            charset=fetched.charset,
            source_id=source.id,
        )
        tally = _Tally()
        if memo.watch is None:
            log.info("source %s: watching %d lines from now on", source.id, len(lines))
        else:
            change = compare(memo.watch, lines)
            if change:
                await self._raise_change(source, fetched.url, change, tally)
        memo.watch = lines
        return tally

    async def _raise_change(
        self, source: SourceConfig, url: str, change: WatchChange, tally: _Tally
    ) -> None:
        identity = digest(
            "\n".join(sorted(change.added)) + "\0" + "\n".join(sorted(change.removed))
        )
        text = change_text(change)
        title = change_title(source.name, change)
        item = FeedItem(key="watch:" + identity, url=url, title=title, summary=text)
        canonical = f"watch:{source.id}:{identity[:32]}"
        article = Article(
            url=url,
            canonical_url=canonical,
            source_id=source.id,
            source_name=source.name,
            title=title,
            text=text,
            summary=text,
            content_hash=content_hash(title, text),
            extraction=Extraction.WATCH,
            published=self.clock(),
            lang=source.lang or detect_language(text),
            tags=source.tags,
            change=change,
        )
        await self._commit(source, item, article, canonical, tally)
        tally.changes += 1

    # -- items into articles --------------------------------------------------------------

    async def _ingest_items(
        self, source: SourceConfig, parsed: ParsedFeed, memo: SourceMemo
    ) -> _Tally:
        keys = {digest(item.key): item for item in parsed.items}
        seen = await self.store.seen_entries(source.id, list(keys))
        fresh = [
            (key, item)
            for key, item in keys.items()
            if seen.get(key, ("",))[0] != item_hash(item) or key in memo.retry
        ]
        tally = _Tally()
        results = await asyncio.gather(
            *(self._ingest(source, item, tally) for _, item in fresh), return_exceptions=True
        )
        retry = {key: n for key, n in memo.retry.items() if key in keys}
        for (key, item), result in zip(fresh, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                # A bug on one item: say so loudly, keep the rest of the source.
                log.error(
                    "source %s: item %s failed: %r",
                    source.id,
                    item.url or item.key,
                    result,
                    exc_info=result,
                )
                tally.warnings.append(f"item {item.url or item.key} failed: {result!r}")
                continue
            if result is not None and result.transient and retry.get(key, 0) < PAGE_RETRIES:
                retry[key] = retry.get(key, 0) + 1
            else:
                retry.pop(key, None)
        memo.retry = retry
        if tally.page_problems:
            shown = tally.page_problems[:MAX_WARNINGS]
            more = len(tally.page_problems) - len(shown)
            tally.warnings.append(
                f"{len(tally.page_problems)} article page(s) not used, feed summary kept: "
                + "; ".join(shown)
                + (f"; and {more} more" if more > 0 else "")
            )
        return tally

    async def _ingest(
        self, source: SourceConfig, item: FeedItem, tally: _Tally
    ) -> PageProblem | None:
        canonical = canonical_for(source, item)
        known = await self.store.known_article(canonical)
        if known is not None and known.source_id != source.id:
            # Another outlet's entry for an article we have: one article, one alert.
            await self._add_sighting(source, item, known)
            return None
        article, problem = await self.reader.read(source, item, canonical)
        if problem is not None:
            tally.fallbacks += 1
            tally.page_problems.append(problem.message)
            if problem.retry_after:
                tally.retry_after = max(tally.retry_after or 0, problem.retry_after)
        await self._commit(source, item, article, canonical, tally)
        return problem

    async def _commit(
        self,
        source: SourceConfig,
        item: FeedItem,
        article: Article,
        canonical: str,
        tally: _Tally,
    ) -> None:
        # Shingling and MinHash cost milliseconds of CPU: in the pool, and outside the lock.
        print_ = await self.pool.run(fingerprint, article.title, article.text, article.lang)
        async with self._write_lock:
            known = await self.store.known_article(canonical)
            if known is not None and (
                known.source_id != source.id or known.content_hash == article.content_hash
            ):
                await self._add_sighting(source, item, known)
                return
            await self._write(source, item, article, print_, known, tally)

    async def _add_sighting(
        self, source: SourceConfig, item: FeedItem, known: KnownArticle
    ) -> None:
        await self.store.add_sighting(
            source.id, digest(item.key), item_hash(item), known.id, self.clock()
        )

    async def _write(
        self,
        source: SourceConfig,
        item: FeedItem,
        article: Article,
        print_: Fingerprint,
        known: KnownArticle | None,
        tally: _Tally,
    ) -> None:
        now = self.clock()
        hits = self._match(article, source)
        published = article.published or now
        story_id = None if known else self.stories.decide(print_, published, source.id).story_id
        outcome = await self.store.write_article(
            ArticleWrite(
                article=article,
                entry_key=digest(item.key),
                item_hash=item_hash(item),
                seen_at=now,
                hits=hits,
                story_id=story_id,
                fingerprint=print_.to_bytes(),
                existing=known,
            )
        )
        if known is None:
            self.stories.add(
                StoryCandidate(outcome.story_id, outcome.article_id, print_, published, source.id)
            )
            tally.new += 1
        else:
            tally.updated += 1
        tally.matches += len(outcome.new_rules)
        tally.alerts += len(outcome.new_alerts)
        if outcome.new_rules:
            log.info(
                "source %s: %s matched %s", source.id, article.url, ", ".join(outcome.new_rules)
            )

    def _match(self, article: Article, source: SourceConfig) -> tuple[RuleHit, ...]:
        document = Document(
            title=article.title,
            text=article.text,
            source_id=source.id,
            source_name=source.name,
            lang=article.lang,
            tags=source.tags,
        )
        hits = []
        for match in self.config.ruleset.match(document):
            rule = self.config.rule(match.rule_id)
            channels = self.config.channels_for(rule) if match.tier == EVENT else ()
            hits.append(RuleHit(match.rule_id, match.to_dict(), channels, match.tier))
        return tuple(hits)

    # -- health ---------------------------------------------------------------------------

    async def _record_ok(
        self,
        source: SourceConfig,
        state: SourceState,
        memo: SourceMemo,
        now: datetime,
        fetched: FetchResult,
        tally: _Tally,
        parse_warnings: Sequence[str],
    ) -> SourceOutcome:
        warnings = [*parse_warnings, *tally.warnings]
        moved = fetched.permanent_redirect or state.moved_to
        if moved and moved != source.url:
            warnings.append(f"moved permanently to {moved}: update its url in sources.toml")
        if fetched.permanent_redirect:
            log.warning(
                "source %s moved permanently to %s: update sources.toml",
                source.id,
                fetched.permanent_redirect,
            )
        next_check_at, memo.hold = next_poll(
            source.interval, now, fetched.max_age, tally.retry_after
        )
        memo.last = {
            "at": now.isoformat(),
            "status": fetched.status,
            "bytes": len(fetched.body),
            "new": tally.new,
            "updated": tally.updated,
            "fallbacks": tally.fallbacks,
            "changes": tally.changes,
        }
        await self.store.record_success(
            source.id,
            now,
            validators=fetched.validators,
            items=tally.new + tally.updated,
            warning="; ".join(warnings)[:2000] or None,
            moved_to=fetched.permanent_redirect,
            next_check_at=next_check_at,
            state=memo.to_json(),
        )
        return SourceOutcome(
            source.id,
            ok=True,
            new_articles=tally.new,
            updated_articles=tally.updated,
            matches=tally.matches,
            alerts=tally.alerts,
            not_modified=fetched.not_modified,
            warnings=tuple(warnings),
            next_check_at=next_check_at,
            moved_to=moved if moved != source.url else None,
            summary_fallbacks=tally.fallbacks,
            changes=tally.changes,
        )

    async def _record_error(
        self,
        source: SourceConfig,
        state: SourceState,
        memo: SourceMemo,
        now: datetime,
        exc: SourceError,
    ) -> SourceOutcome:
        failures = state.consecutive_failures + 1
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        next_check_at = now + backoff(source.interval, failures, retry_after)
        log.warning(
            "source %s failed (%s): %s; next try at %s",
            source.id,
            exc.kind,
            exc.message,
            next_check_at.isoformat(timespec="seconds"),
        )
        memo.hold = "retry-after" if retry_after else None
        await self.store.record_failure(
            source.id,
            now,
            kind=exc.kind,
            message=exc.message,
            next_check_at=next_check_at,
            state=memo.to_json(),
        )
        return SourceOutcome(
            source.id,
            ok=False,
            error_kind=exc.kind,
            error=exc.message,
            next_check_at=next_check_at,
        )


_OLDEST = datetime.min.replace(tzinfo=UTC)


def _validators(pair: tuple[str | None, str | None] | None) -> CacheValidators | None:
    return CacheValidators(*pair) if pair else None


def item_hash(item: FeedItem) -> str:
    return content_hash(item.title, item.summary)


def canonical_for(source: SourceConfig, item: FeedItem) -> str:
    """The article's identity across sources: its canonical URL, or the entry itself."""
    if is_http(item.url):
        assert item.url is not None
        return canonical_url(item.url)
    return f"entry:{source.id}:{digest(item.key)}"


async def run_sources(
    pipeline: Pipeline, sources: Sequence[SourceConfig], concurrency: int, *, force: bool = False
) -> list[SourceOutcome]:
    gate = asyncio.Semaphore(concurrency)

    async def one(source: SourceConfig) -> SourceOutcome:
        async with gate:
            try:
                return await pipeline.process_source(source, force=force)
            except Exception as exc:  # a bug: loud, but the other sources go on
                log.critical("source %s: unexpected error", source.id, exc_info=exc)
                return SourceOutcome(source.id, ok=False, error_kind="bug", error=repr(exc))

    return list(await asyncio.gather(*(one(s) for s in sources)))
