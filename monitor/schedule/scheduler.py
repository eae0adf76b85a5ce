"""The long-running service's clock: APScheduler 3 jobs in memory, one process.

One interval job per source (with jitter, so that sources sharing a host do not
fire together), one job that drains the outbox, one cron job per digest, and a
daily retention job when `[retention] keep_text` is set.
Each job runs at most once at a time; a job that missed its time while the
process was busy runs once, late, rather than several times (coalesce).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.schedule.cron import parse_cron

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def create_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")


def add_interval_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    every: timedelta,
    jitter: float,
    function: Callable[[], Awaitable[object]],
    *,
    run_now: bool = True,
) -> None:
    trigger = IntervalTrigger(
        seconds=every.total_seconds(), jitter=int(every.total_seconds() * jitter) or None
    )
    # Passing next_run_time=None would add the job paused, so only pass it to start at once.
    start = {"next_run_time": datetime.now(UTC)} if run_now else {}
    scheduler.add_job(function, trigger, id=job_id, name=job_id, replace_existing=True, **start)


def add_cron_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    cron: str,
    timezone: str,
    function: Callable[[], Awaitable[object]],
) -> None:
    scheduler.add_job(
        function, parse_cron(cron, timezone), id=job_id, name=job_id, replace_existing=True
    )
