"""Compile all rules together and match documents against them.

Every term of every rule goes into one ``TermIndex``; each rule is indexed under the
terms one of which it requires (see ``triggers``). Matching a document costs one
analysis, one term lookup pass, then exact evaluation of only the rules whose
required terms occurred, so adding rules that do not concern an article costs it
almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass

from monitor.match.actors import ActorKind, find_actors
from monitor.match.analysis import DEFAULT_LEAD_SENTENCES, Analysis
from monitor.match.evaluate import Evaluator, Span, language_matches
from monitor.match.explain import Explanation, explain_rule
from monitor.match.lemmas import lemma_keys
from monitor.match.nodes import Node, TermKey, iter_terms
from monitor.match.passages import build_passages, group_by_sentence
from monitor.match.query import parse_query
from monitor.match.terms import Occurrences, TermIndex, scan_term
from monitor.match.triggers import required_groups, required_terms
from monitor.match.types import (
    EVENT,
    RELATED,
    Actors,
    Document,
    QueryError,
    RuleMatch,
    RuleSetError,
    RuleSpec,
)
from monitor.match.vocabulary import Vocabulary


@dataclass(frozen=True)
class CompiledRule:
    """One tier of a rule: its query (``event``) or its related query (``related``)."""

    spec: RuleSpec
    root: Node
    trigger: frozenset[TermKey]
    # Besides the trigger, groups that must each have a term present for a match.
    other_groups: tuple[frozenset[TermKey], ...]
    has_filters: bool
    tier: str = EVENT

    def may_match(self, keys: KeysView[TermKey]) -> bool:
        """Cheap necessary condition: each required group has an occurring term."""
        # A plain loop: this runs for every rule a document triggers (hundreds at 10,000
        # rules), and all() over a generator costs twice as much.
        for group in self.other_groups:  # noqa: SIM110 - measured faster than all()
            if keys.isdisjoint(group):
                return False
        return True


def filter_failures(spec: RuleSpec, doc: Document) -> list[str]:
    """Why the rule's language/source/tag filters exclude ``doc`` (empty if they pass)."""
    reasons = []
    if spec.languages and not language_matches(spec.languages, doc.lang):
        shown = repr(doc.lang) if doc.lang else "unknown"
        reasons.append(f"language {shown} is not one of: {', '.join(spec.languages)}")
    if spec.sources and (doc.source_id or "").lower() not in {s.lower() for s in spec.sources}:
        reasons.append(f"source {doc.source_id!r} is not one of: {', '.join(spec.sources)}")
    if spec.tags and not set(spec.tags) & set(doc.tags):
        shown = ", ".join(doc.tags) if doc.tags else "none"
        reasons.append(f"document tags ({shown}) include none of: {', '.join(spec.tags)}")
    return reasons


@dataclass(frozen=True)
class RuleRecipe:
    """The arguments of ``compile_rules`` that gave a rule set: tens of kilobytes, sent to
    the worker processes, which compile the same rule set from it (``compile``)."""

    rules: tuple[RuleSpec, ...]
    lists: Mapping[str, Sequence[str]]
    lead_sentences: int
    actor_kinds: Mapping[str, ActorKind]

    def compile(self) -> RuleSet:
        return compile_rules(
            self.rules,
            self.lists,
            lead_sentences=self.lead_sentences,
            actor_kinds=self.actor_kinds,
        )


