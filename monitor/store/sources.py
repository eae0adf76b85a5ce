"""Source rows: configuration mirrored into the database, plus fetch health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitor.config.sources import SourceConfig
from monitor.store.outbox import enqueue
from monitor.store.tables import SourceRow
from monitor.store.views import HealthWrite, SourceState, source_state


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
    return [source_state(row) for row in (await session.scalars(query)).all()]


async def record_health(session: AsyncSession, writes: Sequence[HealthWrite]) -> None:
    """Write the health of the sources polled in a pass: one statement for those that
    answered, one for those that failed, each executed for many rows at once.

    A failure leaves alone what only an answer changes (validators, address, warning)
    and the failure notice, which `raise_failure_notices` may be sending meanwhile."""
    answered = [_answered(w) for w in writes if w.health.ok]
    failed = [_failed(w) for w in writes if not w.health.ok]
    for rows in (answered, failed):
        if rows:
            await session.execute(_update_by_id(rows[0]), [_params(row) for row in rows])


def _update_by_id(row: dict[str, object]) -> Update:
    """An UPDATE of the columns of `row` (and `items_seen` by its `items`), by source id,
    with a bound parameter for each: executed once for many rows."""
    table = cast(Table, SourceRow.__table__)  # Core: one statement, many rows
    values: dict[str, object] = {
        name: bindparam(f"p_{name}") for name in row if name not in ("source_id", "items")
    }
    if "items" in row:
        values["items_seen"] = table.c.items_seen + bindparam("p_items")
    return update(table).where(table.c.id == bindparam("p_source_id")).values(values)


def _params(row: dict[str, object]) -> dict[str, object]:
    # Bound parameters may not bear the names of the columns they set.
    return {f"p_{name}": value for name, value in row.items()}


def _answered(write: HealthWrite) -> dict[str, object]:
    health = write.health
    return {
        "source_id": write.source_id,
        "last_attempt_at": health.last_attempt_at,
        "last_success_at": health.last_success_at,
        "consecutive_failures": 0,
        "failing_since": None,
        "last_error_kind": None,
        "last_error": None,
        "notice_sent_at": None,
        "etag": health.validators.etag,
        "last_modified": health.validators.last_modified,
        "items": write.items,
        "warning": health.warning,
        "moved_to": health.moved_to,
        "next_check_at": health.next_check_at,
        "state": write.state,
    }


def _failed(write: HealthWrite) -> dict[str, object]:
    health = write.health
    return {
        "source_id": write.source_id,
        "last_attempt_at": health.last_attempt_at,
        "consecutive_failures": health.consecutive_failures,
        "failing_since": health.failing_since,
        "last_error_kind": health.last_error_kind,
        "last_error": (health.last_error or "")[:2000],
        "next_check_at": health.next_check_at,
        "state": write.state,
    }


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
            await session.run_sync(
                enqueue,
                kind="notice",
                channel=channel,
                now=now,
                domain=domain,
                payload=payload,
                key=f"{key}:{channel}",
            )
        row.notice_sent_at = now
    return [row.id for row in rows]
