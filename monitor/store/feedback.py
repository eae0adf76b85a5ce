"""Recipients' verdicts on alerts, and the articles a rule missed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.errors import MonitorError
from monitor.store.tables import AlertRow, ArticleRow, FeedbackRow, MatchRow
from monitor.store.views import FeedbackRecord, feedback_record, latest_verdicts

VERDICTS = ("right", "wrong", "missed")


class UnknownAlert(MonitorError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert with id {alert_id} (`monitor alerts` lists them)")


async def judge_alert(
    session: AsyncSession, alert_id: int, verdict: str, note: str | None, now: datetime
) -> FeedbackRecord:
    """Record ``verdict`` (right or wrong) on an alert, with the article that raised it."""
    found = (
        await session.execute(
            select(AlertRow.rule_id, ArticleRow)
            .join(MatchRow, MatchRow.id == AlertRow.match_id)
            .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .where(AlertRow.id == alert_id)
        )
    ).first()
    if found is None:
        raise UnknownAlert(alert_id)
    rule_id, article = found
    row = FeedbackRow(
        created_at=now,
        rule_id=rule_id,
        verdict=verdict,
        alert_id=alert_id,
        url=article.url,
        title=article.title,
        text=article.text,
        lang=article.lang,
        published_at=article.published_at,
        note=note,
    )
    session.add(row)
    await session.flush()
    return feedback_record(row)


async def stored_article(
    session: AsyncSession, canonical_url: str
) -> tuple[str, str, str | None, datetime | None] | None:
    """Title, text, language and date of a stored article, if it is stored with its text."""
    row = await session.scalar(select(ArticleRow).where(ArticleRow.canonical_url == canonical_url))
    if row is None or not row.text:
        return None
    return row.title, row.text, row.lang, row.published_at


async def add_missed(
    session: AsyncSession,
    rule_id: str,
    url: str,
    article: tuple[str, str, str | None, datetime | None],
    note: str | None,
    now: datetime,
) -> FeedbackRecord:
    """Record that ``rule_id`` should have alerted on the article at ``url``."""
    title, text, lang, published = article
    row = FeedbackRow(
        created_at=now,
        rule_id=rule_id,
        verdict="missed",
        alert_id=None,
        url=url,
        title=title,
        text=text,
        lang=lang,
        published_at=published,
        note=note,
    )
    session.add(row)
    await session.flush()
    return feedback_record(row)


async def feedback(
    session: AsyncSession, rule_ids: Sequence[str] | None = None
) -> list[FeedbackRecord]:
    """The latest verdict on each alert (and each missed URL) per rule, oldest first."""
    query = select(FeedbackRow).order_by(FeedbackRow.id)
    if rule_ids:
        query = query.where(FeedbackRow.rule_id.in_(rule_ids))
    return latest_verdicts((await session.scalars(query)).all())


async def wrong_counts(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Rule id -> verdicts "wrong" given since ``since`` (the digest's health section)."""
    rows = await session.execute(
        select(FeedbackRow.rule_id, func.count())
        .where(FeedbackRow.verdict == "wrong", FeedbackRow.created_at >= since)
        .group_by(FeedbackRow.rule_id)
    )
    return {rule_id: count for rule_id, count in rows.all()}