class RuleSet:
    """Compiled rules, ready to match documents. Build it with ``compile_rules``."""

    def __init__(self, rules: Sequence[CompiledRule], recipe: RuleRecipe) -> None:
        self.recipe = recipe  # what compiled it, to compile it again in another process
        self._rules = tuple(rules)
        self._by_tier = {(r.spec.id, r.tier): position for position, r in enumerate(self._rules)}
        self.rule_ids: tuple[str, ...] = tuple(r.spec.id for r in self._rules if r.tier == EVENT)
        self.lead_sentences = recipe.lead_sentences
        self.actor_kinds = recipe.actor_kinds
        actor_terms = (t for kind in self.actor_kinds.values() for t in kind.terms())
        rule_terms = (t for rule in self._rules for t in iter_terms(rule.root))
        self._index = TermIndex([*rule_terms, *actor_terms])
        self._rules_by_term: dict[TermKey, list[int]] = {}
        for position, rule in enumerate(self._rules):
            for key in rule.trigger:
                self._rules_by_term.setdefault(key, []).append(position)

    def __len__(self) -> int:
        return len(self.rule_ids)

    def _position(self, rule_id: str, tier: str = EVENT) -> int:
        try:
            return self._by_tier[(rule_id, tier)]
        except KeyError:
            what = "no rule" if tier == EVENT else "no related query for the rule"
            raise KeyError(f"{what} with id {rule_id!r}") from None

    def rule(self, rule_id: str, tier: str = EVENT) -> CompiledRule:
        return self._rules[self._position(rule_id, tier)]

    def has_related(self, rule_id: str) -> bool:
        return (rule_id, RELATED) in self._by_tier

    def analysis_of(self, doc: Document) -> Analysis:
        """``doc`` cut into sentences and tokens, to match it against several rules
        (``match``, ``match_rules`` and ``explain`` take it instead of analysing again)."""
        return Analysis(doc, self.lead_sentences)

    def analyse(
        self, doc: Document, analysis: Analysis | None = None
    ) -> tuple[Analysis, Occurrences]:
        if analysis is None or analysis.doc is not doc:
            analysis = self.analysis_of(doc)
        return analysis, self._index.find(analysis)

    def can_fire(self, vocabulary: Vocabulary, rule_ids: Iterable[str]) -> bool:
        """False when none of the rules (either tier) can fire on an article with these
        words: each of their required groups of terms must have one that may occur."""
        may_occur = self._index.may_occur
        for rule_id in rule_ids:
            for tier in (EVENT, RELATED):
                position = self._by_tier.get((rule_id, tier))
                if position is None:
                    continue
                rule = self._rules[position]
                groups = (rule.trigger, *rule.other_groups)
                if all(any(may_occur(key, vocabulary) for key in g) for g in groups):
                    return True
        return False

    def _candidates(self, occurrences: Occurrences) -> list[int]:
        """Positions of the rules whose required terms occur, in rule order."""
        found: set[int] = set()
        for key in occurrences:
            found.update(self._rules_by_term.get(key, ()))
        rules, keys = self._rules, occurrences.keys()
        return sorted(p for p in found if rules[p].may_match(keys))

    def match(self, doc: Document, analysis: Analysis | None = None) -> list[RuleMatch]:
        """Every rule that fires on ``doc``, in rule order."""
        analysis, occurrences = self.analyse(doc, analysis)
        return self._run(analysis, occurrences, self._candidates(occurrences))

    def match_rules(
        self, doc: Document, rule_ids: Iterable[str], analysis: Analysis | None = None
    ) -> list[RuleMatch]:
        """Like ``match`` for the given rules only (backtests of a few rules)."""
        wanted = set(rule_ids)
        for rule_id in wanted:
            self._position(rule_id)  # an unknown id is an error, not an empty answer
        analysis, occurrences = self.analyse(doc, analysis)
        rules = self._rules
        candidates = [p for p in self._candidates(occurrences) if rules[p].spec.id in wanted]
        return self._run(analysis, occurrences, candidates)

    def _run(
        self, analysis: Analysis, occurrences: Occurrences, positions: Iterable[int]
    ) -> list[RuleMatch]:
        """One match per rule, in rule order: its event tier if it fires, else its
        related tier if that fires."""
        evaluator = Evaluator(analysis, occurrences)
        found: dict[str, RuleMatch] = {}
        for position in positions:
            rule = self._rules[position]
            if rule.spec.id in found and found[rule.spec.id].tier == EVENT:
                continue
            if rule.has_filters and filter_failures(rule.spec, analysis.doc):
                continue
            match = evaluate_rule(rule, evaluator, self.actor_kinds)
            if match is not None and (match.tier == EVENT or rule.spec.id not in found):
                found[rule.spec.id] = match
        order = {rule_id: index for index, rule_id in enumerate(self.rule_ids)}
        return sorted(found.values(), key=lambda m: order[m.rule_id])

    def explain(
        self,
        rule_id: str,
        doc: Document,
        *,
        apply_filters: bool = True,
        tier: str = EVENT,
        analysis: Analysis | None = None,
    ) -> Explanation:
        """Why ``rule_id`` does or does not match ``doc``, clause by clause.

        ``apply_filters=False`` ignores the rule's language/source/tag filters
        (used for the rule's own examples).
        """
        rule = self.rule(rule_id, tier)
        analysis, occurrences = self.analyse(doc, analysis)
        failures = filter_failures(rule.spec, doc) if apply_filters else []
        return explain_rule(rule.spec.id, rule.root, Evaluator(analysis, occurrences), failures)

    def match_naive(self, doc: Document) -> list[RuleMatch]:
        """Reference matcher: scans every term at every position and evaluates every rule.

        Slow; it exists to check that the automaton and the trigger index change nothing.
        """
        analysis = self.analysis_of(doc)
        occurrences: Occurrences = {}
        scanned: set[TermKey] = set()
        token_lemmas = [lemma_keys(raw) for raw in analysis.raws]
        for rule in self._rules:
            for term in iter_terms(rule.root):
                if term.key not in scanned:
                    scanned.add(term.key)
                    spans = scan_term(term, analysis, token_lemmas)
                    if spans:
                        occurrences[term.key] = spans
        return self._run(analysis, occurrences, range(len(self._rules)))


