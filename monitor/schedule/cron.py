"""Cron expressions, validated once with the scheduler's own parser."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


def parse_cron(expression: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab expression; ValueError with the reason if invalid."""
    # Imported here: a configuration without digests never needs APScheduler.
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    return CronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))


def fire_times_between(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every time the trigger fires in (start, end]; used to find missed digests."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return times
        if fire > start:
            times.append(fire)
        previous, now = fire, fire
