"""The watch-rules of a configuration compiled into one `RuleSet`, on first use.

Compiling looks up the lemmas of every query word and actor name, which decodes
simplemma's dictionaries (about 0.8 s of CPU): commands that match nothing (`monitor
sources`, `alerts`, `health`...) must not pay it. `monitor check` and the service start
compile at once (`monitor.preflight`), so that a bad query is still reported there,
with its file and line, before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.config.alerts import AlertsConfig, Origin, RuleConfig, problem_at
from monitor.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from monitor.match import QueryError, RuleSet, RuleSpec
    from monitor.match.actors import ActorKind

Compiled = tuple["RuleSet | None", list[ConfigProblem]]


class LazyRuleSet:
    """A rule set compiled the first time it is asked for, then kept."""

    def __init__(self, compile: Callable[[], Compiled]) -> None:
        self._compile = compile
        self._compiled: Compiled | None = None

    @classmethod
    def of(cls, ruleset: RuleSet) -> LazyRuleSet:
        return cls(lambda: (ruleset, []))

    def problems(self) -> list[ConfigProblem]:
        """What keeps the rules from compiling (nothing when they do), compiling them
        if that was not done yet."""
        if self._compiled is None:
            self._compiled = self._compile()
        return self._compiled[1]

    def get(self) -> RuleSet:
        """The rule set; `ConfigError`, with files and lines, when a rule is wrong."""
        problems = self.problems()
        assert self._compiled is not None
        ruleset = self._compiled[0]
        if problems or ruleset is None:
            raise ConfigError(problems)
        return ruleset


def lazy_rules(alerts: AlertsConfig) -> LazyRuleSet:
    return LazyRuleSet(lambda: compile_alerts(alerts))


def compile_alerts(alerts: AlertsConfig) -> Compiled:
    """The enabled rules compiled; the problems of every rule, disabled ones included:
    a disabled rule is not in the rule set, but its errors would otherwise wait for the
    day it is enabled."""
    kinds, problems = _actor_kinds(alerts)
    enabled = tuple(r for r in alerts.rules if r.enabled)
    ruleset, errors = _compile(enabled, alerts, kinds)
    problems += errors
    _, errors = _compile(tuple(r for r in alerts.rules if not r.enabled), alerts, kinds)
    return ruleset, problems + errors


def _compile(
    rules: tuple[RuleConfig, ...], alerts: AlertsConfig, kinds: dict[str, ActorKind]
) -> Compiled:
    from monitor.match import RuleSetError, compile_rules

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
    from monitor.match import QueryError
    from monitor.match.actors import compile_actor_kind

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
                problem_at(
                    alerts.origins,
                    f"actors:{name}",
                    f"actors {name}: unknown list {', '.join(unknown)}",
                )
            )
            continue
        named = {actor: _with_lists(terms, alerts.lists) for actor, terms in table.names.items()}
        places = [e for list_ in table.lists for e in alerts.lists[list_]]
        try:
            kinds[name] = compile_actor_kind(name, named, table.heads, places)
        except QueryError as exc:
            problems.append(problem_at(alerts.origins, f"actors:{name}", exc.message))
    return kinds, problems


def _with_lists(terms: Sequence[str], lists: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """An actor's names, a ``@list`` standing for its terms (Microsoft: ``@microsoft``)."""
    return tuple(
        t for term in terms for t in (lists.get(term[1:], ()) if term.startswith("@") else (term,))
    )


def rule_spec(rule: RuleConfig) -> RuleSpec:
    from monitor.match import RuleSpec

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
