"""Feed dates into aware UTC datetimes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

FUTURE_TOLERANCE = timedelta(hours=2)


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's `*_parsed` values are struct_time in UTC."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def iso_date(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime (a bare date is midnight UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    """Drop dates in the future (beyond clock skew) or before the web existed."""
    if value is None:
        return None
    if value > now + FUTURE_TOLERANCE or value.year < 1995:
        return None
    return value
