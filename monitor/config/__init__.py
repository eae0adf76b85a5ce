"""Load and validate the operator's configuration, once, at the edge.

`load_config` reads `sources.toml`, `alerts/**.toml` and the optional
`monitor.toml` of a config directory, checks every cross-reference (a rule's
channels, a digest's rules) and returns one typed `Config`, or raises `ConfigError`
listing every problem with file and line. The queries are compiled on first use; the
checks that need more than this package (`monitor.preflight`: the queries compiled,
channel URLs, crons, templates) are passed in by the layers above, for this package
imports nothing above it (tests/config/test_loading.py checks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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
    problem_at,
)
from monitor.config.rules import LazyRuleSet, lazy_rules, rule_spec
from monitor.config.service import ServiceFile, load_service
from monitor.config.sources import FetchSettings, SourceConfig, load_sources
from monitor.config.toml import locate, read_toml
from monitor.config.validation import did_you_mean, known_names
from monitor.config.version import config_version
from monitor.errors import ConfigError, ConfigProblem
from monitor.fields import Fields

if TYPE_CHECKING:
    from monitor.match import Document, RuleSet

__all__ = [
    "CONSOLE",
    "ChannelConfig",
    "Config",
    "ConfigCheck",
    "DigestConfig",
    "Example",
    "FetchSettings",
    "Routing",
    "RuleConfig",
    "SourceConfig",
    "check_rules",
    "load_config",
    "rule_spec",
]

CONSOLE_CHANNEL = ChannelConfig(name=CONSOLE, url="console://", format="text")


@dataclass(frozen=True)
class Config:
    root: Path
    fetch: FetchSettings
    sources: tuple[SourceConfig, ...]
    rules: tuple[RuleConfig, ...]  # enabled rules only
    lists: Mapping[str, tuple[str, ...]]
    compiled: LazyRuleSet = field(repr=False, compare=False)  # see `ruleset`
    channels: Mapping[str, ChannelConfig]
    digests: Mapping[str, DigestConfig]
    routing: Routing
    service: ServiceFile
    max_age: timedelta = DEFAULT_MAX_AGE  # [alerts] max_age
    database_url: str | None = None
    templates_dir: Path | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)
    version: str = ""  # a short hash of the files read (see `config_version`)
    unresolved: frozenset[str] = frozenset()  # channels whose URL names unset variables

    @property
    def ruleset(self) -> RuleSet:
        """The enabled rules, compiled on first use (`ConfigError` if one is wrong)."""
        return self.compiled.get()

    def with_ruleset(self, ruleset: RuleSet) -> Config:
        """This configuration matching with `ruleset` (a rule tried with another query)."""
        return dataclasses.replace(self, compiled=LazyRuleSet.of(ruleset))

    @property
    def event_keys(self) -> dict[str, str]:
        """Each rule's key in the event index: its own id, or the rule it shares
        events with (``same_event_as``)."""
        return {r.id: r.same_event_as or r.id for r in self.rules}

    @property
    def event_windows(self) -> dict[str, timedelta]:
        """The rules that keep their events' stories open longer (or shorter) than the
        default ten days (``event_window``)."""
        return {r.id: r.event_window for r in self.rules if r.event_window is not None}

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


# A check that needs more than the configuration itself (a channel's URL parsed by the
# notifier, templates rendered...): run by the layers above, which pass it in.
ConfigCheck = Callable[[Config], list[ConfigProblem]]


def load_config(
    root: str | Path, environ: Mapping[str, str], checks: Iterable[ConfigCheck] = ()
) -> Config:
    """The configuration in `root`, checked by itself and by `checks`; `ConfigError`
    listing every problem. The rules are compiled on first use (`Config.ruleset`)."""
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
    problems += _check_same_events(alerts)
    problems += _check_event_windows(alerts)
    templates = root / "alerts" / "templates"
    config = Config(
        root=root,
        fetch=fetch,
        sources=sources,
        rules=tuple(r for r in alerts.rules if r.enabled),
        lists=alerts.lists,
        compiled=lazy_rules(alerts),
        channels=channels,
        digests=alerts.digests,
        routing=alerts.routing,
        max_age=alerts.settings.max_age,
        service=service,
        database_url=database_url,
        templates_dir=templates if templates.is_dir() else None,
        origins=alerts.origins,
        version=config_version(root),
        unresolved=frozenset(alerts.unresolved),
    )
    for check in checks:
        problems += check(config)
    if problems:
        raise ConfigError(problems)
    return config


def check_rules(config: Config) -> list[ConfigProblem]:
    """Compile the rules now: their problems, with file and line."""
    return config.compiled.problems()


def _load_service(
    root: Path, environ: Mapping[str, str]
) -> tuple[ServiceFile, str | None, list[ConfigProblem]]:
    try:
        return load_service(root / "monitor.toml", "monitor.toml", environ)
    except ConfigError as exc:
        return ServiceFile(), None, exc.problems


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
                    problem_at(
                        alerts.origins, key, f"{what} routes to unknown channel {name!r}{hint}"
                    )
                )

    unknown_channels(alerts.routing.channels, "routing:#channels", "[routing]")
    for rule in alerts.rules:
        unknown_channels(rule.channels or (), f"rule:{rule.id}#channels", f"rule {rule.id!r}")
        for source in rule.sources:
            if source_ids and source not in source_ids:
                problems.append(
                    problem_at(
                        alerts.origins,
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
                    problem_at(
                        alerts.origins,
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
            problem_at(
                alerts.origins,
                f"rule:{rule.id}#same_event_as",
                f"rule {rule.id!r}: same_event_as {why}",
            )
        )
    return problems


def _check_event_windows(alerts: AlertsConfig) -> list[ConfigProblem]:
    """`event_window` says how long a rule's event stays one story: it needs the actors
    that identify the event, and some time."""
    problems = []
    for rule in alerts.rules:
        if rule.event_window is None:
            continue
        if not rule.actors:
            why = "needs `actors`: without them, articles are joined by their text only"
        elif rule.event_window <= timedelta(0):
            why = "must be longer than zero"
        else:
            continue
        where = f"rule:{rule.id}#event_window"
        problems.append(problem_at(alerts.origins, where, f"rule {rule.id!r}: event_window {why}"))
    return problems


def example_document(example: str | Example) -> Document:
    from monitor.match import Document

    if isinstance(example, str):
        return Document(title="", text=example)
    return Document(
        title=example.title,
        text=example.text,
        fields=Fields(example.fields),
        published=example.published,
    )
