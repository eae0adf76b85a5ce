"""alerts/: watch-rules, term lists, channels, digests and routing.

Every `*.toml` file below `alerts/` (one file or a folder of them) may hold any
of the tables `[lists]`, `[[rule]]`, `[channels.NAME]`, `[digests.NAME]` and
`[routing]`; they are merged, and a name defined twice is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from monitor.config.interpolate import MissingVariable, interpolate
from monitor.config.sources import check_field_name
from monitor.config.toml import TomlDoc, read_toml
from monitor.config.units import Duration, parse_duration
from monitor.config.validation import Strict, validate
from monitor.errors import ConfigError, ConfigProblem
from monitor.fields import Fields

M = TypeVar("M", bound=Strict)

Mode = Literal["immediate", "digest", "both"]
Format = Literal["html", "markdown", "text"]
Severity = Literal["low", "normal", "high", "critical"]
CONSOLE = "console"
RULE_VERSION_LENGTH = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\s*[a-z]+)\s*$")


class Example(Strict):
    title: str = ""
    text: str = ""
    # Structured fields, as a JSON source's mapping gives them: a text, a number, or
    # several texts (`fields = { awardee = ["A", "B"], amount = 2500000 }`).
    fields: dict[str, str | float | tuple[str, ...]] = Field(default_factory=dict)
    # The article's date (`published = 2013-04-18`), for queries with EARLIER_YEAR.
    published: date | None = None

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, fields: object) -> object:
        """Names a rule can scope to; values as Fields takes them (a flag is no number)."""
        if isinstance(fields, dict):
            for name, value in fields.items():
                check_field_name(str(name))
                try:
                    Fields({str(name): value})
                except TypeError as exc:
                    raise ValueError(str(exc)) from None
        return fields


def _example_form(value: object) -> str:
    return "text" if isinstance(value, str) else "table"


# A text, or a table: one or the other is validated, so that a mistake in a table is
# reported once, not also as "not a string".
ExampleEntry = Annotated[
    Annotated[str, Tag("text")] | Annotated[Example, Tag("table")],
    Discriminator(_example_form),
]


class RuleConfig(Strict):
    id: str
    title: str
    short_title: str | None = None  # for email subjects; default: the title, cut if long
    query: str
    related: str | None = None  # the topic: digest-only "related coverage", never alerted
    actors: tuple[str, ...] = ()  # kinds of actor ([actors.KIND]) that identify the event
    # Another rule whose events this rule's join: a procurement notice and the press
    # articles about the same award are one story. Both must declare the same actors.
    same_event_as: str | None = None
    # How long a story stays open to other outlets' articles about the same event
    # after its last one; None = ten days (cluster.events.EVENT_WINDOW).
    event_window: Duration | None = None
    label: str | None = None  # its column in labeled files (`rules eval`); default: the id
    description: str = ""
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    severity: Severity = "normal"
    channels: tuple[str, ...] | None = None  # immediate channels; None = [routing] channels
    mode: Mode | None = None  # None = [routing] mode
    max_age: Duration | None = None  # None = [alerts] max_age
    enabled: bool = True
    should_match: tuple[ExampleEntry, ...] = ()
    should_not_match: tuple[ExampleEntry, ...] = ()

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_name(value, "rule id")

    @cached_property
    def version(self) -> str:
        """A short hash of the rule's table, defaults left out (a key written with its
        default value, or a new key of veille's, changes nothing): which version fired.
        Computed once (the model is frozen): every match written reads it."""
        table = self.model_dump(mode="json", exclude_defaults=True)
        canonical = json.dumps(table, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:RULE_VERSION_LENGTH]


class RateLimit(Strict):
    count: int = Field(ge=1)
    per: timedelta


class ChannelConfig(Strict):
    """One named destination. One URL per channel, so that a retry never resends to a
    target that already got the message; route a rule to several channels instead."""

    name: str
    url: str
    format: Format | None = None  # None: what suits the service (see notify.services)
    rate_limit: RateLimit | None = None


class ChannelTable(Strict):
    url: str
    format: Format | None = None
    rate_limit: str | None = None  # "20/h", "5/10m"

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value


class DigestConfig(Strict):
    name: str = ""
    channels: tuple[str, ...]
    cron: str = "30 7 * * *"
    timezone: str = "Europe/Paris"
    rules: tuple[str, ...] = ()  # empty: every rule routed to digests
    send_empty: bool = False
    title: str = ""  # the heading and subject; default: named after how often it is sent

    @model_validator(mode="after")
    def _default_title(self) -> DigestConfig:
        if not self.title:
            object.__setattr__(self, "title", digest_title(self.cron))  # frozen model
        return self

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name like 'Europe/Paris')"
            ) from None
        return value


def digest_title(cron: str) -> str:
    """A reader's name for a digest sent on this schedule: "Veille : synthèse quotidienne"
    for one at a fixed time every day, "hebdomadaire" once a week, "mensuelle" once a month."""
    return f"Veille : synthèse{_how_often(cron.split())}"


def _how_often(fields: list[str]) -> str:
    if len(fields) != 5:
        return ""
    minute, hour, day, month, weekday = fields
    if month != "*" or not (_one_value(minute) and _one_value(hour)):
        return ""
    if day == weekday == "*":
        return " quotidienne"
    if day == "*" and _one_value(weekday):
        return " hebdomadaire"
    if weekday == "*" and _one_value(day):
        return " mensuelle"
    return ""


def _one_value(field: str) -> bool:
    return not any(c in field for c in ",-/*")


class Routing(Strict):
    channels: tuple[str, ...] = (CONSOLE,)
    mode: Mode = "both"  # immediate alerts, and a place in the digests


DEFAULT_MAX_AGE = timedelta(hours=48)


class AlertSettings(Strict):
    # Older news (by its date, else when first seen) is stored and digested, never
    # alerted at once: a first poll or a newly added source must not page its backlog.
    max_age: Duration = DEFAULT_MAX_AGE


class ActorTable(Strict):
    """``[actors.KIND]``: how the press names the actors of one kind (see match.actors)."""

    heads: tuple[str, ...] = ()
    names: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Term lists whose every entry is an actor named by itself (cities, regions).
    lists: tuple[str, ...] = ()


class AlertsFile(Strict):
    lists: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    actors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rule: tuple[dict[str, Any], ...] = ()
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    digests: dict[str, dict[str, Any]] = Field(default_factory=dict)
    routing: dict[str, Any] | None = None
    alerts: dict[str, Any] | None = None


@dataclass(frozen=True)
class Origin:
    file: str
    line: int | None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True)
class QueryOrigin:
    """Where a rule's query text starts in its file, to turn a position in the query into
    a line of the file."""

    file: str
    line: int | None  # of the query's first character
    multiline: bool  # a triple-quoted string: the query's lines are the file's

    def at(self, query: str, position: int) -> Origin:
        if self.line is None:
            return Origin(self.file, None)
        below = query.count("\n", 0, position) if self.multiline else 0
        return Origin(self.file, self.line + below)


@dataclass
class AlertsConfig:
    rules: list[RuleConfig] = field(default_factory=list)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    actors: dict[str, ActorTable] = field(default_factory=dict)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    digests: dict[str, DigestConfig] = field(default_factory=dict)
    routing: Routing = field(default_factory=Routing)
    settings: AlertSettings = field(default_factory=AlertSettings)
    origins: dict[str, Origin] = field(default_factory=dict)  # "rule:ID", "channel:NAME", ...
    queries: dict[str, QueryOrigin] = field(default_factory=dict)  # "ID", "ID:related"
    unresolved: set[str] = field(default_factory=set)  # channels whose URL names unset variables


def problem_at(origins: Mapping[str, Origin], key: str, message: str) -> ConfigProblem:
    """At the line of `key` ("rule:ID#channels"), else of its table ("rule:ID")."""
    table = key.split("#")[0]
    origin = origins.get(key) or origins.get(table, Origin("alerts", None))
    return ConfigProblem(origin.file, message, line=origin.line)


def check_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use lowercase letters, digits, '-' or '_' (at most 64)"
        )
    return value


def parse_rate(value: str) -> RateLimit:
    found = _RATE.match(value)
    if not found:
        raise ValueError(f'invalid rate_limit {value!r}: use COUNT/PERIOD such as "20/h"')
    period = found.group(2).replace(" ", "")
    return RateLimit(
        count=int(found.group(1)),
        per=parse_duration(period if period[0].isdigit() else "1" + period),
    )


def alert_files(alerts_dir: Path) -> list[Path]:
    templates = alerts_dir / "templates"
    return sorted(p for p in alerts_dir.rglob("*.toml") if templates not in p.parents)


def load_alerts(
    alerts_dir: Path, root: Path, environ: Mapping[str, str]
) -> tuple[AlertsConfig, list[ConfigProblem]]:
    config, problems = AlertsConfig(), []
    if not alerts_dir.is_dir():
        return config, [ConfigProblem(_display(alerts_dir, root), "directory not found")]
    for path in alert_files(alerts_dir):
        try:
            doc = read_toml(path, _display(path, root))
        except ConfigError as exc:
            problems += exc.problems
            continue
        problems += _merge_file(config, doc, environ)
    return config, problems


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _merge_file(
    config: AlertsConfig, doc: TomlDoc, environ: Mapping[str, str]
) -> list[ConfigProblem]:
    top, problems = validate(AlertsFile, doc.data, doc)
    if top is None:
        return problems
    problems += _merge_lists(config, doc, top.lists)
    problems += _merge_actors(config, doc, top.actors)
    problems += _merge_rules(config, doc, top.rule)
    problems += _merge_channels(config, doc, top.channels, environ)
    problems += _merge_digests(config, doc, top.digests)
    routing, errors = _single_table(config, doc, Routing, top.routing, "routing")
    problems += errors
    if routing is not None:
        config.routing = routing
    settings, errors = _single_table(config, doc, AlertSettings, top.alerts, "alerts")
    problems += errors
    if settings is not None:
        config.settings = settings
    return problems


def _single_table(
    config: AlertsConfig, doc: TomlDoc, model: type[M], raw: Any, key: str
) -> tuple[M | None, list[ConfigProblem]]:
    """A table defined once across the alert files (``[routing]``, ``[alerts]``)."""
    if raw is None:
        return None, []
    value, problems = validate(model, raw, doc, (key,))
    if value is not None:
        problems += _claim(config, doc, key, "", (key,))
        _record_keys(config, doc, f"{key}:", (key,), raw, ("channels",))
    return value, problems


def _claim(
    config: AlertsConfig, doc: TomlDoc, kind: str, name: str, loc: tuple[str | int, ...]
) -> list[ConfigProblem]:
    """Record where a named thing is defined; a second definition is an error."""
    key = f"{kind}:{name}"
    origin = Origin(doc.display, doc.line_of(loc))
    if key in config.origins:
        what = f"{kind} {name!r}" if name else f"[{kind}]"
        return [
            ConfigProblem(
                doc.display, f"{what} is already defined at {config.origins[key]}", line=origin.line
            )
        ]
    config.origins[key] = origin
    return []


def _record_keys(
    config: AlertsConfig,
    doc: TomlDoc,
    owner: str,
    loc: tuple[str | int, ...],
    raw: dict[str, Any],
    keys: tuple[str, ...],
) -> None:
    """Where the keys that name other things are (a rule's channels, a digest's rules),
    as "OWNER#KEY": a wrong name is reported at its own line, not its table's."""
    for key in keys:
        if key in raw:
            config.origins[f"{owner}#{key}"] = Origin(doc.display, doc.line_of((*loc, key)))


