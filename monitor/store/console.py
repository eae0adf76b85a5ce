"""What the operator's console reads besides the pipeline's own queries: the recent
alerts, the verdicts given on them, and the recent stories."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.outbox import alert_view
from monitor.store.tables import AlertRow, ArticleRow, FeedbackRow, SourceRow, StoryRow
from monitor.store.views import AlertView, StoryArticle, StoryView

STORY_ARTICLES_SHOWN = 20  # articles listed per story; the rest are counted


async def recent_alerts(
    session: AsyncSession, limit: int, rule_ids: Sequence[str] | None = None
) -> list[AlertView]:
    """The latest alerts, newest first, each with its article and its story's outlets."""
    query = select(AlertRow.id).order_by(AlertRow.created_at.desc(), AlertRow.id.desc())
    if rule_ids:
        query = query.where(AlertRow.rule_id.in_(rule_ids))
    ids = list(await session.scalars(query.limit(limit)))
    return [await alert_view(session, alert_id) for alert_id in ids]


async def alert_verdicts(session: AsyncSession, alert_ids: Sequence[int]) -> dict[int, str]:
    """The latest verdict (right or wrong) given on each of these alerts that has one."""
    rows = await session.execute(
        select(FeedbackRow.alert_id, FeedbackRow.verdict)
        .where(FeedbackRow.alert_id.in_(alert_ids))
        .order_by(FeedbackRow.id)
    )
    return {alert_id: verdict for alert_id, verdict in rows.all() if alert_id is not None}


async def recent_stories(session: AsyncSession, limit: int) -> list[StoryView]:
    """The stories seen last, newest first, each with its articles (oldest first) and the
    rules that alerted on it."""
    stories = (
        await session.scalars(
            select(StoryRow).order_by(StoryRow.last_seen_at.desc(), StoryRow.id.desc()).limit(limit)
        )
    ).all()
    ids = [story.id for story in stories]
    articles: dict[int, list[StoryArticle]] = {story_id: [] for story_id in ids}
    rows = await session.execute(
        select(ArticleRow, SourceRow.name)
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(ArticleRow.story_id.in_(ids))
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)
    )
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    outlets: dict[int, set[str]] = {story_id: set() for story_id in ids}
    for article, source_name in rows.all():
        assert article.story_id is not None  # the query asks for it
        counts[article.story_id] += 1
        outlets[article.story_id].add(source_name)
        if counts[article.story_id] > STORY_ARTICLES_SHOWN:
            continue  # a story a flood of near-copies joined: its first articles say it
        articles[article.story_id].append(
            StoryArticle(
                article.title, article.url, source_name, article.first_seen_at, article.published_at
            )
        )
    rules: dict[int, set[str]] = {story_id: set() for story_id in ids}
    alerted = await session.execute(
        select(AlertRow.story_id, AlertRow.rule_id).where(AlertRow.story_id.in_(ids))
    )
    for story_id, rule_id in alerted.all():
        rules[story_id].add(rule_id)
    return [
        StoryView(
            story.id,
            story.title,
            story.first_seen_at,
            story.last_seen_at,
            tuple(sorted(rules[story.id])),
            tuple(articles[story.id]),
            counts[story.id],
            len(outlets[story.id]),
        )
        for story in stories
    ]
