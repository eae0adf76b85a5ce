"""The spine: what happens to one source on one pass.

    skip the source while it backs off (errors, Retry-After, a long max-age)
    poll it by its kind (`monitor.kinds`: feed, page, sitemap, watch, json): fetched
    (conditional GET; a 304 ends here) and parsed in the worker pool into items, or,
    for a watched region that changed, into an article
      → keep the items this source never gave, or gave with other content, or whose
        page could not be read last time for a passing reason (a 429, a timeout)
      → for each: the article page (robots.txt permitting), fetched and extracted
                  (worker pool), its lead put back when the extractor dropped it;
                  or the feed's summary when that fails, flagged and said
      → for each article: its fingerprint, the rules that fire on it and its
                  vocabulary (worker pool, `monitor.extract.prepare`)
    then, once every source of the pass has been read, oldest article first
    (publication date, then URL, then source: the order feeds answer in changes
    nothing):
      → find the article's story (the event it reports, named by the actors of the
        rules it fired; else its text)
      → store article, sighting, matches, alerts and their deliveries
        together (the outbox), in the transaction of the next WRITE_BATCH articles,
        within a savepoint of their own; an article older than the rule's max_age
        (default 48 h) gets its alert without deliveries: digest, not page
    then the dispatcher sends what the outbox holds.

    then the health of every source of the pass, in one write.

Errors of one source are recorded on its row and never stop the others; the
next poll is set by the interval, pushed back by Cache-Control max-age and
Retry-After, and by an exponential backoff after consecutive failures
(`monitor.schedule.polling.advance`, a pure function).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from monitor.cluster import Fingerprint, StoryCandidate, canonical_url
from monitor.cluster.events import When
from monitor.cluster.stories import Event, Stories, events_of
from monitor.cluster.text import generic_stems
from monitor.config import Config, SourceConfig
from monitor.errors import RateLimited, SourceError
from monitor.extract import WorkerPool
from monitor.extract.pages import ArticleReader, PageProblem
from monitor.extract.prepare import Prepared, Rules, prepare_in
from monitor.fetch import HttpClient
from monitor.kinds import Ask, Tools, kind
from monitor.log import log_context, log_time
from monitor.match import Document, RuleMatch, vocabulary
from monitor.match.lemmas import forget_dictionaries
from monitor.match.types import EVENT
from monitor.observe.recorder import Recorder
from monitor.parse.identity import content_hash, digest, is_http
from monitor.records import Article, FeedItem, FetchResult, PassProgress, SourceMemo, SourceOutcome
from monitor.schedule.polling import Answered, Failed, Health, advance
from monitor.store import (
    ArticleBatch,
    ArticleWrite,
    HealthWrite,
    KnownArticle,
    RuleHit,
    SourceState,
    Store,
    WriteOutcome,
)
from monitor.store.db import error_line, is_outage

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_RETRIES = 3  # passes on which an article page that failed for a passing reason is retried
# Articles written in one transaction, under one lock and one refresh of the story index,
# which cost more than an article's rows. Other instances' writes wait for the whole
# batch: about half a second for 50 (8.5 ms an article on the corpus, matching included).
WRITE_BATCH = 50
MAX_WARNINGS = 5  # page problems listed one by one in the source's warning; the rest counted
# Marks the log record of a failed source: `run --once` drops it, its summary says it.
SOURCE_FAILURE = "source_failure"


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


@dataclass
class _Pending:
    """An article read (or another source's entry for one we have), waiting for its turn
    to be matched and written."""

    source: SourceConfig
    item: FeedItem
    canonical: str
    tally: _Tally
    article: Article | None = None  # None: a sighting of an article already stored
    prepared: Prepared | None = None

    @property
    def order(self) -> tuple[datetime, str, str]:
        published = self.article.published if self.article else None
        return (published or _NEWEST, self.canonical, self.source.id)


@dataclass
class SourcePoll:
    """A source fetched and read; its articles are written with the rest of the pass."""

    source: SourceConfig
    health: Health  # before this poll
    memo: SourceMemo
    now: datetime
    # The answer without its body: a pass holds every source's poll until the end, and
    # the bodies, parsed already, would stay with them (a few MB each). Their size stays.
    fetched: FetchResult
    body_size: int
    tally: _Tally
    warnings: Sequence[str] = ()
    pending: list[_Pending] = field(default_factory=list)


@dataclass(frozen=True)
class Polled:
    """A source's pass, done: its outcome, and the health to record (none when skipped)."""

    outcome: SourceOutcome
    write: HealthWrite | None = None


class _KnownArticles:
    """The stored articles of a batch, read in one query at its start; an article written
    earlier in the batch (two sources gave it) is read again."""

    def __init__(self, writes: ArticleBatch, found: dict[str, KnownArticle]) -> None:
        self._writes = writes
        self._found = found
        self._changed: set[str] = set()

    def get(self, canonical: str) -> KnownArticle | None:
        if canonical in self._changed:
            return self._writes.known_articles([canonical]).get(canonical)
        return self._found.get(canonical)

    def changed(self, canonical: str) -> None:
        self._changed.add(canonical)


class _ArticleFailed(Exception):
    """An article of a batch written without savepoints failed: the batch is rolled back
    and written again, each article in a savepoint of its own."""


def _item_failed(source: SourceConfig, item: FeedItem, exc: Exception, tally: _Tally) -> None:
    """One item could not be stored; the rest of the source goes on. An expected failure
    (a worker task past its deadline) is told in words; anything else is a bug: loud,
    with its traceback."""
    where = item.url or item.key
    if isinstance(exc, SourceError):
        log.warning("source %s: item %s not stored: %s", source.id, where, exc.message)
        tally.warnings.append(f"item {where} not stored: {exc.message}")
        return
    log.error("source %s: item %s failed: %r", source.id, where, exc, exc_info=exc)
    tally.warnings.append(f"item {where} failed: {exc!r}")


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        http: HttpClient,
        pool: WorkerPool,
        clock: Callable[[], datetime] = utcnow,
        *,
        send: bool = True,
        recorder: Recorder | None = None,
    ) -> None:
        self.config = config
        self.send = send  # False: store and match, queue no alert (`run --once --no-send`)
        self.recorder = recorder or Recorder()
        self.store = store
        self.http = http
        self.pool = pool
        self.clock = clock
        self.stories = stories_for(config)
        self._write_lock = asyncio.Lock()  # one writer: dedup across sources stays race-free
        # The last article and match read into the story indexes: other instances'
        # writes after them are read before each write of this one.
        self._read_up_to = (0, 0)
        self.reader = ArticleReader(http, pool, config.fetch.concurrency, clock)
        self.tools = Tools(http, pool, self.recorder, config.fetch.max_body)
        self._rules: Rules | None = None  # see `rules`

    @property
    def rules(self) -> Rules:
        """The rules as the workers match with them. The main process matches nothing
        during a pass: once their recipe is taken, the lemmatizer that compiled them is
        let go, with its dictionaries and cached keys (the next `Monitor.explain`, say,
        makes it again)."""
        if self._rules is None:
            self._rules = Rules.of(self.config.ruleset)
            generic_stems()  # all the stories' similarity lemmatizes here, so: first
            forget_dictionaries()
        return self._rules

    async def load_memory(self) -> None:
        """What earlier runs learnt that reading needs: the pages that poison workers. The
        story indexes are read by the first write (`write`), not here: a pass whose feeds
        all answer 304 writes no article and needs none of them."""
        self.reader.poisoned.update(await self.store.poison_failures())

    async def load_story_index(self) -> None:
        """Bring the in-memory story indexes (text and events) up to date with the recent
        articles of the database: all of them at the first write, then those written
        since."""
        now = self.clock()
        last_article, last_match = self._read_up_to
        for article_id, story_id, blob, when, source_id in await self.store.recent_fingerprints(
            now - self.stories.index.window, last_article
        ):
            self.stories.index.add(
                StoryCandidate(story_id, article_id, Fingerprint.from_bytes(blob), when, source_id)
            )
            last_article = max(last_article, article_id)
        for match_id, story_id, details, seen, published in await self.store.recent_events(
            now - self.stories.events.window, last_match
        ):
            for event in events_of([RuleMatch.from_dict(json.loads(details))]):
                self.stories.add_event(event, When(seen, published), story_id)
            last_match = max(last_match, match_id)
        self._read_up_to = (last_article, last_match)
        self.stories.prune(now)

    async def prune_stories(self) -> None:
        """Let go of the stories past their window, once a pass: a quiet pass too. Under
        the writers' lock: another pass's batch may be deciding stories in a thread."""
        async with self._write_lock:
            self.stories.prune(self.clock())

    async def poll(
        self, source: SourceConfig, state: SourceState, *, force: bool = False
    ) -> SourcePoll | Polled:
        """Fetch and read `source`, whose row read `state`, writing nothing yet (see
        `write` and `finish`); its outcome when there are no articles to write (skipped,
        failed). A source that is backing off (after failures, a Retry-After or a max-age
        longer than its interval) is skipped until its `next_check_at`, unless `force`."""
        now = self.clock()
        memo = SourceMemo.from_json(state.state)
        health = state.health(memo.hold)
        held = None if force else health.held(now)
        if held:
            return Polled(
                SourceOutcome(source.id, ok=True, skipped=held, next_check_at=state.next_check_at)
            )
        ask = Ask(
            source,
            health.moved_to or source.url,
            # Article pages to try again need the items: no 304 until they are done.
            None if memo.retry else state.validators,
            memo,
            now,
        )
        try:
            read = await kind(source.kind)(ask, self.tools)
        except SourceError as exc:
            return self._failed(source, health, memo, now, exc)
        polled = SourcePoll(
            source,
            health,
            read.memo,
            now,
            replace(read.fetched, body=b""),
            len(read.fetched.body),
            _Tally(),
            read.warnings,
        )
        items, made_articles = read.items, read.made
        del read  # and with it the body, while the articles are read
        for made in made_articles:
            article = made.article
            polled.pending.append(
                await self._prepare(source, made.item, article, article.canonical_url, polled.tally)
            )
            polled.tally.changes += 1
        if items is not None:
            await self._ingest_items(polled, items)
        return polled

    # -- items into articles --------------------------------------------------------------

    async def _ingest_items(self, polled: SourcePoll, items: Sequence[FeedItem]) -> None:
        source, memo, tally = polled.source, polled.memo, polled.tally
        keys = {digest(item.key): item for item in items}
        seen = await self.store.seen_entries(source.id, list(keys))
        fresh = [
            (key, item)
            for key, item in keys.items()
            if seen.get(key, ("",))[0] != item_hash(item) or key in memo.retry
        ]
        # One query for the feed, not one per entry: which of its articles another outlet
        # already gave (nothing is written while sources are read).
        canonicals = [canonical_for(source, item) for _, item in fresh]
        owners = await self.store.article_sources(canonicals)
        results = await asyncio.gather(
            *(
                self._ingest(polled, item, canonical, owners.get(canonical))
                for (_, item), canonical in zip(fresh, canonicals, strict=True)
            ),
            return_exceptions=True,
        )
        retry = {key: n for key, n in memo.retry.items() if key in keys}
        for (key, item), result in zip(fresh, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception) or is_outage(result):
                    raise result  # an outage fails the source's poll, in one line
                _item_failed(source, item, result, tally)
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

    async def _ingest(
        self, polled: SourcePoll, item: FeedItem, canonical: str, owner: str | None
    ) -> PageProblem | None:
        """Read the entry's article, unless another source (`owner`) has it already."""
        source, tally = polled.source, polled.tally
        if owner is not None and owner != source.id:
            # Another outlet's entry for an article we have: one article, one alert.
            polled.pending.append(_Pending(source, item, canonical, tally))
            return None
        with self.recorder.timed("extract"):
            article, problem = await self.reader.read(source, item, canonical)
        if problem is not None and problem.poisoned:
            await self.store.record_poison(article.url, source.id, problem.message, self.clock())
        if problem is not None:
            tally.fallbacks += 1
            tally.page_problems.append(problem.message)
            if problem.retry_after:
                tally.retry_after = max(tally.retry_after or 0, problem.retry_after)
        polled.pending.append(await self._prepare(source, item, article, canonical, tally))
        return problem

    async def _prepare(
        self,
        source: SourceConfig,
        item: FeedItem,
        article: Article,
        canonical: str,
        tally: _Tally,
    ) -> _Pending:
        # Fingerprinting and matching cost milliseconds to tens of milliseconds of CPU:
        # in the pool, while the pass reads, so that writing is all that waits.
        with self.recorder.timed("match"):
            prepared = await prepare_in(self.pool, self.rules, document_of(article, source))
        if article.lang is None:
            article = replace(article, lang=prepared.lang)
        return _Pending(source, item, canonical, tally, article, prepared)

    async def write(self, batch: Sequence[_Pending]) -> None:
        """Store articles read and matched by `poll` (or record other sources' sightings of
        them), in their order and in one transaction; an article's failure is its own,
        said in its source's warnings, and the others are written."""
        # One writer across instances too: each decides the story on an index that holds
        # every article written before, wherever it was polled.
        async with self._write_lock, self.store.exclusive("articles"):
            try:
                written = await self._write_batch(batch, isolated=False)
            except _ArticleFailed:
                # Savepoints cost a fifth of the write phase: only a batch with a failed
                # article pays for them, written again with each article in its own.
                written = await self._write_batch(batch, isolated=True)
            # The indexes hold what this batch wrote, and what came before it (read at its
            # start, under the lock): the next batch reads only what others write after.
            self._read_up_to = await self.store.newest_ids()
        for pending, outcome in written:
            if outcome is not None:
                self._count(pending, outcome)

    async def _write_batch(
        self, batch: Sequence[_Pending], isolated: bool
    ) -> list[tuple[_Pending, WriteOutcome | None]]:
        await self.load_story_index()
        try:
            return await self.store.write_articles(partial(self._write_items, batch), isolated)
        except BaseException:
            # The index holds the batch's articles, which the rollback took back.
            self._forget_story_index()
            raise  # an outage fails the pass, and its sources, still due, are polled again

    def _write_items(
        self, batch: Sequence[_Pending], writes: ArticleBatch
    ) -> list[tuple[_Pending, WriteOutcome | None]]:
        """The batch's articles, in one call of the store (a thread, for SQLite): the
        story decisions run there too, off the event loop. Nothing else uses the story
        indexes meanwhile: `write` holds the writers' lock."""
        known = _KnownArticles(writes, writes.known_articles(p.canonical for p in batch))
        return [(p, self._write_item(writes, p, known)) for p in batch]

    def _write_item(
        self, writes: ArticleBatch, pending: _Pending, stored: _KnownArticles
    ) -> WriteOutcome | None:
        """One article of a batch. In an isolated batch it has a savepoint, and its failure
        rolls back itself alone; otherwise its failure fails the batch (`_ArticleFailed`),
        which is written again isolated. An outage fails the pass either way."""
        source, item = pending.source, pending.item
        # Out of every decision, as when each article refreshed the index: what is past
        # the window now, even an article written earlier in the batch. The stories do
        # not depend on where batches begin.
        self.stories.prune(self.clock())
        with log_context(source_id=source.id):
            try:
                with writes.item():
                    known = stored.get(pending.canonical)
                    article = pending.article
                    if known is not None and (
                        article is None
                        or known.source_id != source.id
                        or known.content_hash == article.content_hash
                    ):
                        self._add_sighting(writes, source, item, known)
                    elif article is not None and pending.prepared is not None:
                        stored.changed(pending.canonical)
                        return self._write(writes, source, item, article, pending.prepared, known)
            except Exception as exc:  # one item only: the rest of the batch goes on
                if is_outage(exc):
                    raise
                if not writes.isolated:
                    raise _ArticleFailed from exc
                _item_failed(source, item, exc, pending.tally)
        return None

    def _forget_story_index(self) -> None:
        """Empty the story indexes: the next `load_story_index` reads them all again."""
        self.stories = stories_for(self.config)
        self._read_up_to = (0, 0)

    def _add_sighting(
        self, writes: ArticleBatch, source: SourceConfig, item: FeedItem, known: KnownArticle
    ) -> None:
        writes.add_sighting(source.id, digest(item.key), item_hash(item), known.id, self.clock())

    def _write(
        self,
        writes: ArticleBatch,
        source: SourceConfig,
        item: FeedItem,
        article: Article,
        prepared: Prepared,
        known: KnownArticle | None,
    ) -> WriteOutcome:
        now = self.clock()
        print_, matches, words = prepared.print_, prepared.matches, prepared.vocabulary
        hits = self._hits(matches, article.published or now, now)
        when = When(now, article.published)
        events = events_of(matches)
        story_id = None if known else self.stories.decide(print_, when, source.id, events).story_id
        with self.recorder.timed("store"):
            outcome = writes.write_article(
                ArticleWrite(
                    article=article,
                    entry_key=digest(item.key),
                    item_hash=item_hash(item),
                    seen_at=now,
                    hits=hits,
                    story_id=story_id,
                    fingerprint=print_.to_bytes(),
                    vocabulary=(vocabulary.VERSION, words),
                    existing=known,
                )
            )
        if known is None:
            candidate = StoryCandidate(
                outcome.story_id, outcome.article_id, print_, when.order, source.id
            )
            self.stories.add(candidate, when, events)
        else:
            self._add_new_events(events, outcome.new_rules, when, outcome.story_id)
        return outcome

    def _count(self, pending: _Pending, outcome: WriteOutcome) -> None:
        """An article written, once its batch is committed: in its source's tally, the
        recorder and the log."""
        tally = pending.tally
        if outcome.created:
            tally.new += 1
        else:
            tally.updated += 1
        tally.matches += len(outcome.new_rules)
        tally.alerts += len(outcome.new_alerts)
        self.recorder.matched(outcome.new_rules, len(outcome.new_alerts))
        url = pending.article.url if pending.article else pending.canonical
        for rule_id in outcome.new_rules:
            with log_context(
                source_id=pending.source.id, article_id=outcome.article_id, rule_id=rule_id
            ):
                log.info("source %s: %s matched %s", pending.source.id, url, rule_id)

    def _add_new_events(
        self, events: Sequence[Event], new_rules: Sequence[str], when: When, story_id: int
    ) -> None:
        """An update that fires a rule for the first time tells the story's event too."""
        for event in events:
            if event.rule_id in new_rules:
                self.stories.add_event(event, when, story_id)

    def _hits(
        self, matches: Sequence[RuleMatch], dated: datetime, now: datetime
    ) -> tuple[RuleHit, ...]:
        hits = []
        for match in matches:
            rule = self.config.rule(match.rule_id)
            alerts_now = match.tier == EVENT and self.send
            fresh = now - dated <= self.config.max_age_of(rule)
            # A stale article's alert is recorded without channels, like a digest-only
            # rule's: the digest shows it, nobody is paged with old news.
            channels = self.config.channels_for(rule) if alerts_now and fresh else ()
            hits.append(RuleHit(match.rule_id, match.to_dict(), channels, match.tier, rule.version))
        return tuple(hits)

    # -- health ---------------------------------------------------------------------------

    def finish(self, polled: SourcePoll) -> Polled:
        """A source's pass, once its articles are written: its outcome, and its new
        health to write with the other sources'."""
        source, now, fetched, tally = polled.source, polled.now, polled.fetched, polled.tally
        warnings = [*polled.warnings, *tally.warnings]
        moved = fetched.permanent_redirect or polled.health.moved_to
        if moved and moved != source.url:
            warnings.append(f"moved permanently to {moved}: update its url in sources.toml")
        if fetched.permanent_redirect:
            log.warning(
                "source %s moved permanently to %s: update sources.toml",
                source.id,
                fetched.permanent_redirect,
            )
        answered = Answered(
            validators=fetched.validators,
            max_age=fetched.max_age,
            retry_after=tally.retry_after,
            moved_to=fetched.permanent_redirect,
            warning="; ".join(warnings)[:2000] or None,
        )
        health = advance(polled.health, answered, now, source.interval)
        last = {
            "at": now.isoformat(),
            "status": fetched.status,
            "bytes": polled.body_size,
            "new": tally.new,
            "updated": tally.updated,
            "fallbacks": tally.fallbacks,
            "changes": tally.changes,
        }
        memo = replace(polled.memo, hold=health.hold, last=last)
        outcome = SourceOutcome(
            source.id,
            ok=True,
            new_articles=tally.new,
            updated_articles=tally.updated,
            matches=tally.matches,
            alerts=tally.alerts,
            not_modified=fetched.not_modified,
            warnings=tuple(warnings),
            next_check_at=health.next_check_at,
            moved_to=moved if moved != source.url else None,
            summary_fallbacks=tally.fallbacks,
            changes=tally.changes,
        )
        return Polled(
            outcome, HealthWrite(source.id, health, tally.new + tally.updated, memo.to_json())
        )

    def _failed(
        self,
        source: SourceConfig,
        previous: Health,
        memo: SourceMemo,
        now: datetime,
        exc: SourceError,
    ) -> Polled:
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        failed = Failed(exc.kind, exc.message, retry_after)
        health = advance(previous, failed, now, source.interval)
        assert health.next_check_at is not None  # a failure always sets the next try
        log.warning(
            "source %s failed (%s): %s; next try at %s",
            source.id,
            exc.kind,
            exc.message,
            log_time(health.next_check_at),
            extra={SOURCE_FAILURE: True},
        )
        outcome = SourceOutcome(
            source.id,
            ok=False,
            error_kind=exc.kind,
            error=exc.message,
            next_check_at=health.next_check_at,
        )
        memo = replace(memo, hold=health.hold)
        return Polled(outcome, HealthWrite(source.id, health, 0, memo.to_json()))


