"""The composition root: settings and config in, a running service out.

`Service` builds every long-lived part once (database, HTTP client, worker
pool, channels, pipeline, dispatcher), and closes them in reverse order.
Commands use it for one pass (`monitor run --once`, `monitor demo`) or for
the scheduled service (`monitor run`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from monitor.config import Config, SourceConfig
from monitor.digest import Digests
from monitor.errors import ConfigError
from monitor.extract import WorkerPool
from monitor.failures import grouped_failures
from monitor.fetch import HttpClient
from monitor.log import log_time
from monitor.notify.channels import Channel, ConsoleChannel, build_channel
from monitor.notify.dispatch import Dispatcher, DispatchSummary, utcnow
from monitor.notify.render import Renderer
from monitor.observe import instance_id
from monitor.observe.recorder import Recorder
from monitor.pipeline import Pipeline, run_sources
from monitor.preflight import load_checked
from monitor.records import PassProgress, SourceOutcome
from monitor.schedule.heartbeat import (
    HEARTBEAT_EVERY,
    Heartbeat,
    heartbeat_path,
    write_heartbeat,
)
from monitor.schedule.leases import SourceLeases, due_times
from monitor.settings import Settings, database_url
from monitor.store import PruneResult, Store, display_url, upgrade_async
from monitor.store.db import error_line, is_outage
from monitor.store.instance import single_service

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)
T = TypeVar("T")
DELIVERY_EVERY = 15  # seconds between outbox sweeps in the service (a new alert wakes it)
POLL_EVERY = 5.0  # seconds between looks for due sources (at most a third of the lease)
ALWAYS_DUE = datetime.max.replace(tzinfo=UTC)  # a due time no next check is after
OUTAGE_BACKOFF = (2.0, 60.0)  # seconds the jobs pause after a database error: first, longest
PRUNE_EVERY = timedelta(days=1)
SHUTDOWN_GRACE = timedelta(seconds=30)  # for running jobs to finish, then they are cancelled


@dataclass
class PassSummary:
    outcomes: list[SourceOutcome]
    dispatch: DispatchSummary = field(default_factory=DispatchSummary)
    seconds: float = 0.0

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def all_failed(self) -> bool:
        """Every source polled failed (sources waiting their turn do not count)."""
        polled = [o for o in self.outcomes if not o.skipped]
        return bool(polled) and len(self.failed) == len(polled)

    def lines(self) -> list[str]:
        skipped = [o for o in self.outcomes if o.skipped]
        ok = len(self.outcomes) - len(self.failed) - len(skipped)
        total = lambda attr: sum(getattr(o, attr) for o in self.outcomes)  # noqa: E731
        unchanged = sum(o.not_modified for o in self.outcomes)
        waiting = f", {len(skipped)} waiting (back-off or cache)" if skipped else ""
        lines = [
            f"sources: {ok} ok ({unchanged} unchanged), {len(self.failed)} failed{waiting}",
            f"articles: {total('new_articles')} new, {total('updated_articles')} updated",
            f"matches: {total('matches')}, alerts: {total('alerts')}",
            f"deliveries: {self.dispatch.sent} sent, {self.dispatch.retrying} to retry, "
            f"{self.dispatch.failed} failed, {self.dispatch.deferred} deferred (rate limit)",
        ]
        lines += [f"  {line}" for line in grouped_failures(self.failed)]
        lines.append(f"took {self.seconds:.1f}s")
        return lines


@dataclass
class Activity:
    """What the service's polls did since its last summary line."""

    polls: int = 0
    new_articles: int = 0
    alerts: int = 0
    failures: int = 0

    def add(self, outcomes: Sequence[SourceOutcome]) -> None:
        for outcome in outcomes:
            if outcome.skipped:  # backing off: no request was made
                continue
            self.polls += 1
            self.new_articles += outcome.new_articles
            self.alerts += outcome.alerts
            self.failures += not outcome.ok

    def line(self, span: timedelta) -> str:
        counts = (
            (self.polls, "poll"),
            (self.new_articles, "new article"),
            (self.alerts, "alert"),
            (self.failures, "failure"),
        )
        return f"last {_span(span)}: " + ", ".join(
            f"{count} {noun}{'s' if count != 1 else ''}" for count, noun in counts
        )


