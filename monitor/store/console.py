"""What the operator's console reads besides the pipeline's own queries: the recent
alerts and the verdicts given on them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.store.outbox import alert_view
from monitor.store.tables import AlertRow, FeedbackRow
from monitor.store.views import AlertView


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
