"""Retention: the text of old articles that matched no rule is dropped, their rows kept.

An article row is also the memory that the article was seen: deleting it would let
a feed or sitemap that still lists the item bring it back as new, and alert again.
So only what is heavy goes (text, summary, fingerprint); URL, title, dates, content
hash and sightings stay. Articles that matched a rule keep everything: they are
what alerts and digests point to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.tables import ArticleRow, MatchRow
from monitor.store.views import PruneResult

PRUNED = "pruned"  # in ArticleRow.flags: the text was dropped by retention


def is_pruned() -> ColumnElement[bool]:
    return ArticleRow.flags.contains(PRUNED)


def _prunable(before: datetime) -> ColumnElement[bool]:
    return and_(
        ArticleRow.first_seen_at < before,
        ~is_pruned(),
        ~exists().where(MatchRow.article_id == ArticleRow.id),
    )


async def prune_texts(session: AsyncSession, before: datetime, *, dry_run: bool) -> PruneResult:
    """Drop the text of articles first seen before `before` that matched nothing."""
    count, characters = (
        await session.execute(
            select(
                func.count(ArticleRow.id),
                func.coalesce(
                    func.sum(func.length(ArticleRow.text) + func.length(ArticleRow.summary)), 0
                ),
            ).where(_prunable(before))
        )
    ).one()
    if count and not dry_run:
        await session.execute(
            update(ArticleRow)
            .where(_prunable(before))
            .values(
                text="",
                summary="",
                fingerprint=None,
                flags=case((ArticleRow.flags == "", PRUNED), else_=ArticleRow.flags + "," + PRUNED),
            )
            .execution_options(synchronize_session=False)
        )
    return PruneResult(before=before, articles=int(count), characters=int(characters))
