"""When a source is polled next: its interval, pushed back by what servers ask and by failures.

Pure functions: the pipeline records the result as the source's `next_check_at`,
and skips a source that is held until then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BACKOFF_CAP = timedelta(hours=6)  # longest wait between two tries of a failing source...
MAX_HOLD = timedelta(days=1)  # ...and the longest a max-age or Retry-After may push a poll back


def holding(
    next_check_at: datetime | None, failures: int, hold: str | None, now: datetime
) -> str | None:
    """Why the source must not be polled yet, or None.

    `hold` is what set the current wait when it was longer than the interval:
    "max-age" or "retry-after"; a failing source without one is in "backoff".
    """
    if next_check_at is None or next_check_at <= now:
        return None
    if failures:
        return hold or "backoff"
    return hold


def backoff(interval: timedelta, failures: int, retry_after: float | None = None) -> timedelta:
    """Wait before the next try of a source that failed `failures` times in a row: the
    interval, doubled on each further failure up to a cap (the interval when longer);
    a Retry-After, up to a day, when it asks for more."""
    delay = min(interval * 2 ** min(failures - 1, 16), max(interval, BACKOFF_CAP))
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_HOLD))
    return delay


def next_poll(
    interval: timedelta, now: datetime, max_age: float | None, retry_after: float | None
) -> tuple[datetime, str | None]:
    """When to poll a source that answered, and the reason when later than its interval:
    max-age is a floor (nothing new before it), and so is a Retry-After from its pages."""
    delay, reason = interval, None
    for seconds, why in ((max_age, "max-age"), (retry_after, "retry-after")):
        wait = min(timedelta(seconds=seconds or 0), MAX_HOLD)
        if wait > delay:
            delay, reason = wait, why
    return now + delay, reason
