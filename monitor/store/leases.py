"""Source leases: which instance polls a source now.

Several instances may share one PostgreSQL database. Before polling, an instance
takes the lease of the sources that are due and that nobody holds (rows locked
with FOR UPDATE SKIP LOCKED, so that two instances never wait on, nor take, the
same row); it renews them while the poll runs and gives them back at its end. A
lease that lapses, because its instance died, makes the source free again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.tables import DeliveryRow, SourceRow
from monitor.store.views import SourceClaim


async def claim_sources(
    session: AsyncSession,
    ids: Sequence[str],
    owner: str,
    now: datetime,
    until: datetime,
    due: Mapping[str, datetime] | None = None,
    limit: int | None = None,
) -> list[SourceClaim]:
    """Lease the sources of `ids` that nobody else holds, to `owner` until `until`; with
    `due`, only those whose next check (when set) is at or before their time in it.

    At most `limit` free ones, the longest overdue first, and, beyond it, every source
    whose lease lapsed: its holder never gave it back, so it died (or lost the database),
    and its sources are taken over first."""
    if not ids:
        return []
    free = or_(
        SourceRow.lease_until.is_(None),
        SourceRow.lease_until <= now,
        SourceRow.lease_owner == owner,
    )
    query = (
        select(SourceRow.id, SourceRow.next_check_at, SourceRow.lease_owner)
        .where(SourceRow.id.in_(ids), free)
        .order_by(SourceRow.next_check_at.asc().nulls_first(), SourceRow.id)
        .with_for_update(skip_locked=True)
    )
    if due is not None:
        query = query.where(
            or_(SourceRow.next_check_at.is_(None), SourceRow.next_check_at <= max(due.values()))
        )
    candidates = [
        SourceClaim(source_id, None if holder == owner else holder)
        for source_id, next_check_at, holder in (await session.execute(query)).all()
        if due is None or next_check_at is None or next_check_at <= due[source_id]
    ]
    lapsed = [c for c in candidates if c.taken_from]
    chosen = lapsed + [c for c in candidates if not c.taken_from][:limit]
    if not chosen:
        return []
    # `free` again: on SQLite the select above locks nothing.
    claimed = set(
        await session.scalars(
            update(SourceRow)
            .where(SourceRow.id.in_([c.source_id for c in chosen]), free)
            .values(lease_owner=owner, lease_until=until)
            .returning(SourceRow.id)
        )
    )
    return sorted((c for c in chosen if c.source_id in claimed), key=lambda c: c.source_id)


async def renew_sources(
    session: AsyncSession, ids: Sequence[str], owner: str, until: datetime
) -> list[str]:
    """Extend `owner`'s leases among `ids`; returns those it still held."""
    held = list(
        await session.scalars(
            update(SourceRow)
            .where(SourceRow.id.in_(ids), SourceRow.lease_owner == owner)
            .values(lease_until=until)
            .returning(SourceRow.id)
        )
    )
    return sorted(held)


async def release_sources(session: AsyncSession, ids: Sequence[str], owner: str) -> None:
    await session.execute(
        update(SourceRow)
        .where(SourceRow.id.in_(ids), SourceRow.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


async def release_all(session: AsyncSession) -> None:
    """Free every source lease and delivery claim: for a SQLite database, whose one
    service holds its lock file, so that any lease is a dead process's."""
    await session.execute(
        update(SourceRow)
        .where(SourceRow.lease_owner.is_not(None))
        .values(lease_owner=None, lease_until=None)
    )
    await session.execute(
        update(DeliveryRow).where(DeliveryRow.claimed_until.is_not(None)).values(claimed_until=None)
    )
