"""Digest runs and what they contain: alerts of the period and later articles of their stories."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.outbox import enqueue
from monitor.store.tables import (
    AlertRow,
    ArticleRow,
    DeliveryRow,
    DigestRunRow,
    MatchRow,
    SourceRow,
)
from monitor.store.views import EVENT, DigestEntry, DigestRun, FailedDelivery, FailingSource


async def last_run(session: AsyncSession, digest: str) -> DigestRun | None:
    row = await session.scalar(
        select(DigestRunRow)
        .where(DigestRunRow.digest == digest)
        .order_by(DigestRunRow.period_end.desc())
        .limit(1)
    )
    return _run(row) if row else None


async def get_run(session: AsyncSession, run_id: int) -> DigestRun:
    return _run(await session.get_one(DigestRunRow, run_id))


def _run(row: DigestRunRow) -> DigestRun:
    return DigestRun(
        row.id, row.digest, row.period_start, row.period_end, row.created_at, row.items
    )


async def create_run(
    session: AsyncSession,
    digest: str,
    start: datetime,
    end: datetime,
    items: int,
    channels: Sequence[str],
    now: datetime,
    domain: str,
) -> int | None:
    """Record a digest period and its deliveries together; None if that period exists already."""
    exists = await session.scalar(
        select(DigestRunRow.id).where(DigestRunRow.digest == digest, DigestRunRow.period_end == end)
    )
    if exists is not None:
        return None
    run = DigestRunRow(
        digest=digest, period_start=start, period_end=end, created_at=now, items=items
    )
    session.add(run)
    await session.flush()
    for channel in channels:
        await session.run_sync(
            enqueue, kind="digest", channel=channel, now=now, domain=domain, digest_run_id=run.id
        )
    return run.id


async def entries(
    session: AsyncSession, start: datetime, end: datetime, rule_ids: Sequence[str]
) -> list[DigestEntry]:
    """One entry per (story, rule) alert raised in the period, or whose story grew in it."""
    grew = select(ArticleRow.story_id).where(
        ArticleRow.first_seen_at > start, ArticleRow.first_seen_at <= end
    )
    query = (
        select(AlertRow, MatchRow.details, ArticleRow)
        .join(MatchRow, MatchRow.id == AlertRow.match_id)
        .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
        .where(
            AlertRow.rule_id.in_(rule_ids),
            AlertRow.created_at <= end,
            or_(AlertRow.created_at > start, AlertRow.story_id.in_(grew)),
        )
        .order_by(AlertRow.created_at, AlertRow.id)
    )
    found = []
    for alert, details, article in (await session.execute(query)).all():
        found.append(
            await _entry(
                session,
                alert.rule_id,
                alert.story_id,
                article,
                details,
                end,
                new=alert.created_at > start,
            )
        )
    return found


async def related_entries(
    session: AsyncSession, start: datetime, end: datetime, rule_ids: Sequence[str]
) -> list[DigestEntry]:
    """One entry per (story, rule) whose articles of the period matched only the rule's
    related query: the digest's related coverage, never alerted."""
    alerted = select(AlertRow.id).where(
        AlertRow.story_id == ArticleRow.story_id, AlertRow.rule_id == MatchRow.rule_id
    )
    query = (
        select(MatchRow.rule_id, MatchRow.details, ArticleRow)
        .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
        .where(
            MatchRow.rule_id.in_(rule_ids),
            MatchRow.tier != EVENT,
            and_(ArticleRow.first_seen_at > start, ArticleRow.first_seen_at <= end),
            ArticleRow.story_id.is_not(None),
            ~alerted.exists(),
        )
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)
    )
    found: dict[tuple[str, int], DigestEntry] = {}
    for rule_id, details, article in (await session.execute(query)).all():
        story_id = article.story_id
        assert story_id is not None  # the query asks for it
        if (rule_id, story_id) in found:
            continue
        found[(rule_id, story_id)] = await _entry(
            session, rule_id, story_id, article, details, end, new=True
        )
    return list(found.values())


async def _entry(
    session: AsyncSession,
    rule_id: str,
    story_id: int,
    article: ArticleRow,
    details: str,
    end: datetime,
    *,
    new: bool,
) -> DigestEntry:
    """A story's line in the digest: its heading article and the outlets that told it."""
    links, count = await _story_outlets(session, story_id, end)
    return DigestEntry(
        rule_id=rule_id,
        story_id=story_id,
        title=article.title,
        url=article.url,
        date=article.published_at or article.first_seen_at,
        outlet_links=links,
        articles=count,
        details=json.loads(details),
        new=new,
    )


async def _story_outlets(
    session: AsyncSession, story_id: int, end: datetime
) -> tuple[tuple[tuple[str, str], ...], int]:
    """(outlet, URL of its first article) for each outlet of the story, and the article count."""
    rows = (
        await session.execute(
            select(SourceRow.name, ArticleRow.url)
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
            .where(ArticleRow.story_id == story_id, ArticleRow.first_seen_at <= end)
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
    ).all()
    first: dict[str, str] = {}
    for name, url in rows:
        first.setdefault(name, url)
    return tuple(first.items()), len(rows)


async def failing_sources(session: AsyncSession, since: datetime) -> list[FailingSource]:
    """Sources failing without a success since before `since`."""
    rows = await session.scalars(
        select(SourceRow)
        .where(SourceRow.failing_since.is_not(None), SourceRow.failing_since <= since)
        .order_by(SourceRow.failing_since)
    )
    return [
        FailingSource(
            r.id,
            r.name,
            r.failing_since or since,  # never None: the query asks for it
            r.consecutive_failures,
            r.last_error_kind,
            r.last_error,
        )
        for r in rows.all()
    ]


async def failed_deliveries(
    session: AsyncSession, since: datetime | None = None
) -> list[FailedDelivery]:
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.status == "failed")
        .order_by(DeliveryRow.created_at.desc())
    )
    if since is not None:
        query = query.where(DeliveryRow.created_at > since)
    return [
        FailedDelivery(r.id, r.kind, r.channel, r.created_at, r.attempts, r.last_error)
        for r in (await session.scalars(query)).all()
    ]
