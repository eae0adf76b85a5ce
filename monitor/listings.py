"""What the database says, read without fetching, matching or sending: the sources with
their health, the latest alerts and their verdicts, deliveries, the recorded verdicts,
the size of the archive; and, as light, the verdicts written as a labeled file
(`write_labeled`) and whether the service is alive (`service_health`, from its heartbeat).

    async with open_listings("~/veille") as listings:
        for source in await listings.sources():
            print(source.config.id, source.status)

`Listings` needs the configuration as it is read (`read_config(settings, checked=False)`:
no channel, cron or rule compiled) and the store, nothing else: the commands that only
list (`monitor sources`, `alerts`, `feedback export`) start in a fraction of a second.
`Monitor` (monitor.api) is `Listings` too, on the store of its service. Keep this module
free of what matching, extraction, fetching, migrating and notifying import
(tests/test_cli_listings.py checks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from monitor.labels import write_labeled as write_labeled  # re-exported: as light
from monitor.names import enabled_rule
from monitor.schedule.heartbeat import service_health as service_health  # re-exported: as light
from monitor.settings import Settings, database_url, read_config

if TYPE_CHECKING:
    from monitor.config import Config, SourceConfig
    from monitor.labels import LabeledArticle
    from monitor.store import AlertView, DeliveryRecord, SourceState, Store, StoryView
    from monitor.store.sqlite_reads import SqliteReads

DeliveryStatus = Literal["pending", "failed", "sent"]


@dataclass(frozen=True)
class SourceHealth:
    """A configured source and what polling it has shown so far."""

    config: SourceConfig
    state: SourceState | None  # None: never polled yet
    status: str  # never | ok | warning | error | failing | disabled
    items_per_day: str  # since the source was first seen ("" before its first poll)
    poisoned: int  # its pages that overran or crashed an extraction worker


@dataclass(frozen=True)
class AlertItem:
    """An alert with its article, its story's other outlets, and the latest verdict on it."""

    view: AlertView
    verdict: str | None


def source_status(state: SourceState, config: Config, now: datetime) -> str:
    if state.last_attempt_at is None:
        return "never"
    if state.consecutive_failures:
        failing_for = now - (state.failing_since or now)
        return "failing" if failing_for >= config.service.health.failing_after else "error"
    return "warning" if state.warning or state.moved_to else "ok"


def per_day(state: SourceState, now: datetime) -> str:
    days = max((now - state.first_seen_at).total_seconds() / 86400, 1.0)
    return f"{state.items_seen / days:.1f}"


def settings_for(
    config_dir: str | Path, database_url: str | None, environ: Mapping[str, str] | None
) -> Settings:
    """The settings of `environ` (default: the process environment) for `config_dir`,
    `database_url` overriding MONITOR_DATABASE_URL and monitor.toml."""
    settings = Settings.from_env(environ, config_dir=Path(config_dir).expanduser())
    if database_url is None:
        return settings
    return dataclasses.replace(settings, database_url=database_url)


@asynccontextmanager
async def open_listings(
    config_dir: str | Path,
    database_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[Listings]:
    """`Listings` on the configuration in `config_dir` and its database (as `open_monitor`
    finds them); a database whose schema is behind is migrated first."""
    settings = settings_for(config_dir, database_url, environ)
    async with listings_on(settings, read_config(settings, checked=False)) as listings:
        yield listings


@asynccontextmanager
async def listings_on(settings: Settings, config: Config) -> AsyncIterator[Listings]:
    """`Listings` on a store of their own, closed on exit. A SQLite file at the latest
    schema is read with sqlite3 alone (`SqliteReads`); any other database through the
    `Store`, migrated first when its schema is behind."""
    from monitor.store.sqlite_reads import SqliteReads

    url = database_url(settings, config)
    store = SqliteReads.open(url) or await _migrated_store(url)
    try:
        yield Listings(config, store, partial(datetime.now, UTC))
    finally:
        await store.close()


async def _migrated_store(url: str) -> Store:
    from monitor.store import Store, upgrade_async

    await upgrade_async(url)
    return Store.open(url)


def database_exists(settings: Settings, config: Config) -> bool:
    """False only for a SQLite file that is not there yet (a server database is assumed):
    a listing must not create the database. `DatabaseUnusable` when it could never be there."""
    from monitor.dburl import check_data_dir, sqlite_file

    url = database_url(settings, config)
    path = sqlite_file(url)
    if path is None:
        # Any other URL (a server, memory, a query...): as the store reads it.
        from monitor.store.db import async_url, sqlite_database

        database = sqlite_database(async_url(url))
        if database is None:
            return True
        path = Path(database)
    check_data_dir(path)
    return path.exists()


class Listings:
    """The listings of one configuration's database."""

    def __init__(
        self, config: Config, store: Store | SqliteReads, clock: Callable[[], datetime]
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    async def sources(self) -> list[SourceHealth]:
        """Every configured source, in configuration order, with its health."""
        states = {s.id: s for s in await self.store.source_states()}
        poisoned = await self.store.poison_counts()
        now = self.clock()
        return [
            self._health(s, states.get(s.id), poisoned.get(s.id, 0), now)
            for s in self.config.sources
        ]

    def _health(
        self, source: SourceConfig, state: SourceState | None, poisoned: int, now: datetime
    ) -> SourceHealth:
        if not source.enabled:
            status = "disabled"
        else:
            status = source_status(state, self.config, now) if state else "never"
        rate = per_day(state, now) if state and state.last_attempt_at else ""
        return SourceHealth(source, state, status, rate, poisoned)

    async def alerts(self, limit: int = 50, rule_id: str | None = None) -> list[AlertItem]:
        """The latest alerts, newest first (of one rule with `rule_id`)."""
        rule_ids = None if rule_id is None else [enabled_rule(self.config, rule_id)]
        views = await self.store.recent_alerts(limit, rule_ids)
        verdicts = await self.store.alert_verdicts([v.alert_id for v in views])
        return [AlertItem(view, verdicts.get(view.alert_id)) for view in views]

    async def stories(self, limit: int = 50) -> list[StoryView]:
        """The stories seen last, newest first: their outlets' articles and the rules that
        alerted on them."""
        return await self.store.recent_stories(limit)

    async def wrong_counts(self, days: int = 30) -> dict[str, int]:
        """Rule id -> alerts marked wrong in the last `days` days."""
        return await self.store.wrong_counts(self.clock() - timedelta(days=days))

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        """Alerts, digests and notices sent or to send, newest first."""
        return await self.store.deliveries(status, limit)

    async def archive_size(self, since: timedelta | None = None) -> int:
        """How many stored articles of the last `since` (None: all) a backtest replays."""
        return await self.store.count_articles(self._start(since))

    def _start(self, since: timedelta | None) -> datetime | None:
        return None if since is None else self.clock() - since

    async def verdicts(self, rule_id: str | None = None) -> list[LabeledArticle]:
        """Every recorded verdict (right, wrong, missed), of one rule with `rule_id`, as
        labeled articles: what `evaluate` and `monitor rules eval` read."""
        from monitor.labels.feedback import labeled_from_feedback

        rule_ids = None if rule_id is None else [enabled_rule(self.config, rule_id)]
        return [labeled_from_feedback(r) for r in await self.store.feedback(rule_ids)]
