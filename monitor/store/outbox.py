"""The delivery outbox: pending messages, their attempts, and what they are about."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from monitor.store.tables import (
    AlertRow,
    ArticleRow,
    AttemptRow,
    DeliveryRow,
    DigestRunRow,
    MatchRow,
    SourceRow,
)
from monitor.store.views import (
    AlertView,
    ArticleView,
    DeliveryRecord,
    PendingDelivery,
    delivery_record,
)

# The PostgreSQL channel on which a committed outbox row wakes every instance's dispatcher.
OUTBOX_CHANNEL = "veille_outbox"
# Set in a session's info when it queued a delivery: the store wakes its own dispatcher
# once that transaction commits.
QUEUED = "veille_queued"


def message_id(dedupe_key: str, domain: str) -> str:
    """A Message-ID that is the same on every attempt, so mail clients fold a resend."""
    token = hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]
    return f"<veille.{token}@{domain}>"


def enqueue(
    session: Session,
    *,
    kind: str,
    channel: str,
    now: datetime,
    domain: str,
    alert_id: int | None = None,
    digest_run_id: int | None = None,
    payload: dict[str, object] | None = None,
    key: str | None = None,
) -> int:
    """Add one delivery unless the same one exists; returns how many were added (0 or 1).

    Conflict-safe: two instances queueing the same delivery at once add it once. In
    plain (not async) statements, for the pass's article writes, which run in one call
    (`Store.write_articles`); async callers run it with `AsyncSession.run_sync`."""
    dedupe_key = key or f"{kind}:{alert_id or digest_run_id}:{channel}"
    added = session.scalar(
        conflict_insert(session.get_bind().dialect.name)(DeliveryRow)
        .values(
            dedupe_key=dedupe_key,
            kind=kind,
            channel=channel,
            alert_id=alert_id,
            digest_run_id=digest_run_id,
            payload=json.dumps(payload, ensure_ascii=False) if payload else None,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            message_id=message_id(dedupe_key, domain),
        )
        .on_conflict_do_nothing(index_elements=[DeliveryRow.dedupe_key])
        .returning(DeliveryRow.id)
    )
    if added is None:
        return 0
    session.info[QUEUED] = True
    if session.get_bind().dialect.name == "postgresql":
        # Delivered at commit, once per transaction however many rows it queued.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
    return 1


def conflict_insert(dialect: str) -> Any:
    """The INSERT (with ON CONFLICT) of a database dialect, its module imported when
    used: a SQLite database never loads the PostgreSQL dialect, a tenth of SQLAlchemy's
    import time."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


async def claim_due(
    session: AsyncSession, now: datetime, until: datetime
) -> PendingDelivery | None:
    """Take the oldest due delivery for one attempt, claimed until `until`: no other
    dispatcher takes it meanwhile, and it comes back by itself should this one die before
    recording the attempt. Rows another instance is taking are skipped; the update checks
    again what the select found, so it is one atomic step on SQLite too."""
    due = (
        DeliveryRow.status == "pending",
        DeliveryRow.next_attempt_at <= now,
        or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
    )
    oldest = (
        select(DeliveryRow.id)
        .where(*due)
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = await session.scalar(
        update(DeliveryRow)
        .where(DeliveryRow.id == oldest, *due)
        .values(claimed_until=until)
        .returning(DeliveryRow)
        .execution_options(synchronize_session=False)
    )
    return None if row is None else _pending(row)


def _pending(row: DeliveryRow) -> PendingDelivery:
    return PendingDelivery(
        row.id,
        row.kind,
        row.channel,
        row.alert_id,
        row.digest_run_id,
        row.payload,
        row.attempts,
        row.message_id,
        row.created_at,
    )


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    now: datetime,
    *,
    ok: bool,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    """Log an attempt; ok → sent, failed with retry_at → pending later, else failed for good."""
    session.add(AttemptRow(delivery_id=delivery_id, attempted_at=now, ok=ok, error=error))
    values: dict[str, object] = {
        "attempts": DeliveryRow.attempts + 1,
        "last_error": error,
        "claimed_until": None,
    }
    if ok:
        values |= {"status": "sent", "sent_at": now}
    elif retry_at is not None:
        values |= {"next_attempt_at": retry_at}
    else:
        values |= {"status": "failed"}
    await session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


async def alert_view(session: AsyncSession, alert_id: int) -> AlertView:
    alert = await session.get_one(AlertRow, alert_id)
    match = await session.get_one(MatchRow, alert.match_id)
    article = await article_view(session, match.article_id)
    story_rows = await session.execute(
        select(ArticleRow, SourceRow.name)
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(ArticleRow.story_id == alert.story_id, ArticleRow.id != article.id)
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)
    )
    also = tuple(_article_view(row, name) for row, name in story_rows.all())
    return AlertView(
        alert.id,
        alert.rule_id,
        alert.story_id,
        alert.created_at,
        article,
        json.loads(match.details),
        also,
    )


async def article_view(session: AsyncSession, article_id: int) -> ArticleView:
    row, name = (
        await session.execute(
            select(ArticleRow, SourceRow.name)
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
            .where(ArticleRow.id == article_id)
        )
    ).one()
    return _article_view(row, name)


def _article_view(row: ArticleRow, source_name: str) -> ArticleView:
    return ArticleView(
        row.id,
        row.url,
        row.title,
        row.source_id,
        source_name,
        row.published_at,
        row.first_seen_at,
        row.lang,
        row.summary,
        row.extraction,
        tuple(f for f in row.flags.split(",") if f),
    )


async def deliveries(
    session: AsyncSession, status: str | None = None, limit: int = 200
) -> list[DeliveryRecord]:
    query = (
        select(DeliveryRow, AlertRow.rule_id, ArticleRow.title, DigestRunRow.digest)
        .outerjoin(AlertRow, AlertRow.id == DeliveryRow.alert_id)
        .outerjoin(MatchRow, MatchRow.id == AlertRow.match_id)
        .outerjoin(ArticleRow, ArticleRow.id == MatchRow.article_id)
        .outerjoin(DigestRunRow, DigestRunRow.id == DeliveryRow.digest_run_id)
        .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(DeliveryRow.status == status)
    found = (await session.execute(query)).all()
    return [delivery_record(row, rule_id, title, digest) for row, rule_id, title, digest in found]


async def sent_count(session: AsyncSession, channel: str, since: datetime) -> int:
    query = select(func.count(DeliveryRow.id)).where(
        DeliveryRow.channel == channel, DeliveryRow.status == "sent", DeliveryRow.sent_at >= since
    )
    return int(await session.scalar(query) or 0)


async def requeue_failed(
    session: AsyncSession, ids: Sequence[int] | None, now: datetime
) -> list[int]:
    """Give failed deliveries (all, or those of `ids`) a fresh round of attempts from now.

    Their earlier attempts stay in the log, and their Message-ID stays the same."""
    query = select(DeliveryRow.id).where(DeliveryRow.status == "failed")
    if ids is not None:
        query = query.where(DeliveryRow.id.in_(ids))
    found = list(await session.scalars(query.order_by(DeliveryRow.id)))
    if found:
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(found))
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
    return found


async def defer(session: AsyncSession, delivery_id: int, until: datetime) -> None:
    """Postpone without counting an attempt (a channel's rate limit, not a failure)."""
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(next_attempt_at=until, claimed_until=None)
    )


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many deliveries are pending, and when the oldest of them was queued."""
    count, oldest = (
        await session.execute(
            select(func.count(DeliveryRow.id), func.min(DeliveryRow.created_at)).where(
                DeliveryRow.status == "pending"
            )
        )
    ).one()
    return int(count), oldest
