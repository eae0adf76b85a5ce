"""`Store`, the store's facade: each method runs one function of the modules of this
package in its own transaction, and returns plain records (`monitor.store.views`). A
pass's articles are the exception: `Store.write_articles` writes many in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    nullcontext,
    suppress,
)
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from monitor.config.sources import SourceConfig
from monitor.store import (
    articles,
    console,
    digests,
    feedback,
    leases,
    outbox,
    poison,
    retention,
    sources,
)
from monitor.store.db import create_engine, writer_engine
from monitor.store.locks import exclusive, listen_outbox
from monitor.store.views import (
    AlertView,
    ArticleWrite,
    DeliveryRecord,
    DigestEntry,
    DigestRun,
    FailedDelivery,
    FailingSource,
    FeedbackRecord,
    HealthWrite,
    KnownArticle,
    PendingDelivery,
    PruneResult,
    SourceClaim,
    SourceState,
    StoredArticle,
    StoredVocabulary,
    StoryView,
    WriteOutcome,
)

P = ParamSpec("P")
T = TypeVar("T")


class ArticleBatch:
    """Articles written in the one transaction of `Store.write_articles`, each within its
    own `item()` block: when `isolated`, a savepoint, so that a failed article is rolled
    back alone; else nothing, and a failed article fails the whole batch."""

    def __init__(self, session: Session, domain: str, isolated: bool) -> None:
        self._session = session
        self._domain = domain
        self.isolated = isolated

    def item(self) -> AbstractContextManager[object]:
        return self._session.begin_nested() if self.isolated else nullcontext()

    def known_articles(self, canonical_urls: Iterable[str]) -> dict[str, KnownArticle]:
        return articles.known_articles(self._session, canonical_urls)

    def add_sighting(
        self, source_id: str, entry_key: str, item_hash: str, article_id: int, now: datetime
    ) -> None:
        articles.add_sighting(self._session, source_id, entry_key, item_hash, article_id, now)

    def write_article(self, write: ArticleWrite) -> WriteOutcome:
        return articles.write_article(self._session, write, domain=self._domain)


class Store:
    def __init__(self, engine: AsyncEngine, *, message_domain: str = "veille.localhost") -> None:
        self.engine = engine
        self._writer = writer_engine(engine)  # a pass's article writes (`write_articles`)
        self.message_domain = message_domain
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # Set when a transaction of this store that queued a delivery commits (and, on
        # PostgreSQL, by `listen_outbox` when another instance's does): the dispatcher's cue.
        self.queued = asyncio.Event()

    @classmethod
    def open(cls, url: str, **options: Any) -> Store:
        return cls(create_engine(url), **options)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._writer is not None:
            self._writer.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions.begin() as session:
            yield session
        if session.info.get(outbox.QUEUED):
            self.queued.set()

    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock `name` across every instance on this database (see `locks`)."""
        return exclusive(self.engine, name)

    async def listen_outbox(self) -> None:
        """Until cancelled, set `queued` whenever another instance queues a delivery."""
        await listen_outbox(self.engine, self.queued)

    async def _run(
        self,
        function: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        async with self.transaction() as session:
            return await function(session, *args, **kwargs)

    # sources
    async def sync_sources(self, configured: Sequence[SourceConfig], now: datetime) -> None:
        async with self.exclusive("sources"):  # instances starting together add a row once
            await self._run(sources.sync_sources, configured, now)

    async def poison_failures(self) -> dict[str, int]:
        return await self._run(poison.poison_failures)

    async def record_poison(self, url: str, source_id: str, reason: str, now: datetime) -> int:
        return await self._run(poison.record_poison, url, source_id, reason, now)

    async def poison_counts(self) -> dict[str, int]:
        return await self._run(poison.poison_counts)

    async def source_states(self, ids: Sequence[str] | None = None) -> list[SourceState]:
        return await self._run(sources.source_states, ids)

    async def source_state(self, source_id: str) -> SourceState:
        (state,) = await self.source_states([source_id])
        return state

    async def record_health(self, writes: Sequence[HealthWrite]) -> None:
        if writes:
            await self._run(sources.record_health, writes)

    async def claim_sources(
        self,
        ids: Sequence[str],
        owner: str,
        now: datetime,
        until: datetime,
        due: Mapping[str, datetime] | None = None,
        limit: int | None = None,
    ) -> list[SourceClaim]:
        return await self._run(leases.claim_sources, ids, owner, now, until, due, limit)

    async def renew_sources(self, ids: Sequence[str], owner: str, until: datetime) -> list[str]:
        return await self._run(leases.renew_sources, ids, owner, until)

    async def release_sources(self, ids: Sequence[str], owner: str) -> None:
        await self._run(leases.release_sources, ids, owner)

    async def release_all(self) -> None:
        await self._run(leases.release_all)

    async def raise_failure_notices(
        self, failing_before: datetime, channels: Sequence[str], now: datetime
    ) -> list[str]:
        return await self._run(
            sources.raise_failure_notices, failing_before, channels, now, self.message_domain
        )

    # articles
    async def seen_entries(self, source_id: str, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        return await self._run(articles.seen_entries, source_id, keys)

    async def known_articles(self, canonical_urls: Iterable[str]) -> dict[str, KnownArticle]:
        async with self.transaction() as session:
            return await session.run_sync(articles.known_articles, canonical_urls)

    async def article_sources(self, canonical_urls: Iterable[str]) -> dict[str, str]:
        """Which source each of these articles came from, for those stored."""
        return await self._run(articles.article_sources, canonical_urls)

    async def write_articles(self, work: Callable[[ArticleBatch], T], isolated: bool = True) -> T:
        """What `work` returns, once the articles it wrote are committed, all in one
        transaction; each article in a savepoint of its own when `isolated` (see
        `ArticleBatch`).

        `work` is plain code, run in one call. On a SQLite file it runs in a thread, on a
        connection of its own: through the asyncio driver, each statement hops to the
        driver's thread and back three or four times (cursor, execute, fetch, close), 0.4
        ms, eight times what the statement costs, and a pass writes four or five
        statements an article. On PostgreSQL (asyncpg has no thread to hop to) and an
        in-memory SQLite it runs on the event loop (`AsyncSession.run_sync`)."""
        if self._writer is None:
            async with self.transaction() as session:
                return await session.run_sync(self._write_batch, work, isolated)
        writing = asyncio.ensure_future(asyncio.to_thread(self._write_in_thread, work, isolated))
        try:
            await asyncio.shield(writing)
        finally:
            # A thread cannot be stopped: a cancelled caller still waits (a second at most)
            # until the batch is committed or rolled back, so that what it holds (the
            # writers' lock, the story indexes) is let go only then.
            while not writing.done():
                with suppress(asyncio.CancelledError):
                    await asyncio.wait([writing])
            if writing.exception() is None and writing.result()[1]:
                self.queued.set()
        return writing.result()[0]

    def _write_in_thread(self, work: Callable[[ArticleBatch], T], isolated: bool) -> tuple[T, bool]:
        assert self._writer is not None
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            result = self._write_batch(session, work, isolated)
        return result, bool(session.info.get(outbox.QUEUED))

    def _write_batch(
        self, session: Session, work: Callable[[ArticleBatch], T], isolated: bool
    ) -> T:
        if session.get_bind().dialect.name == "sqlite":
            # pysqlite opens its transaction at the first write: a savepoint before it
            # would be the transaction itself, and releasing it a commit. This opens the
            # batch's transaction now, with SQLite's one write lock.
            session.execute(text("BEGIN IMMEDIATE"))
        return work(ArticleBatch(session, self.message_domain, isolated))

    async def recent_fingerprints(
        self, since: datetime, after_id: int = 0
    ) -> Sequence[tuple[int, int, bytes, datetime, str]]:
        return await self._run(articles.recent_fingerprints, since, after_id)

    async def recent_events(
        self, since: datetime, after_id: int = 0
    ) -> Sequence[tuple[int, int, str, datetime, datetime | None]]:
        return await self._run(articles.recent_events, since, after_id)

    async def newest_ids(self) -> tuple[int, int]:
        """The highest article id and match id written so far."""
        return await self._run(articles.newest_ids)

    async def matched_rules(self) -> dict[str, set[str]]:
        return await self._run(articles.matched_rules)

    async def stored_vocabularies(
        self, since: datetime | None, batch: int = 2000
    ) -> AsyncIterator[list[tuple[int, StoredVocabulary | None]]]:
        """(id, stored vocabulary) of every archived article since `since`, in keyset pages."""
        after = 0
        while page := await self._run(articles.stored_vocabularies, since, after, batch):
            yield page
            after = page[-1][0]

    async def stored_articles(self, ids: Sequence[int]) -> list[StoredArticle]:
        return await self._run(articles.stored_articles, ids)

    async def save_vocabularies(self, found: dict[int, StoredVocabulary]) -> None:
        await self._run(articles.save_vocabularies, found)

    async def newest_articles(self, since: datetime | None, limit: int) -> list[StoredArticle]:
        """The `limit` archived articles seen last since `since`, oldest first."""
        return await self._run(articles.newest_articles, since, limit)

    async def count_articles(self, since: datetime | None, *, pruned: bool = False) -> int:
        return await self._run(articles.count_articles, since, pruned)

    async def stored_matches(self, since: datetime | None) -> dict[int, set[str]]:
        return await self._run(articles.stored_matches, since)

    # feedback
    async def judge_alert(
        self, alert_id: int, verdict: str, note: str | None, now: datetime
    ) -> FeedbackRecord:
        return await self._run(feedback.judge_alert, alert_id, verdict, note, now)

    async def stored_article(
        self, canonical_url: str
    ) -> tuple[str, str, str | None, datetime | None] | None:
        return await self._run(feedback.stored_article, canonical_url)

    async def add_missed(
        self,
        rule_id: str,
        url: str,
        article: tuple[str, str, str | None, datetime | None],
        note: str | None,
        now: datetime,
    ) -> FeedbackRecord:
        return await self._run(feedback.add_missed, rule_id, url, article, note, now)

    async def feedback(self, rule_ids: Sequence[str] | None = None) -> list[FeedbackRecord]:
        return await self._run(feedback.feedback, rule_ids)

    async def wrong_counts(self, since: datetime) -> dict[str, int]:
        return await self._run(feedback.wrong_counts, since)

    # retention
    async def prune_texts(self, before: datetime, *, dry_run: bool = False) -> PruneResult:
        return await self._run(retention.prune_texts, before, dry_run=dry_run)

    # digests
    async def last_digest_run(self, digest: str) -> DigestRun | None:
        return await self._run(digests.last_run, digest)

    async def digest_run(self, run_id: int) -> DigestRun:
        return await self._run(digests.get_run, run_id)

    async def create_digest_run(
        self,
        digest: str,
        start: datetime,
        end: datetime,
        items: int,
        channels: Sequence[str],
        now: datetime,
    ) -> int | None:
        try:
            return await self._run(
                digests.create_run, digest, start, end, items, channels, now, self.message_domain
            )
        except IntegrityError:
            return None  # another instance recorded this period first

    async def digest_entries(
        self, start: datetime, end: datetime, rule_ids: Sequence[str]
    ) -> list[DigestEntry]:
        return await self._run(digests.entries, start, end, rule_ids)

    async def related_entries(
        self, start: datetime, end: datetime, rule_ids: Sequence[str]
    ) -> list[DigestEntry]:
        return await self._run(digests.related_entries, start, end, rule_ids)

    async def failing_sources(self, since: datetime) -> list[FailingSource]:
        return await self._run(digests.failing_sources, since)

    async def failed_deliveries(self, since: datetime | None = None) -> list[FailedDelivery]:
        return await self._run(digests.failed_deliveries, since)

    # outbox
    async def claim_delivery(self, now: datetime, until: datetime) -> PendingDelivery | None:
        return await self._run(outbox.claim_due, now, until)

    async def record_attempt(
        self,
        delivery_id: int,
        now: datetime,
        *,
        ok: bool,
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        await self._run(
            outbox.record_attempt, delivery_id, now, ok=ok, error=error, retry_at=retry_at
        )

    async def sent_count(self, channel: str, since: datetime) -> int:
        return await self._run(outbox.sent_count, channel, since)

    async def requeue_failed(self, ids: Sequence[int] | None, now: datetime) -> list[int]:
        return await self._run(outbox.requeue_failed, ids, now)

    async def defer_delivery(self, delivery_id: int, until: datetime) -> None:
        await self._run(outbox.defer, delivery_id, until)

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        return await self._run(outbox.backlog)

    async def ping(self) -> None:
        """Raise when the database cannot be reached now."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def alert_view(self, alert_id: int) -> AlertView:
        return await self._run(outbox.alert_view, alert_id)

    async def deliveries(self, status: str | None = None, limit: int = 200) -> list[DeliveryRecord]:
        return await self._run(outbox.deliveries, status, limit)

    # the operator's console
    async def recent_alerts(
        self, limit: int = 50, rule_ids: Sequence[str] | None = None
    ) -> list[AlertView]:
        return await self._run(console.recent_alerts, limit, rule_ids)

    async def recent_stories(self, limit: int = 50) -> list[StoryView]:
        return await self._run(console.recent_stories, limit)

    async def alert_verdicts(self, alert_ids: Sequence[int]) -> dict[int, str]:
        return await self._run(console.alert_verdicts, alert_ids)
