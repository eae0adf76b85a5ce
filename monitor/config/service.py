"""monitor.toml (optional): settings of the service itself, such as the database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from pydantic import field_validator

from monitor.config.interpolate import MissingVariable, interpolate
from monitor.config.toml import read_toml
from monitor.config.units import Duration
from monitor.config.validation import Strict, validate
from monitor.errors import ConfigProblem


class DatabaseTable(Strict):
    url: str | None = None


class DeliveryTable(Strict):
    max_attempts: int = 8
    backoff: Duration = timedelta(seconds=30)  # first retry; doubles each time, with jitter
    max_backoff: Duration = timedelta(hours=2)


class HealthTable(Strict):
    failing_after: Duration = timedelta(hours=24)  # a source failing this long raises a notice
    notice_channels: tuple[str, ...] = ()


# Story clustering and update detection look back a few days; a month is far beyond.
MIN_KEEP_TEXT = timedelta(days=30)


def check_keep_text(value: timedelta) -> timedelta:
    if value < MIN_KEEP_TEXT:
        raise ValueError(
            f"text must be kept at least {MIN_KEEP_TEXT.days}d: story clustering, update "
            "detection and backtests read it"
        )
    return value


class RetentionTable(Strict):
    # Text of articles that matched no rule is dropped after this; None keeps it forever.
    keep_text: Duration | None = None

    @field_validator("keep_text")
    @classmethod
    def _long_enough(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else check_keep_text(value)


DEFAULT_LEASE = timedelta(minutes=2)
MIN_LEASE = timedelta(seconds=2)


class ServiceTable(Strict):
    # How long a source or a delivery stays with the instance that took it: when that
    # instance dies, another takes its work over this long after, at most.
    lease: Duration = DEFAULT_LEASE

    @field_validator("lease")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_LEASE:
            raise ValueError(f"lease must be at least {MIN_LEASE.total_seconds():.0f}s")
        return value


class ServiceFile(Strict):
    service: ServiceTable = ServiceTable()
    database: DatabaseTable = DatabaseTable()
    delivery: DeliveryTable = DeliveryTable()
    health: HealthTable = HealthTable()
    retention: RetentionTable = RetentionTable()


def load_service(
    path: Path, display: str, environ: Mapping[str, str]
) -> tuple[ServiceFile, str | None, list[ConfigProblem]]:
    """Read monitor.toml when it exists; return the settings and the interpolated database URL."""
    if not path.exists():
        return ServiceFile(), None, []
    doc = read_toml(path, display)
    service, problems = validate(ServiceFile, doc.data, doc)
    if service is None:
        return ServiceFile(), None, problems
    url = service.database.url
    if url:
        try:
            url = interpolate(url, environ)
        except MissingVariable as exc:
            return service, None, [doc.problem(str(exc), ("database", "url"))]
    return service, url, []
