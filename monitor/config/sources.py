"""sources.toml: what to poll, how often, and how politely."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from monitor.config.jsonapi import MAX_STEPS, CursorSpec, Paging, RecordMapping
from monitor.config.presets import PRESETS, PresetFilter, resolve
from monitor.config.toml import TomlDoc
from monitor.config.units import Duration, Size
from monitor.config.validation import Strict, validate
from monitor.errors import ConfigProblem
from monitor.fields import FIELDS_META, FIELDS_TEXT

SourceKind = Literal["feed", "page", "sitemap", "watch", "json", "boamp", "decp"]
JSON_KINDS = frozenset({"json", *PRESETS})
JSON_ONLY = ("params", "mapping", "paging", "cursor", "lookback", "filter")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
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
    allow_private_links: bool = False
    max_items: int = Field(default=200, ge=1, le=5000)


@dataclass(frozen=True)
class PrivateAccess:
    """Which hosts one source may reach at a non-public address: its own host (that
    hostname, any port), or every host its links and redirects lead to."""

    host: str | None = None
    any_host: bool = False

    def opens(self, hostname: str) -> bool:
        return self.any_host or hostname.lower() == self.host


NO_PRIVATE_ACCESS = PrivateAccess()  # every host guarded


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
    # Reach loopback, private and link-local addresses on the source's own host (the URL's
    # hostname, any port): for an intranet or a test server only. Article links, redirects
    # and sitemap pages on other hosts stay guarded unless `allow_private_links` is set too.
    # MONITOR_ALLOW_PRIVATE_NETWORKS=1 allows every address for every source.
    allow_private_networks: bool = False
    allow_private_links: bool = False
    max_items: int = Field(default=200, ge=1, le=5000)
    # JSON sources (kind "json", or a preset such as "boamp"): see docs/sources-json.md.
    params: dict[str, str] = Field(default_factory=dict)  # query parameters of each request
    mapping: RecordMapping | None = None
    paging: Paging = Paging()
    cursor: CursorSpec | None = None
    lookback: Duration = timedelta(days=7)  # how far back the first pass of a cursor reads
    filter: PresetFilter | None = None  # presets: which records to keep

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        """A preset gives the URL (which may be overridden) and everything else; a JSON
        source keeps its records' own text unless told to read the pages."""
        if not isinstance(data, dict) or data.get("kind") not in JSON_KINDS:
            return data
        preset = PRESETS.get(data["kind"])
        if preset is not None:
            given = [key for key in ("params", "mapping", "paging", "cursor") if key in data]
            if given:
                raise ValueError(
                    f"a {data['kind']!r} source takes a 'filter', not {given[0]!r}; "
                    'write kind = "json" to map the records yourself'
                )
            data = {"url": preset.url, **data}
        return {"extract": False, **data}

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
        return check_selector(value) if value else value

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, mapping: RecordMapping | None) -> RecordMapping | None:
        return check_mapping(mapping) if mapping is not None else None

    @field_validator("paging")
    @classmethod
    def _paging(cls, paging: Paging) -> Paging:
        if not 1 <= paging.limit <= 1000 or not 1 <= paging.max_pages <= 100:
            raise ValueError("paging: limit is 1 to 1000 and max_pages 1 to 100")
        if paging.style == "next" and not paging.next:
            raise ValueError('paging: style "next" needs the path of the next link: next = "..."')
        return paging

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, cursor: CursorSpec | None) -> CursorSpec | None:
        if cursor is not None:
            check_template(cursor.template, "value", "cursor: template")
        return cursor

    @model_validator(mode="after")
    def _selector_when_needed(self) -> SourceConfig:
        if self.kind in ("page", "watch") and not self.selector:
            raise ValueError(f"a {self.kind!r} source needs a CSS 'selector'")
        return self

    @model_validator(mode="after")
    def _json_source(self) -> SourceConfig:
        if self.kind not in JSON_KINDS:
            given = [key for key in JSON_ONLY if key in self.model_fields_set]
            if given:
                raise ValueError(f"{given[0]!r} is for JSON sources (kind json, boamp, decp)")
            return self
        if self.kind == "json":
            if self.mapping is None:
                raise ValueError("a 'json' source needs a 'mapping' (see docs/sources-json.md)")
            if self.filter is not None:
                raise ValueError("'filter' is for presets; a 'json' source sets its 'params'")
            return self
        return self.model_copy(update=resolve(PRESETS[self.kind], self.filter or PresetFilter()))

    @model_validator(mode="after")
    def _links_need_networks(self) -> SourceConfig:
        if self.allow_private_links and not self.allow_private_networks:
            raise ValueError(
                "allow_private_links = true needs allow_private_networks = true: "
                "links may only reach private addresses when the source itself may"
            )
        return self

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def private_access(self) -> PrivateAccess:
        if not self.allow_private_networks:
            return NO_PRIVATE_ACCESS
        return PrivateAccess(self.host, any_host=self.allow_private_links)


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


def check_selector(selector: str) -> str:
    """Raise ValueError when `selector` is not valid CSS."""
    from cssselect import GenericTranslator, SelectorError  # few configurations need it

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None
    return selector


def check_mapping(mapping: RecordMapping) -> RecordMapping:
    """Field names a rule can scope to, and a link template that makes links."""
    names = [*mapping.fields, *mapping.numbers]
    for name in names:
        check_field_name(name, "mapping: ")
    for path in mapping_paths(mapping):
        if not all(path.split(".")) or path.count(".") >= MAX_STEPS:
            raise ValueError(
                f"mapping: invalid path {path!r}: keys joined by dots, at most {MAX_STEPS}"
            )
    if len(set(names)) < len(names):
        raise ValueError("mapping: a name is both in 'fields' and in 'numbers'")
    for name in mapping.require:
        if name not in mapping.fields:
            raise ValueError(f"mapping: 'require' names {name!r}, which is not in 'fields'")
    if mapping.link_template is not None:
        check_http_url(check_template(mapping.link_template, "id", "mapping: link_template"))
    return mapping


def mapping_paths(mapping: RecordMapping) -> list[str]:
    """Every path a mapping reads (the list of records itself may be "": the body)."""
    groups: list[str | tuple[str, ...] | None] = [
        mapping.id,
        mapping.title,
        mapping.date,
        mapping.link,
        mapping.text,
        *mapping.fields.values(),
        *mapping.numbers.values(),
    ]
    paths = [mapping.records] if mapping.records else []
    for group in groups:
        paths += [group] if isinstance(group, str) else list(group or ())
    return paths


def check_field_name(name: str, where: str = "") -> str:
    """A structured field's name, as rules write it after ``field:`` (or ``awardee:``)."""
    if not _FIELD.match(name) or name in FIELDS_TEXT + FIELDS_META:
        raise ValueError(
            f"{where}invalid field name {name!r}: lowercase letters, digits and _, "
            f"not one of {', '.join(FIELDS_TEXT + FIELDS_META)}"
        )
    return name


def check_template(template: str, name: str, what: str) -> str:
    """``template`` with ``{name}`` filled in; a template without it, or with other
    braces, is an error."""
    try:
        filled = template.format(**{name: "x"})
    except (KeyError, IndexError, ValueError):
        filled = template
    if filled == template:
        raise ValueError(f"{what} must use {{{name}}} and no other braces")
    return filled


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
