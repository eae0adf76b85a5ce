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


class ServiceTable(Strict):
    # How often `monitor run` logs what its polls did, so that a quiet service still
    # shows it is alive ("last 15 min: 37 polls, 0 new articles, 0 alerts, 0 failures").
    summary_every: Duration = timedelta(minutes=15)

    @field_validator("summary_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("summary_every must be a positive duration, like \"15m\"")
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
            return service, None, [*problems, doc.problem(str(exc), ("database", "url"))]
    return service, url, problems