def _merge_lists(
    config: AlertsConfig, doc: TomlDoc, lists: dict[str, tuple[str, ...]]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for name, terms in lists.items():
        loc = ("lists", name)
        clash = _claim(config, doc, "list", name, loc)
        if clash:
            problems += clash
        elif not terms:
            problems.append(doc.problem(f"list {name!r} is empty", loc))
        else:
            config.lists[name] = terms
    return problems


def _merge_actors(
    config: AlertsConfig, doc: TomlDoc, tables: dict[str, dict[str, Any]]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for kind, raw in tables.items():
        loc = ("actors", kind)
        table, errors = validate(ActorTable, raw, doc, loc, f"actors {kind!r}")
        problems += errors
        if table is None:
            continue
        clash = _claim(config, doc, "actors", kind, loc)
        if clash:
            problems += clash
        elif not table.names and not table.heads and not table.lists:
            problems.append(doc.problem(f"actors {kind!r} has no names, heads or lists", loc))
        else:
            config.actors[kind] = table
    return problems


def _merge_rules(
    config: AlertsConfig, doc: TomlDoc, rules: tuple[dict[str, Any], ...]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for index, raw in enumerate(rules):
        label = f"rule {raw.get('id', index + 1)!r}"
        rule, errors = validate(RuleConfig, raw, doc, ("rule", index), label)
        problems += errors
        if rule is None:
            continue
        clash = _claim(config, doc, "rule", rule.id, ("rule", index))
        problems += clash
        if not clash:
            config.rules.append(rule)
            keys = ("channels", "sources", "same_event_as")
            _record_keys(config, doc, f"rule:{rule.id}", ("rule", index), raw, keys)
            config.queries[rule.id] = _query_origin(doc, ("rule", index, "query"))
            if rule.related:
                config.queries[f"{rule.id}:related"] = _query_origin(
                    doc, ("rule", index, "related")
                )
    return problems


def _query_origin(doc: TomlDoc, loc: tuple[str | int, ...]) -> QueryOrigin:
    line = doc.line_of(loc)
    if line is None:
        return QueryOrigin(doc.display, None, False)
    value = doc.text.splitlines()[line - 1].partition("=")[2].strip()
    multiline = value[:3] in ('"""', "'''")
    # TOML drops a newline right after the opening quotes: the query starts on the next line.
    starts_below = multiline and value[3:].strip() == ""
    return QueryOrigin(doc.display, line + starts_below, multiline)


def _merge_channels(
    config: AlertsConfig,
    doc: TomlDoc,
    tables: dict[str, dict[str, Any]],
    environ: Mapping[str, str],
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for name, raw in tables.items():
        loc = ("channels", name)
        table, errors = validate(ChannelTable, raw, doc, loc, f"channel {name!r}")
        problems += errors
        if table is None:
            continue
        try:
            check_name(name, "channel name")
        except ValueError as exc:
            problems.append(doc.problem(f"channel {name!r}: {exc}", loc))
            continue
        url = table.url
        try:
            url = interpolate(table.url, environ)
        except MissingVariable as exc:
            # Reported, and the channel kept, so that the rules routed to it are not also
            # told it is unknown; its URL cannot be checked (see `unresolved`).
            problems.append(doc.problem(f"channel {name!r}: {exc}", (*loc, "url")))
            config.unresolved.add(name)
        rate = parse_rate(table.rate_limit) if table.rate_limit else None
        clash = _claim(config, doc, "channel", name, loc)
        problems += clash
        _record_keys(config, doc, f"channel:{name}", loc, raw, ("url",))
        if not clash:
            config.channels[name] = ChannelConfig(
                name=name, url=url, format=table.format, rate_limit=rate
            )
    return problems


def _merge_digests(
    config: AlertsConfig, doc: TomlDoc, tables: dict[str, dict[str, Any]]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for name, raw in tables.items():
        loc = ("digests", name)
        digest, errors = validate(DigestConfig, {**raw, "name": name}, doc, loc, f"digest {name!r}")
        problems += errors
        if digest is None:
            continue
        clash = _claim(config, doc, "digest", name, loc)
        problems += clash
        if not clash:
            config.digests[name] = digest
            _record_keys(config, doc, f"digest:{name}", loc, raw, ("channels", "rules", "cron"))
    return problems
