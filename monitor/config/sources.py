"""sources.toml: what to poll, how often, and how politely."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from monitor.config.toml import TomlDoc
from monitor.config.units import Duration, Size
from monitor.config.validation import Strict, validate
from monitor.errors import ConfigProblem

SourceKind = Literal["feed", "page", "sitemap", "watch"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
DEFAULT_USER_AGENT = "veille/{version} (news monitoring; +{contact})"


class SourceDefaults(Strict):
    """The `[defaults]` table: values every `[[source]]` inherits unless it sets its own."""

    kind: SourceKind = "feed"
    interval: Duration = timedelta(minutes=30)
    lang: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    extract: bool = True
    robots: bool = True
    allow_private_networks: bool = False
    max_items: int = Field(default=200, ge=1, le=5000)


class SourceConfig(Strict):
    id: str
    name: str
    url: str
    kind: SourceKind = "feed"
    interval: Duration = timedelta(minutes=30)
    lang: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    extract: bool = True  # fetch and extract each article page (else keep the feed's text)
    selector: str | None = None  # page and watch sources: CSS selector of links or region
    robots: bool = True  # honour robots.txt for article pages
    # Reach loopback, private and link-local addresses (the source and its article links):
    # for an intranet or a test server only. MONITOR_ALLOW_PRIVATE_NETWORKS=1 allows it for all.
    allow_private_networks: bool = False
    max_items: int = Field(default=200, ge=1, le=5000)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                f"invalid id {value!r}: use lowercase letters, digits, '-', '_' or '.' "
                "(at most 64 characters)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=30):
            raise ValueError("interval must be at least 30s: polling faster is impolite")
        return value

    @field_validator("selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        from monitor.parse.html import check_selector

        return check_selector(value) if value else value

    @model_validator(mode="after")
    def _selector_when_needed(self) -> SourceConfig:
        if self.kind in ("page", "watch") and not self.selector:
            raise ValueError(f"a {self.kind!r} source needs a CSS 'selector'")
        return self

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


class FetchSettings(Strict):
    """The `[fetch]` table: how veille behaves on the network."""

    contact: str = "https://github.com/veille-project/veille"
    user_agent: str | None = None  # default: DEFAULT_USER_AGENT with the contact
    timeout: Duration = timedelta(seconds=30)  # whole request
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=20)  # between two chunks
    max_body: Size = 5_000_000
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=8, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=32)
    host_delay: Duration = timedelta(seconds=1)
    jitter: float = Field(default=0.1, ge=0, le=0.5)  # fraction of the interval
    # Private networks that sources and their links may reach (an intranet feed server,
    # say); everything else that is not a public address is refused.
    allow_networks: tuple[str, ...] = ()

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"invalid network {value!r}: use CIDR notation like 10.1.2.0/24"
                ) from None
        return values


class SourcesFile(Strict):
    defaults: SourceDefaults = SourceDefaults()
    fetch: FetchSettings = FetchSettings()
    source: tuple[dict[str, Any], ...] = ()


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid URL {value!r}: expected an http:// or https:// address")
    return value


def load_sources(
    doc: TomlDoc,
) -> tuple[FetchSettings, tuple[SourceConfig, ...], list[ConfigProblem]]:
    top, problems = validate(SourcesFile, doc.data, doc)
    if top is None:
        return FetchSettings(), (), problems
    defaults = top.defaults.model_dump(exclude_unset=True)
    sources: list[SourceConfig] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(top.source):
        label = f"source {raw.get('id', index + 1)!r}"
        source, errors = validate(SourceConfig, {**defaults, **raw}, doc, ("source", index), label)
        problems += errors
        if source is None:
            continue
        if source.id in seen:
            problems.append(
                doc.problem(f"duplicate source id {source.id!r}", ("source", index, "id"))
            )
            continue
        seen[source.id] = index
        sources.append(source)
    if not top.source:
        problems.append(doc.problem("no [[source]] defined: there is nothing to poll"))
    return top.fetch, tuple(sources), problems
