"""monitor.toml (optional): settings of the service itself, such as the database."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, field_validator

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


LogFormat = Literal["human", "json"]
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_LEASE = timedelta(minutes=2)
MIN_LEASE = timedelta(seconds=2)


@dataclass(frozen=True)
class BindAddress:
    """Where the health and metrics endpoints listen (`--http`, `[service] http`)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: it may resolve anywhere
            return False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_bind(value: object) -> BindAddress:
    """ "127.0.0.1:9108", "[::1]:9108", "0.0.0.0:9108", or a port alone (on loopback)."""
    if isinstance(value, BindAddress):
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f'expected an address such as "127.0.0.1:9108", got {value!r}')
    text = str(value).strip()
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = "", text
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {text!r}: give HOST:PORT with a port from 1 to 65535")
    if host and host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"invalid address {text!r}: the host must be an IP address or localhost"
            ) from None
    return BindAddress(host or DEFAULT_HTTP_HOST, int(port))


Bind = Annotated[BindAddress, BeforeValidator(parse_bind)]


class ServiceTable(Strict):
    http: Bind | None = None  # off unless set (or `monitor run --http`)
    instance: str | None = None  # default: hostname-pid
    log_format: LogFormat = "human"
    # How often `monitor run` logs what its polls did, so that a quiet service still
    # shows it is alive ("last 15 min: 37 polls, 0 new articles, 0 alerts, 0 failures").
    summary_every: Duration = timedelta(minutes=15)
    # How long a source or a delivery stays with the instance that took it: when that
    # instance dies, another takes its work over this long after, at most.
    lease: Duration = DEFAULT_LEASE

    @field_validator("lease")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_LEASE:
            raise ValueError(f"lease must be at least {MIN_LEASE.total_seconds():.0f}s")
        return value

    @field_validator("summary_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError('summary_every must be a positive duration, like "15m"')
        return value

    @field_validator("instance")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value or not value.isprintable() or len(value) > 100):
            raise ValueError("instance must be 1 to 100 printable characters")
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
