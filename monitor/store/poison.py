"""Poison pages: article pages whose extraction overran its deadline or crashed its worker."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.tables import PoisonPageRow


def _key(url: str) -> str:
    # URLs are unbounded text; a fixed-size key indexes on every backend.
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


async def poison_failures(session: AsyncSession) -> dict[str, int]:
    """URL -> extraction failures so far, for every page that failed at least once."""
    rows = await session.execute(select(PoisonPageRow.url, PoisonPageRow.failures))
    return {url: failures for url, failures in rows.all()}


async def record_poison(
    session: AsyncSession, url: str, source_id: str, reason: str, now: datetime
) -> int:
    """One more failure of this page; the count so far."""
    row = await session.get(PoisonPageRow, _key(url))
    if row is None:
        row = PoisonPageRow(url_hash=_key(url), url=url, failures=0)
        session.add(row)
    row.failures += 1
    row.source_id, row.reason, row.last_failed_at = source_id, reason, now
    return row.failures


async def poison_counts(session: AsyncSession) -> dict[str, int]:
    """Source id -> its article pages whose extraction overran or crashed a worker."""
    rows = await session.execute(
        select(PoisonPageRow.source_id, func.count()).group_by(PoisonPageRow.source_id)
    )
    return {source_id: count for source_id, count in rows.all()}
