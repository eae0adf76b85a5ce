"""A source's health as a pure function: failures, back-off, recovery, 304s, holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.records import CacheValidators
from monitor.schedule.polling import BACKOFF_CAP, MAX_HOLD, Answered, Failed, Health, advance

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=30)
DOWN = Failed("http", "HTTP 500 (url http://example.org/feed.xml)")
ETAG = CacheValidators('"v1"', "Thu, 03 Dec 2026 10:00:00 GMT")
NEVER_POLLED = Health()


def fail(times: int, health: Health = NEVER_POLLED, start: datetime = NOW) -> Health:
    """`times` failures in a row, each tried when the last one said."""
    at = start
    for _ in range(times):
        health = advance(health, DOWN, at, INTERVAL)
        assert health.next_check_at is not None
        at = health.next_check_at
    return health


def test_an_answer_sets_the_next_poll_at_the_interval() -> None:
    health = advance(Health(), Answered(ETAG), NOW, INTERVAL)
    assert health.ok and health.validators == ETAG
    assert (health.next_check_at, health.hold) == (NOW + INTERVAL, None)
    assert health.last_attempt_at == health.last_success_at == NOW
    assert health.held(NOW + INTERVAL - timedelta(seconds=1)) is None  # due at its interval


def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    waits = []
    health = Health()
    at = NOW
    for _ in range(6):
        health = advance(health, DOWN, at, INTERVAL)
        assert health.next_check_at is not None
        waits.append(health.next_check_at - at)
        at = health.next_check_at
    assert waits == [INTERVAL, 2 * INTERVAL, 4 * INTERVAL, 8 * INTERVAL, BACKOFF_CAP, BACKOFF_CAP]
    assert health.consecutive_failures == 6 and health.failing_since == NOW
    assert (health.last_error_kind, health.last_error) == ("http", DOWN.message)
    assert health.held(at - timedelta(seconds=1)) == "backoff" and health.held(at) is None


def test_a_long_interval_is_its_own_cap() -> None:
    daily = timedelta(days=1)
    health = advance(advance(Health(), DOWN, NOW, daily), DOWN, NOW + daily, daily)
    assert health.next_check_at == NOW + daily + daily  # not doubled past it, not cut to 6 h


def test_a_failure_keeps_what_the_last_answer_said() -> None:
    answered = Answered(ETAG, moved_to="http://example.org/new.xml", warning="2 entries cut")
    health = fail(2, advance(Health(), answered, NOW - INTERVAL, INTERVAL))
    assert health.validators == ETAG and health.moved_to == "http://example.org/new.xml"
    assert health.warning == "2 entries cut" and health.last_success_at == NOW - INTERVAL


def test_recovery_clears_the_failures_and_polls_at_the_interval_again() -> None:
    failing = fail(4)
    assert failing.next_check_at is not None
    back = advance(failing, Answered(ETAG), failing.next_check_at, INTERVAL)
    assert back.ok and back.failing_since is None and back.last_error is None
    assert back.last_error_kind is None and back.hold is None
    assert back.next_check_at == failing.next_check_at + INTERVAL
    # The next failure starts a new streak: one interval, a new failing_since.
    again = advance(back, DOWN, back.next_check_at, INTERVAL)
    assert (again.consecutive_failures, again.failing_since) == (1, back.next_check_at)
    assert again.next_check_at == back.next_check_at + INTERVAL


def test_a_304_keeps_the_validators_it_was_asked_with_and_the_known_move() -> None:
    first = advance(Health(), Answered(ETAG, moved_to="http://example.org/new.xml"), NOW, INTERVAL)
    unchanged = advance(first, Answered(ETAG), NOW + INTERVAL, INTERVAL)
    assert unchanged.validators == ETAG and unchanged.moved_to == "http://example.org/new.xml"
    assert unchanged.next_check_at == NOW + 2 * INTERVAL and unchanged.warning is None


def test_max_age_and_retry_after_hold_the_next_poll_up_to_a_day() -> None:
    cached = advance(Health(), Answered(ETAG, max_age=7200), NOW, INTERVAL)
    assert (cached.next_check_at, cached.hold) == (NOW + timedelta(hours=2), "max-age")
    assert cached.held(NOW + timedelta(hours=1)) == "max-age"
    short = advance(Health(), Answered(ETAG, max_age=60), NOW, INTERVAL)
    assert (short.next_check_at, short.hold) == (NOW + INTERVAL, None)  # the interval is a floor
    pages = advance(Health(), Answered(ETAG, max_age=7200, retry_after=10**6), NOW, INTERVAL)
    assert (pages.next_check_at, pages.hold) == (NOW + MAX_HOLD, "retry-after")


def test_a_rate_limited_failure_waits_as_long_as_asked_up_to_a_day() -> None:
    limited = advance(Health(), Failed("rate-limited", "HTTP 429", 3 * 3600), NOW, INTERVAL)
    assert (limited.next_check_at, limited.hold) == (NOW + timedelta(hours=3), "retry-after")
    assert limited.held(NOW + timedelta(hours=1)) == "retry-after"
    huge = advance(Health(), Failed("rate-limited", "HTTP 429", 10**7), NOW, INTERVAL)
    assert huge.next_check_at == NOW + MAX_HOLD
    # A Retry-After shorter than the back-off does not shorten it.
    brief = advance(fail(4), Failed("rate-limited", "HTTP 503", 1), NOW, INTERVAL)
    assert brief.next_check_at == NOW + BACKOFF_CAP


def test_the_same_history_gives_the_same_health() -> None:
    assert fail(3, advance(Health(), Answered(ETAG), NOW, INTERVAL)) == fail(
        3, advance(Health(), Answered(ETAG), NOW, INTERVAL)
    )
    assert Health().held(NOW) is None  # never polled: due at once