_NEWEST = datetime.max.replace(tzinfo=UTC)  # an undated article is written after dated ones


def stories_for(config: Config) -> Stories:
    """Empty story indexes that join events as ``config``'s rules say."""
    return Stories(event_keys=config.event_keys, event_windows=config.event_windows)


def document_of(article: Article, source: SourceConfig) -> Document:
    """The article as the rules see it."""
    return Document(
        title=article.title,
        text=article.text,
        source_id=source.id,
        source_name=source.name,
        lang=article.lang,
        tags=source.tags,
        fields=article.fields,
        published=article.published,
    )


def item_hash(item: FeedItem) -> str:
    return content_hash(item.title, item.summary)


def canonical_for(source: SourceConfig, item: FeedItem) -> str:
    """The article's identity across sources: its canonical URL, or the entry itself."""
    if is_http(item.url):
        assert item.url is not None
        return canonical_url(item.url)
    return f"entry:{source.id}:{digest(item.key)}"


async def run_sources(
    pipeline: Pipeline,
    sources: Sequence[SourceConfig],
    concurrency: int,
    *,
    force: bool = False,
    progress: Callable[[PassProgress], None] | None = None,
) -> list[SourceOutcome]:
    """One pass: read every source concurrently, then write their articles in one order
    that does not depend on which feed answered first, WRITE_BATCH to a transaction, then
    record the health of every source in one transaction. Each source read and each batch
    of articles written is reported to `progress`."""
    gate = asyncio.Semaphore(concurrency)
    done = PassProgress(len(sources))
    report = progress or (lambda _done: None)
    states = {s.id: s for s in await pipeline.store.source_states([s.id for s in sources])}
    await pipeline.prune_stories()

    async def read(source: SourceConfig) -> SourcePoll | Polled:
        async with gate:
            poll = await _guarded(source, pipeline.poll(source, states[source.id], force=force))
        done.sources_read += 1
        done.articles += len(poll.pending) if isinstance(poll, SourcePoll) else 0
        report(done)
        return Polled(poll) if isinstance(poll, SourceOutcome) else poll

    polled = await asyncio.gather(*(read(s) for s in sources))
    read_polls = [poll for poll in polled if isinstance(poll, SourcePoll)]
    pending = sorted((p for poll in read_polls for p in poll.pending), key=lambda p: p.order)
    for start in range(0, len(pending), WRITE_BATCH):
        batch = pending[start : start + WRITE_BATCH]
        await pipeline.write(batch)
        done.articles_written += len(batch)
        done.alerts = sum(poll.tally.alerts for poll in read_polls)
        report(done)
    finished = [pipeline.finish(p) if isinstance(p, SourcePoll) else p for p in polled]
    outcomes = await _record_health(pipeline.store, finished)
    for outcome in outcomes:
        pipeline.recorder.source_polled(outcome)
    return outcomes


