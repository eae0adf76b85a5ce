"""A source's health and when it is polled next: one pure function of the last state and
what the poll did.

    advance(previous, outcome, now, interval) -> the new state

An answer resets the failures and sets the next poll at the interval, pushed back by
the feed's Cache-Control max-age and by a Retry-After from its article pages; a failure
counts one more and backs off exponentially (or as long as its Retry-After asks). The
pipeline reads the state with the source's row, and writes the result back with the
rest of its pass; `held` says whether a source must wait until its next check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.records import CacheValidators

BACKOFF_CAP = timedelta(hours=6)  # longest wait between two tries of a failing source...
MAX_HOLD = timedelta(days=1)  # ...and the longest a max-age or Retry-After may push a poll back


@dataclass(frozen=True)
class Health:
    """What the sources row says about a source's polls."""

    next_check_at: datetime | None = None
    hold: str | None = None  # why next_check_at is later than the interval: max-age, retry-after
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    validators: CacheValidators = field(default_factory=CacheValidators)
    moved_to: str | None = None  # where a permanent redirect sent it
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.consecutive_failures == 0

    def held(self, now: datetime) -> str | None:
        """Why the source must not be polled yet, or None: "max-age" or "retry-after" when
        one set the current wait, "backoff" for a failing source without one."""
        if self.next_check_at is None or self.next_check_at <= now:
            return None
        if self.consecutive_failures:
            return self.hold or "backoff"
        return self.hold


@dataclass(frozen=True)
class Answered:
    """The source answered (304 included)."""

    validators: CacheValidators
    max_age: float | None = None  # Cache-Control max-age, seconds
    retry_after: float | None = None  # the longest Retry-After its article pages asked for
    moved_to: str | None = None  # a permanent redirect, this time
    warning: str | None = None


@dataclass(frozen=True)
class Failed:
    """The source could not be read."""

    kind: str
    message: str
    retry_after: float | None = None


def advance(
    previous: Health, outcome: Answered | Failed, now: datetime, interval: timedelta
) -> Health:
    """The health of a source polled every `interval` after `outcome` at `now`."""
    if isinstance(outcome, Failed):
        failures = previous.consecutive_failures + 1
        return Health(
            next_check_at=now + backoff(interval, failures, outcome.retry_after),
            hold="retry-after" if outcome.retry_after else None,
            consecutive_failures=failures,
            failing_since=previous.failing_since or now,
            last_attempt_at=now,
            last_success_at=previous.last_success_at,
            last_error_kind=outcome.kind,
            last_error=outcome.message,
            validators=previous.validators,
            moved_to=previous.moved_to,
            warning=previous.warning,
        )
    next_check_at, hold = next_poll(interval, now, outcome.max_age, outcome.retry_after)
    return Health(
        next_check_at=next_check_at,
        hold=hold,
        last_attempt_at=now,
        last_success_at=now,
        validators=outcome.validators,
        moved_to=outcome.moved_to or previous.moved_to,
        warning=outcome.warning,
    )


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
