"""Load and validate the operator's configuration, once, at the edge.

`load_config` reads `sources.toml`, `alerts/**.toml` and the optional
`monitor.toml` of a config directory, checks every cross-reference (a rule's
channels, a digest's rules, the queries themselves) and returns one typed
`Config`, or raises `ConfigError` listing every problem with file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from monitor.config.alerts import (
    CONSOLE,
    DEFAULT_MAX_AGE,
    AlertsConfig,
    ChannelConfig,
    DigestConfig,
    Example,
    Origin,
    Routing,
    RuleConfig,
    load_alerts,
)
from monitor.config.service import ServiceFile, load_service
from monitor.config.sources import FetchSettings, SourceConfig, load_sources
from monitor.config.toml import locate, read_toml
from monitor.config.validation import did_you_mean, known_names
from monitor.config.version import config_version
from monitor.errors import ConfigError, ConfigProblem
from monitor.fields import Fields
from monitor.match import Document, QueryError, RuleSet, RuleSetError, RuleSpec, compile_rules
from monitor.match.actors import ActorKind, compile_actor_kind

__all__ = [
    "CONSOLE",
    "ChannelConfig",
    "Config",
    "DigestConfig",
    "Example",
    "FetchSettings",
    "Routing",
    "RuleConfig",
    "SourceConfig",
    "load_config",
]

CONSOLE_CHANNEL = ChannelConfig(name=CONSOLE, url="console://", format="text")


@dataclass(frozen=True)
class Config:
    root: Path
    fetch: FetchSettings
    sources: tuple[SourceConfig, ...]
    rules: tuple[RuleConfig, ...]  # enabled rules only
    lists: Mapping[str, tuple[str, ...]]
    ruleset: RuleSet
    channels: Mapping[str, ChannelConfig]
    digests: Mapping[str, DigestConfig]
    routing: Routing
    service: ServiceFile
    max_age: timedelta = DEFAULT_MAX_AGE  # [alerts] max_age
    database_url: str | None = None
    templates_dir: Path | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)
    version: str = ""  # a short hash of the files read (see `config_version`)

    @property
    def event_keys(self) -> dict[str, str]:
        """Each rule's key in the event index: its own id, or the rule it shares
        events with (``same_event_as``)."""
        return {r.id: r.same_event_as or r.id for r in self.rules}

    def rule(self, rule_id: str) -> RuleConfig:
        return next(r for r in self.rules if r.id == rule_id)

    def source(self, source_id: str) -> SourceConfig:
        return next(s for s in self.sources if s.id == source_id)

    def channels_for(self, rule: RuleConfig) -> tuple[str, ...]:
        """Channels that get an immediate alert for this rule (none when digest-only)."""
        if self.mode_of(rule) == "digest":
            return ()
        return rule.channels if rule.channels is not None else self.routing.channels

    def mode_of(self, rule: RuleConfig) -> str:
        return rule.mode or self.routing.mode

    def max_age_of(self, rule: RuleConfig) -> timedelta:
        """How old an article may be and still alert at once for this rule."""
        return rule.max_age if rule.max_age is not None else self.max_age


def load_config(root: str | Path, environ: Mapping[str, str]) -> Config:
    root = Path(root)
    problems: list[ConfigProblem] = []
    fetch, sources = FetchSettings(), tuple[SourceConfig, ...]()
    try:
        fetch, sources, errors = load_sources(read_toml(root / "sources.toml", "sources.toml"))
        problems += errors
    except ConfigError as exc:
        problems += exc.problems
    alerts, errors = load_alerts(root / "alerts", root, environ)
    problems += errors
    service, database_url, errors = _load_service(root, environ)
    problems += errors
    channels = {CONSOLE: CONSOLE_CHANNEL, **alerts.channels}
    problems += _check_references(alerts, channels, {s.id for s in sources})
    problems += _check_notice_channels(root, service, channels)
    problems += _check_channel_urls(alerts, channels)
    problems += _check_digests(alerts)
    problems += _check_same_events(alerts)
    kinds, errors = _actor_kinds(alerts)
    problems += errors
    enabled = tuple(r for r in alerts.rules if r.enabled)
    ruleset, errors = _compile(enabled, alerts, kinds)
    problems += errors
    # A disabled rule is not compiled into the rule set, but its query is checked: its
    # errors would otherwise wait for the day it is enabled.
    _, errors = _compile(tuple(r for r in alerts.rules if not r.enabled), alerts, kinds)
    problems += errors
    templates = root / "alerts" / "templates"
    problems += _check_templates(templates)
    if problems:
        raise ConfigError(problems)
    assert ruleset is not None
    return Config(
        root=root,
        fetch=fetch,
        sources=sources,
        rules=enabled,
        lists=alerts.lists,
        ruleset=ruleset,
        channels=channels,
        digests=alerts.digests,
        routing=alerts.routing,
        max_age=alerts.settings.max_age,
        service=service,
        database_url=database_url,
        templates_dir=templates if templates.is_dir() else None,
        origins=alerts.origins,
        version=config_version(root),
    )


def _load_service(
    root: Path, environ: Mapping[str, str]
) -> tuple[ServiceFile, str | None, list[ConfigProblem]]:
    try:
        return load_service(root / "monitor.toml", "monitor.toml", environ)
    except ConfigError as exc:
        return ServiceFile(), None, exc.problems


def _problem_at(alerts: AlertsConfig, key: str, message: str) -> ConfigProblem:
    """At the line of `key` ("rule:ID#channels"), else of its table ("rule:ID")."""
    table = key.split("#")[0]
    origin = alerts.origins.get(key) or alerts.origins.get(table, Origin("alerts", None))
    return ConfigProblem(origin.file, message, line=origin.line)


def _check_references(
    alerts: AlertsConfig, channels: Mapping[str, ChannelConfig], source_ids: set[str]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    rule_ids = {r.id for r in alerts.rules}

    def unknown_channels(names: tuple[str, ...], key: str, what: str) -> None:
        for name in names:
            if name not in channels:
                hint = known_names(name, channels)
                problems.append(
                    _problem_at(alerts, key, f"{what} routes to unknown channel {name!r}{hint}")
                )

    unknown_channels(alerts.routing.channels, "routing:#channels", "[routing]")
    for rule in alerts.rules:
        unknown_channels(rule.channels or (), f"rule:{rule.id}#channels", f"rule {rule.id!r}")
        for source in rule.sources:
            if source_ids and source not in source_ids:
                problems.append(
                    _problem_at(
                        alerts,
                        f"rule:{rule.id}#sources",
                        f"rule {rule.id!r} filters on unknown source {source!r}"
                        + did_you_mean(source, source_ids),
                    )
                )
    for digest in alerts.digests.values():
        unknown_channels(
            digest.channels, f"digest:{digest.name}#channels", f"digest {digest.name!r}"
        )
        for rule_id in digest.rules:
            if rule_id not in rule_ids:
                problems.append(
                    _problem_at(
                        alerts,
                        f"digest:{digest.name}#rules",
                        f"digest {digest.name!r} names unknown rule {rule_id!r}"
                        + did_you_mean(rule_id, rule_ids),
                    )
                )
    return problems


def _check_notice_channels(
    root: Path, service: ServiceFile, channels: Mapping[str, ChannelConfig]
) -> list[ConfigProblem]:
    unknown = [name for name in service.health.notice_channels if name not in channels]
    if not unknown:
        return []
    text = (root / "monitor.toml").read_text(encoding="utf-8")
    line = locate(text, ("health", "notice_channels"))
    return [
        ConfigProblem(
            "monitor.toml",
            f"[health] notice_channels names unknown channel {name!r}"
            + known_names(name, channels),
            line=line,
        )
        for name in unknown
    ]


def _check_channel_urls(
    alerts: AlertsConfig, channels: Mapping[str, ChannelConfig]
) -> list[ConfigProblem]:
    from monitor.notify.services import check_url

    problems = []
    checked = [c for c in channels.values() if c.name not in alerts.unresolved]
    for channel in checked:
        with _apprise_silenced():
            error = check_url(channel.url)
        if error:
            problems.append(
                _problem_at(
                    alerts, f"channel:{channel.name}#url", f"channel {channel.name!r}: {error}"
                )
            )
    return problems


@contextmanager
def _apprise_silenced() -> Iterator[None]:
    """apprise logs its own ERROR line on a URL it cannot parse: the problem we report
    says it better, with file and line, and must be the only line about it."""
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def _check_digests(alerts: AlertsConfig) -> list[ConfigProblem]:
    from monitor.schedule.cron import parse_cron

    problems = []
    for digest in alerts.digests.values():
        try:
            parse_cron(digest.cron, digest.timezone)
        except ValueError as exc:
            problems.append(
                _problem_at(
                    alerts,
                    f"digest:{digest.name}#cron",
                    f"digest {digest.name!r}: invalid cron {digest.cron!r}: {exc}",
                )
            )
    return problems


def _check_same_events(alerts: AlertsConfig) -> list[ConfigProblem]:
    """`same_event_as` names another rule with the same actors (its events are keyed
    by them)."""
    rules = {r.id: r for r in alerts.rules}
    problems = []
    for rule in alerts.rules:
        other = rules.get(rule.same_event_as or "")
        if rule.same_event_as is None:
            continue
        if other is None or other.id == rule.id:
            why = f"names no other rule ({rule.same_event_as!r})"
        elif not rule.actors or set(rule.actors) != set(other.actors):
            why = f"needs the same actors as {other.id!r} ({', '.join(other.actors) or 'none'})"
        else:
            continue
        problems.append(
            _problem_at(
                alerts, f"rule:{rule.id}#same_event_as", f"rule {rule.id!r}: same_event_as {why}"
            )
        )
    return problems


def _check_templates(templates: Path) -> list[ConfigProblem]:
    from monitor.notify.samples import check_templates

    found = check_templates(templates if templates.is_dir() else None)
    return [ConfigProblem("alerts/templates", message) for message in found]


def _compile(
    rules: tuple[RuleConfig, ...], alerts: AlertsConfig, kinds: dict[str, ActorKind]
) -> tuple[RuleSet | None, list[ConfigProblem]]:
    # The rules that use a kind of actor in error (reported already) are left out, not the
    # others: their queries are still checked in this run.
    broken = {name for name in alerts.actors if name not in kinds}
    specs = [rule_spec(r) for r in rules if not broken.intersection(r.actors)]
    try:
        return compile_rules(specs, alerts.lists, actor_kinds=kinds), []
    except RuleSetError as exc:
        return None, [_query_problem(alerts, rule, error) for rule, error in exc.errors]


def _query_problem(alerts: AlertsConfig, rule_id: str, error: QueryError) -> ConfigProblem:
    """At the line of the file where the error is, not the line inside the query."""
    related = error.message.startswith("related: ")
    query = alerts.queries.get(f"{rule_id}:related" if related else rule_id)
    origin = query.at(error.query, error.position) if query else None
    if origin is None or origin.line is None:
        origin = alerts.origins.get(f"rule:{rule_id}", Origin("alerts", None))
    message = f"rule {rule_id!r}: {error.message}\n{error.caret()}"
    return ConfigProblem(origin.file, message, line=origin.line)


def _actor_kinds(alerts: AlertsConfig) -> tuple[dict[str, ActorKind], list[ConfigProblem]]:
    kinds: dict[str, ActorKind] = {}
    problems = []
    for name, table in alerts.actors.items():
        referred = [
            *table.lists,
            *(t[1:] for ts in table.names.values() for t in ts if t[:1] == "@"),
        ]
        unknown = [f"@{list_}" for list_ in referred if list_ not in alerts.lists]
        if unknown:
            problems.append(
                _problem_at(
                    alerts, f"actors:{name}", f"actors {name}: unknown list {', '.join(unknown)}"
                )
            )
            continue
        named = {e: (e,) for list_ in table.lists for e in alerts.lists[list_]} | {
            actor: _with_lists(terms, alerts.lists) for actor, terms in table.names.items()
        }
        try:
            kinds[name] = compile_actor_kind(name, named, table.heads)
        except QueryError as exc:
            problems.append(_problem_at(alerts, f"actors:{name}", exc.message))
    return kinds, problems


def _with_lists(terms: Sequence[str], lists: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """An actor's names, a ``@list`` standing for its terms (Microsoft: ``@microsoft``)."""
    return tuple(
        t for term in terms for t in (lists.get(term[1:], ()) if term.startswith("@") else (term,))
    )


def rule_spec(rule: RuleConfig) -> RuleSpec:
    return RuleSpec(
        id=rule.id,
        query=rule.query,
        title=rule.title,
        languages=rule.languages,
        sources=rule.sources,
        tags=rule.tags,
        related=rule.related,
        actors=rule.actors,
    )


def example_document(example: str | Example) -> Document:
    if isinstance(example, str):
        return Document(title="", text=example)
    return Document(title=example.title, text=example.text, fields=Fields(example.fields))
