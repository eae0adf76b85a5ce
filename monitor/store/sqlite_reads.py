"""What `monitor sources`, `alerts` and `feedback export` list, read from a SQLite file with
the standard library's sqlite3: importing SQLAlchemy and the store's tables took most of
those commands' start-up.

The same reads as the `Store`'s (tests/store/test_sqlite_reads.py compares them), the
rows made into records by the same functions (`monitor.store.views`). Only a database
at the latest schema is read this way: `SqliteReads.open` is None for any other, which
the `Store` then migrates, or says what is wrong with. What the commands do not list
(the console's alerts and stories...) is asked of a `Store` opened on first use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING
from urllib.parse import quote

from monitor.dburl import sqlite_file
from monitor.store.revision import HEAD_REVISION
from monitor.store.views import (
    DeliveryRecord,
    FeedbackRecord,
    SourceState,
    delivery_record,
    latest_verdicts,
    source_state,
)

if TYPE_CHECKING:
    from monitor.store.facade import Store
    from monitor.store.views import AlertView, StoryView

BUSY_TIMEOUT = 30  # seconds, as the store's connections wait for a writer

_DELIVERIES = """
    SELECT deliveries.id, deliveries.kind, deliveries.channel, deliveries.status,
        deliveries.attempts, deliveries.created_at, deliveries.sent_at, deliveries.last_error,
        alerts.rule_id, articles.title, digest_runs.digest
    FROM deliveries
    LEFT OUTER JOIN alerts ON alerts.id = deliveries.alert_id
    LEFT OUTER JOIN matches ON matches.id = alerts.match_id
    LEFT OUTER JOIN articles ON articles.id = matches.article_id
    LEFT OUTER JOIN digest_runs ON digest_runs.id = deliveries.digest_run_id
    {where}
    ORDER BY deliveries.created_at DESC, deliveries.id DESC
    LIMIT ?
"""


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite keeps none: it is stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Only for the connections that ask for it (detect_types): the store's columns declared
# DATETIME, as SQLAlchemy writes them ("2026-01-02 03:04:05.000006").
sqlite3.register_converter("DATETIME", lambda raw: utc(datetime.fromisoformat(raw.decode())))


def _namespace(cursor: sqlite3.Cursor, values: tuple[object, ...]) -> SimpleNamespace:
    # Rows with the ORM's attribute names, for the record functions of views.
    names = [column[0] for column in cursor.description]
    return SimpleNamespace(**dict(zip(names, values, strict=True)))


def _connect(path: Path) -> sqlite3.Connection:
    # Read-write, yet only read (query_only), not read-only: a read-only connection cannot
    # remove the -wal and -shm files of the last connection to close, which the service's
    # own connections remove. mode=rw never creates the file.
    connection = sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw",
        uri=True,
        timeout=BUSY_TIMEOUT,
        detect_types=sqlite3.PARSE_DECLTYPES,
    )
    connection.execute("PRAGMA query_only = ON")
    connection.row_factory = _namespace
    return connection


class SqliteReads:
    """The listings' reads of one SQLite database."""

    def __init__(self, connection: sqlite3.Connection, url: str) -> None:
        self._connection = connection
        self._url = url
        self._store: Store | None = None

    @classmethod
    def open(cls, url: str) -> SqliteReads | None:
        """The reads of the file of `url`, when it is there and at the latest schema;
        None when it is not, or cannot be read (the `Store` then says why)."""
        path = sqlite_file(url)
        if path is None:
            return None
        try:
            connection = _connect(path)
        except sqlite3.Error:
            return None
        reads = cls(connection, url)
        if not reads._current():
            connection.close()
            return None
        return reads

    def _current(self) -> bool:
        try:
            found = self._connection.execute("SELECT version_num FROM alembic_version")
            return [row.version_num for row in found] == [HEAD_REVISION]
        except sqlite3.Error:
            return False

    async def close(self) -> None:
        self._connection.close()
        if self._store is not None:
            await self._store.close()

    # The local reads are quick: they block the event loop for as long as they take.

    async def source_states(self) -> list[SourceState]:
        rows = self._connection.execute("SELECT * FROM sources ORDER BY sources.id")
        return [source_state(row) for row in rows]

    async def poison_counts(self) -> dict[str, int]:
        rows = self._connection.execute(
            "SELECT source_id, count(*) AS pages FROM poison_pages GROUP BY source_id"
        )
        return {row.source_id: row.pages for row in rows}

    async def deliveries(self, status: str | None = None, limit: int = 200) -> list[DeliveryRecord]:
        where, values = ("WHERE deliveries.status = ?", [status]) if status else ("", [])
        rows = self._connection.execute(_DELIVERIES.format(where=where), [*values, limit])
        return [delivery_record(row, row.rule_id, row.title, row.digest) for row in rows]

    async def feedback(self, rule_ids: Sequence[str] | None = None) -> list[FeedbackRecord]:
        where = f"WHERE rule_id IN ({', '.join('?' * len(rule_ids))})" if rule_ids else ""
        query = f"SELECT * FROM feedback {where} ORDER BY feedback.id"  # noqa: S608 (placeholders)
        return latest_verdicts(self._connection.execute(query, list(rule_ids or ())))

    # What the commands do not list: the store's.

    def _whole(self) -> Store:
        if self._store is None:
            from monitor.store.facade import Store

            self._store = Store.open(self._url)
        return self._store

    async def recent_alerts(
        self, limit: int = 50, rule_ids: Sequence[str] | None = None
    ) -> list[AlertView]:
        return await self._whole().recent_alerts(limit, rule_ids)

    async def alert_verdicts(self, alert_ids: Sequence[int]) -> dict[int, str]:
        return await self._whole().alert_verdicts(alert_ids)

    async def recent_stories(self, limit: int = 50) -> list[StoryView]:
        return await self._whole().recent_stories(limit)

    async def wrong_counts(self, since: datetime) -> dict[str, int]:
        return await self._whole().wrong_counts(since)

    async def count_articles(self, since: datetime | None, *, pruned: bool = False) -> int:
        return await self._whole().count_articles(since, pruned=pruned)
