"""Source rows: configuration mirrored into the database, plus fetch health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.config.sources import SourceConfig
from monitor.records import CacheValidators
from monitor.store.outbox import enqueue
from monitor.store.tables import SourceRow
from monitor.store.views import SourceState


async def sync_sources(
    session: AsyncSession, sources: Sequence[SourceConfig], now: datetime
) -> None:
    """Create rows for new sources and refresh names and URLs; history is kept for removed ones."""
    rows = {row.id: row for row in (await session.scalars(select(SourceRow))).all()}
    for source in sources:
        row = rows.get(source.id)
        if row is None:
            session.add(
                SourceRow(
                    id=source.id,
                    url=source.url,
                    name=source.name,
                    kind=source.kind,
                    first_seen_at=now,
                    consecutive_failures=0,
                    items_seen=0,
                )
            )
            continue
        if row.url != source.url:
            # A new address invalidates the old validators and any remembered move.
            row.url, row.etag, row.last_modified, row.moved_to = source.url, None, None, None
        row.name, row.kind = source.name, source.kind


async def source_states(
    session: AsyncSession, ids: Sequence[str] | None = None
) -> list[SourceState]:
    query = select(SourceRow).order_by(SourceRow.id)
    if ids is not None:
        query = query.where(SourceRow.id.in_(ids))
    return [_state(row) for row in (await session.scalars(query)).all()]


def _state(row: SourceRow) -> SourceState:
    return SourceState(
        id=row.id,
        name=row.name,
        url=row.url,
        kind=row.kind,
        validators=CacheValidators(row.etag, row.last_modified),
        first_seen_at=row.first_seen_at,
        last_attempt_at=row.last_attempt_at,
        last_success_at=row.last_success_at,
        next_check_at=row.next_check_at,
        failing_since=row.failing_since,
        consecutive_failures=row.consecutive_failures,
        last_error_kind=row.last_error_kind,
        last_error=row.last_error,
        warning=row.warning,
        items_seen=row.items_seen,
        moved_to=row.moved_to,
        notice_sent_at=row.notice_sent_at,
        state=row.state,
    )


async def record_success(
    session: AsyncSession,
    source_id: str,
    now: datetime,
    *,
    validators: CacheValidators | None,
    items: int,
    warning: str | None,
    moved_to: str | None,
    next_check_at: datetime | None,
    state: str | None = None,
) -> None:
    row = await session.get_one(SourceRow, source_id)
    row.last_attempt_at = row.last_success_at = now
    row.consecutive_failures = 0
    row.failing_since = row.last_error_kind = row.last_error = row.notice_sent_at = None
    if validators is not None:
        row.etag, row.last_modified = validators.etag, validators.last_modified
    row.items_seen += items
    row.warning = warning
    row.moved_to = moved_to or row.moved_to
    row.next_check_at = next_check_at
    if state is not None:
        row.state = state


async def record_failure(
    session: AsyncSession,
    source_id: str,
    now: datetime,
    *,
    kind: str,
    message: str,
    next_check_at: datetime | None,
    state: str | None = None,
) -> None:
    row = await session.get_one(SourceRow, source_id)
    if state is not None:
        row.state = state
    row.last_attempt_at = now
    row.consecutive_failures += 1
    row.failing_since = row.failing_since or now
    row.last_error_kind, row.last_error = kind, message[:2000]
    row.next_check_at = next_check_at


async def raise_failure_notices(
    session: AsyncSession,
    failing_before: datetime,
    channels: Sequence[str],
    now: datetime,
    domain: str,
) -> list[str]:
    """One operator notice per failing streak: sources failing since before `failing_before`
    that have not had one yet get a notice delivery on each channel, in this transaction."""
    rows = (
        await session.scalars(
            select(SourceRow)
            .where(
                SourceRow.failing_since.is_not(None),
                SourceRow.failing_since <= failing_before,
                SourceRow.notice_sent_at.is_(None),
            )
            .order_by(SourceRow.id)
        )
    ).all()
    for row in rows:
        assert row.failing_since is not None
        payload: dict[str, object] = {
            "subject": f"[veille] source en échec : {row.name}",
            "text": (
                f"La source « {row.name} » ({row.id}, {row.url}) échoue depuis le "
                f"{row.failing_since:%d/%m/%Y %H:%M} UTC ({row.consecutive_failures} essais).\n"
                f"Dernière erreur ({row.last_error_kind}) : {row.last_error}\n\n"
                "Voir `monitor sources`. Un seul avis est envoyé tant que la source "
                "ne redevient pas disponible."
            ),
        }
        key = f"notice:source:{row.id}:{row.failing_since.isoformat()}"
        for channel in channels:
            await enqueue(
                session,
                kind="notice",
                channel=channel,
                now=now,
                domain=domain,
                payload=payload,
                key=f"{key}:{channel}",
            )
        row.notice_sent_at = now
    return [row.id for row in rows]