def evaluate_rule(
    rule: CompiledRule, evaluator: Evaluator, actor_kinds: Mapping[str, ActorKind]
) -> RuleMatch | None:
    """The match of one rule's tier (filters already applied), or None."""
    outcome = evaluator.evaluate(rule.root)
    if not outcome.ok:
        return None
    analysis = evaluator.analysis
    passages = build_passages(analysis, outcome.marks)
    clauses = tuple(dict.fromkeys(evaluator.fired_clauses(rule.root)))
    deciding = frozenset(group_by_sentence(analysis, outcome.marks)) - {0}
    actors: Actors = tuple(
        (kind, event_actors(actor_kinds[kind], analysis, evaluator.occurrences, deciding))
        for kind in rule.spec.actors
    )
    return RuleMatch(rule.spec.id, passages, clauses, rule.tier, actors)


def event_actors(
    kind: ActorKind,
    analysis: Analysis,
    occurrences: Mapping[TermKey, list[Span]],
    deciding: frozenset[int],
) -> tuple[str, ...]:
    """The names of ``kind`` in the title, where news names its actors; when the title
    names none, in the sentences that decided the match; when they name none either
    ("the ministry will deploy Office"), in the lead, which says who the news is about;
    last, in the structured fields (a notice names its buyer in a field of its own)."""
    fields = frozenset().union(*analysis.field_regions.values())
    for sentences in (analysis.title_region, deciding, analysis.lead_region, fields):
        found = find_actors(kind, analysis, occurrences, sentences)
        if found:
            return tuple(sorted(found))
    return ()


def compile_rule(
    spec: RuleSpec, lists: Mapping[str, Sequence[str]], tier: str = EVENT
) -> CompiledRule:
    query = spec.query if tier == EVENT else spec.related
    assert query is not None
    root = parse_query(query, lists)
    trigger = required_terms(root)
    assert trigger is not None  # parse_query rejects rules that require no term
    others = tuple({g for g, _ in required_groups(root)} - {trigger})
    has_filters = bool(spec.languages or spec.sources or spec.tags)
    return CompiledRule(spec, root, trigger, others, has_filters, tier)


def compile_rules(
    rules: Sequence[RuleSpec],
    lists: Mapping[str, Sequence[str]],
    *,
    lead_sentences: int = DEFAULT_LEAD_SENTENCES,
    actor_kinds: Mapping[str, ActorKind] | None = None,
) -> RuleSet:
    """Compile every rule (and its related query); raise RuleSetError listing all the
    bad ones at once."""
    compiled: list[CompiledRule] = []
    errors: list[tuple[str, QueryError]] = []
    seen: set[str] = set()
    kinds = actor_kinds or {}
    for spec in rules:
        if spec.id in seen:
            errors.append((spec.id, QueryError(f"duplicate rule id {spec.id!r}", 0, spec.query)))
            continue
        seen.add(spec.id)
        unknown = [k for k in spec.actors if k not in kinds]
        if unknown:
            known = ", ".join(sorted(kinds)) or "none defined"
            message = f"unknown kind of actor {unknown[0]!r} (known: {known})"
            errors.append((spec.id, QueryError(message, 0, spec.query)))
            continue
        for tier in (EVENT, RELATED) if spec.related else (EVENT,):
            try:
                compiled.append(compile_rule(spec, lists, tier))
            except QueryError as error:
                if tier == RELATED:
                    error = QueryError(f"related: {error.message}", error.position, error.query)
                errors.append((spec.id, error))
    if errors:
        raise RuleSetError(errors)
    return RuleSet(compiled, RuleRecipe(tuple(rules), dict(lists), lead_sentences, dict(kinds)))
