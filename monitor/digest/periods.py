"""Digest periods from cron schedules: the latest fire time, and where a period starts."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.schedule.cron import fire_times_between, parse_cron

# Look back progressively: a per-minute cron must not be walked over a year.
_LOOKBACKS = (timedelta(days=1), timedelta(days=8), timedelta(days=40), timedelta(days=400))


def latest_fire(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The last time the schedule fired at or before `now`."""
    trigger = parse_cron(cron, timezone)
    for lookback in _LOOKBACKS:
        times = fire_times_between(trigger, now - lookback, now)
        if times:
            return times[-1]
    return None


def previous_fire(cron: str, timezone: str, before: datetime) -> datetime:
    """The fire time before `before` (the start of a first period); a day earlier if none."""
    found = latest_fire(cron, timezone, before - timedelta(microseconds=1))
    return found or before - timedelta(days=1)
