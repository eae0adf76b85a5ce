"""monitor.toml (optional): settings of the service itself, such as the database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

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


class ServiceFile(Strict):
    database: DatabaseTable = DatabaseTable()
    delivery: DeliveryTable = DeliveryTable()
    health: HealthTable = HealthTable()


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