def _span(span: timedelta) -> str:
    """'15 min', '1 h', '1 h 30 min', '45 s'."""
    hours, rest = divmod(int(span.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"


class Service:
    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        allow_private: bool | None = None,
        console: TextIO | None = None,
        clock: Callable[[], datetime] = utcnow,
        pool: WorkerPool | None = None,
        send: bool = True,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.send = send
        self.config = config
        self.clock = clock
        self.url = database_url(settings, config)
        self.store = Store.open(self.url)
        private = settings.allow_private_networks if allow_private is None else allow_private
        self.http = HttpClient(config.fetch, allow_private=private)
        self.pool = pool or WorkerPool(settings.workers)
        self._owns_pool = pool is None
        self.channels = self._channels(console)
        self.renderer = Renderer(config.templates_dir)
        self.pipeline = Pipeline(
            config, self.store, self.http, self.pool, clock, send=send, recorder=recorder
        )
        self.digests = Digests(self.store, config, self.renderer, clock)
        self.dispatcher = Dispatcher(
            self.store,
            self.channels,
            self.renderer,
            {r.id: r for r in config.rules},
            config.service.delivery,
            {name: c.rate_limit for name, c in config.channels.items() if c.rate_limit},
            clock,
            digests=self.digests,
            recorder=recorder,
            lease=config.service.service.lease,
        )
        self.leases = SourceLeases(
            self.store,
            instance_id(config.service.service.instance),
            config.service.service.lease,
            clock,
            self.pipeline.recorder,
        )
        self.scheduler: AsyncIOScheduler | None = None  # while `serve` runs
        self._running: set[asyncio.Future[Any]] = set()
        self._polling: set[str] = set()  # sources this instance is polling now
        self._polled: set[str] = set()  # ...and those it polled since it started
        self._delivering = asyncio.Lock()
        self._outage = Outage()
        self.activity = Activity()
        self.health_url: str | None = None  # /healthz, when `monitor run --http` serves it

    def _channels(self, console: TextIO | None) -> dict[str, Channel]:
        channels: dict[str, Channel] = {}
        for name, channel in self.config.channels.items():
            built = build_channel(channel)
            channels[name] = (
                ConsoleChannel(name, console) if isinstance(built, ConsoleChannel) else built
            )
        return channels

    async def __aenter__(self) -> Service:
        log.debug("database %s", display_url(self.url))  # `log_start` says it once
        await upgrade_async(self.url)
        await self.store.sync_sources(self.config.sources, self.clock())
        await self.pipeline.load_memory()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        if self._owns_pool:
            self.pool.close()
        await self.store.close()

    async def run_pass(
        self,
        sources: Sequence[SourceConfig] | None = None,
        *,
        force: bool = False,
        progress: Callable[[PassProgress], None] | None = None,
    ) -> PassSummary:
        """Poll the sources once, then send whatever is due: alerts, notices, digests.
        Sources that back off are skipped unless `force`; nothing is sent without `send`.
        `progress` hears of each source read and each article written."""
        started = time.monotonic()
        chosen = [s for s in (sources or self.config.sources) if s.enabled]
        # A source another instance is polling now is left to it.
        async with self._sole_on_sqlite():
            held = set(await self.leases.claim([s.id for s in chosen]))
            mine = [s for s in chosen if s.id in held]
            async with self.leases.held(sorted(held)):
                outcomes = await run_sources(
                    self.pipeline,
                    mine,
                    self.config.fetch.concurrency,
                    force=force,
                    progress=progress,
                )
            outcomes += [
                SourceOutcome(s.id, ok=True, skipped="another instance")
                for s in chosen
                if s.id not in held
            ]
            dispatch = await self.deliver() if self.send else DispatchSummary()
        return PassSummary(outcomes, dispatch, time.monotonic() - started)

    @asynccontextmanager
    async def _sole_on_sqlite(self) -> AsyncIterator[None]:
        """On SQLite, be the only instance (a second is refused in one line), and take
        back what a killed one left claimed: nobody else can be holding it."""
        with single_service(self.url) as sole:
            if sole:
                await self.store.release_all()
            yield

    async def deliver(self) -> DispatchSummary:
        """Queue due digests and failure notices, then drain the outbox. Instances do the
        first part one at a time, so that a period's digest and a notice are queued once."""
        async with self._delivering, self.store.exclusive("digests"):
            await self.digests.create_due()
            await self.raise_notices()
        return await self.dispatcher.drain()

    async def raise_notices(self) -> list[str]:
        health = self.config.service.health
        channels = health.notice_channels or self.config.routing.channels
        failing = await self.store.raise_failure_notices(
            self.clock() - health.failing_after, channels, self.clock()
        )
        for source_id in failing:
            log.warning(
                "source %s has been failing for more than %s: notice queued",
                source_id,
                health.failing_after,
            )
        return failing

    async def prune(self) -> PruneResult | None:
        """Apply `[retention] keep_text`, when it is set."""
        keep = self.config.service.retention.keep_text
        if keep is None:
            return None
        result = await self.store.prune_texts(self.clock() - keep)
        if result.articles:
            log.info(
                "retention: dropped the text of %d articles first seen before %s",
                result.articles,
                log_time(result.before),
            )
        return result

    async def serve(self, control: Control | None = None) -> Config | None:
        """Poll every source at its interval until SIGINT/SIGTERM (`control.stop`).

        On SIGHUP (`control.reload`) the configuration is read again: when it is valid,
        the jobs stop and it is returned, for the caller to start a service on it; when
        it is not, its problems are logged and this service runs on unchanged.
        """
        control = control or Control.from_signals()
        async with self._sole_on_sqlite():
            return await self._serve(control)

    async def _serve(self, control: Control) -> Config | None:
        # APScheduler only here: a pass (`run --once`, the demo) never loads it.
        from monitor.schedule.scheduler import add_cron_job, add_interval_job, create_scheduler

        scheduler = self.scheduler = create_scheduler()
        sources = [s for s in self.config.sources if s.enabled]
        # Due sources are found in the database, where instances take them by lease:
        # a look every few seconds also takes over, soon after, a dead instance's sources.
        tick = min(POLL_EVERY, self.leases.lease.total_seconds() / 3)
        add_interval_job(
            scheduler,
            "poll",
            timedelta(seconds=tick),
            0,
            self._tracked(self._poll_due(sources, first_all=control.reloaded)),
        )
        add_interval_job(
            scheduler,
            "deliver",
            timedelta(seconds=DELIVERY_EVERY),
            0,
            self._tracked(self.deliver),
        )
        for digest in self.config.digests.values():
            # The cron job only wakes the deliverer up on time; which period is due is
            # decided from the database, so missed mornings are caught up too.
            add_cron_job(
                scheduler,
                f"digest:{digest.name}",
                digest.cron,
                digest.timezone,
                self._tracked(self.deliver),
            )
        if self.config.service.retention.keep_text is not None:
            add_interval_job(scheduler, "prune", PRUNE_EVERY, 0.1, self._tracked(self.prune))
        add_interval_job(scheduler, "heartbeat", HEARTBEAT_EVERY, 0, self._beat_job(len(sources)))
        every = self.config.service.service.summary_every
        add_interval_job(scheduler, "summary", every, 0, self._summary_job(every), run_now=False)
        helpers = [
            asyncio.create_task(self.store.listen_outbox()),
            asyncio.create_task(self._deliver_when_queued()),
        ]
        scheduler.start()
        log.info(
            "veille running: %d sources, %d rules; Ctrl-C to stop",
            len(sources),
            len(self.config.rules),
        )
        reloaded: Config | None = None
        try:
            reloaded = await self._until_stop_or_new_config(control)
            return reloaded
        finally:
            log.info("%s: waiting for running jobs", "reloading" if reloaded else "stopping")
            # No new runs, but let the running ones finish: APScheduler's shutdown()
            # cancels the tasks of running coroutine jobs.
            scheduler.pause()
            if self._running:
                await asyncio.wait(self._running, timeout=SHUTDOWN_GRACE.total_seconds())
            scheduler.shutdown(wait=False)
            self.scheduler = None
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self.heartbeat_path.unlink(missing_ok=True)

    def _poll_due(
        self, sources: Sequence[SourceConfig], *, first_all: bool
    ) -> Callable[[], Awaitable[None]]:
        """Take the due sources nobody polls, and poll them in a task of their own (the
        next look does not wait for a slow source). With `first_all`, every source is due
        until this service has polled it once: a reloaded configuration applies at once."""

        async def poll() -> None:
            # No more at once than it fetches at once: the rest is left to other instances.
            room = max(self.config.fetch.concurrency - len(self._polling), 0)
            idle = [s for s in sources if s.id not in self._polling]
            due = due_times(idle, self.config.fetch.jitter, self.clock())
            if first_all:
                due |= {s.id: ALWAYS_DUE for s in idle if s.id not in self._polled}
            claimed = set(await self.leases.claim(list(due), due, room))
            if claimed:
                self._track(self._poll_claimed([s for s in idle if s.id in claimed]))

        return poll

    async def _poll_claimed(self, sources: list[SourceConfig]) -> None:
        ids = [s.id for s in sources]
        self._polling.update(ids)
        self._polled.update(ids)
        try:
            async with self.leases.held(ids):
                outcomes = await run_sources(self.pipeline, sources, self.config.fetch.concurrency)
            self.activity.add(outcomes)
            if any(o.alerts for o in outcomes):
                # Usually sent already, on the cue of the queue; this drain is the one a
                # shutdown waits for.
                await self.dispatcher.drain()
        except Exception as exc:
            if not self._outage.failed(exc):
                log.exception("polling %s failed", ", ".join(ids))
        finally:
            self._polling.difference_update(ids)

    async def _deliver_when_queued(self) -> None:
        """Send a new alert as soon as it is queued, here or (PostgreSQL) by another
        instance; the periodic sweep stays as the safety net."""
        while True:
            await self.store.queued.wait()
            self.store.queued.clear()
            if self._outage.waiting():
                continue
            try:
                # Tracked and shielded: a shutdown lets a drain under way finish.
                await asyncio.shield(self._track(self.dispatcher.drain()))
            except Exception as exc:
                if not self._outage.failed(exc):
                    log.exception("sending the queued deliveries failed")
            else:
                self._outage.cleared()

    @property
    def heartbeat_path(self) -> Path:
        return heartbeat_path(self.settings.data_dir)

    def _beat_job(self, sources: int) -> Callable[[], Awaitable[None]]:
        async def beat() -> None:
            now = datetime.now(UTC)  # the real time: a health check compares with it
            pulse = Heartbeat(now, os.getpid(), sources, len(self.config.rules), self.health_url)
            try:
                await asyncio.to_thread(write_heartbeat, self.heartbeat_path, pulse)
            except OSError as exc:
                log.warning("cannot write the heartbeat file %s: %s", self.heartbeat_path, exc)

        return beat

    def _summary_job(self, every: timedelta) -> Callable[[], Awaitable[None]]:
        async def summary() -> None:
            log.info("%s", self.activity.line(every))
            self.activity = Activity()

        return summary

    async def _until_stop_or_new_config(self, control: Control) -> Config | None:
        while True:
            await _first_set(control.stop, control.reload)
            if control.stop.is_set():
                return None
            control.reload.clear()
            try:
                config = load_checked(self.settings.config_dir, self.settings.environ)
            except ConfigError as exc:
                problems = "\n  ".join(str(p) for p in exc.problems)
                log.error("configuration not reloaded, running on unchanged:\n  %s", problems)
                continue
            changes = config_changes(self.config, config)
            log.info("configuration reloaded from %s: %s", config.root, changes)
            control.reloaded = True
            return config

    def _tracked(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """Remember the job's task while it runs, so that shutdown can let it finish; while
        the database is out, skip the job, then let it run again, with back-off."""

        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                if self._outage.waiting():
                    return
                await job()
            except Exception as exc:
                if not self._outage.failed(exc):
                    raise  # a bug: APScheduler logs it, and the job runs again next time
            else:
                self._outage.cleared()
            finally:
                self._running.discard(task)

        return run

    def _track(self, work: Awaitable[T]) -> asyncio.Future[T]:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task


@dataclass
class Outage:
    """The database could not be reached: jobs pause, longer each time it still cannot."""

    delay: float = 0.0
    until: float = 0.0  # time.monotonic() before which jobs skip their turn

    def waiting(self) -> bool:
        return time.monotonic() < self.until

    def failed(self, exc: Exception) -> bool:
        """Record a database outage; False when `exc` is something else (a bug)."""
        if not is_outage(exc):
            return False
        self.delay = min(max(self.delay * 2, OUTAGE_BACKOFF[0]), OUTAGE_BACKOFF[1])
        self.until = time.monotonic() + self.delay
        log.warning("database unreachable (%s); jobs pause for %.0fs", error_line(exc), self.delay)
        return True

    def cleared(self) -> None:
        if self.delay:
            log.warning("database reachable again; jobs resume")
        self.delay = 0.0


def config_changes(old: Config, new: Config) -> str:
    """What a reload changes, for its log line: "rules: +b, -a; sources: ~s" (added,
    removed, changed), or that nothing did."""
    parts = []
    for what, before, after in (
        ("sources", {s.id: s for s in old.sources}, {s.id: s for s in new.sources}),
        ("rules", {r.id: r for r in old.rules}, {r.id: r for r in new.rules}),
        ("channels", dict(old.channels), dict(new.channels)),
        ("digests", dict(old.digests), dict(new.digests)),
    ):
        added = [f"+{k}" for k in after if k not in before]
        removed = [f"-{k}" for k in before if k not in after]
        changed = [f"~{k}" for k in after if k in before and after[k] != before[k]]
        if added or removed or changed:
            parts.append(f"{what}: {', '.join(added + removed + changed)}")
    return "; ".join(parts) or "no source, rule, channel or digest changed"


@dataclass
class Control:
    """What tells a running service to stop, or to read its configuration again."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reload: asyncio.Event = field(default_factory=asyncio.Event)
    reloaded: bool = False  # a configuration was read again: the next service polls at once

    @classmethod
    def from_signals(cls) -> Control:
        """SIGINT and SIGTERM stop, SIGHUP reloads."""
        control = cls()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, control.stop.set)
        loop.add_signal_handler(signal.SIGHUP, control.reload.set)
        return control


async def _first_set(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