async def _record_health(store: Store, finished: Sequence[Polled]) -> list[SourceOutcome]:
    """Write the health of the pass's sources at once; when that fails, each source
    polled failed as `_guarded` says."""
    writes = [p.write for p in finished if p.write is not None]
    try:
        await store.record_health(writes)
    except Exception as exc:
        if is_outage(exc):
            log.warning(
                "database unreachable: the polls of %d sources are not recorded: %s",
                len(writes),
                error_line(exc),
            )
        else:
            log.critical("recording the polls of %d sources failed", len(writes), exc_info=exc)
        return [_failed_by(p.outcome.source_id, exc) if p.write else p.outcome for p in finished]
    return [p.outcome for p in finished]


async def _guarded(source: SourceConfig, step: Awaitable[T]) -> T | SourceOutcome:
    """`step` for `source`: its log lines name the source; a bug in it is the source's."""
    with log_context(source_id=source.id):
        try:
            return await step
        except Exception as exc:
            if is_outage(exc):  # the database, not the source: one line, the service backs off
                log.warning("source %s: database unreachable: %s", source.id, error_line(exc))
            else:  # a bug: loud, but the other sources go on
                log.critical("source %s: unexpected error", source.id, exc_info=exc)
            return _failed_by(source.id, exc)


def _failed_by(source_id: str, exc: Exception) -> SourceOutcome:
    """The outcome of a source whose pass `exc` ended: the database's outage, or a bug."""
    if is_outage(exc):
        return SourceOutcome(source_id, ok=False, error_kind="database", error=error_line(exc))
    return SourceOutcome(source_id, ok=False, error_kind="bug", error=repr(exc))
