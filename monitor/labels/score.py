"""Score one rule on labeled articles: precision, recall, the errors, the stories.

The caller says how a labeled article fares (`Verdict`, built the way the pipeline
builds an article's document) and why (a one-line explanation, asked only for the
errors); this module only counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.labels.files import LabeledArticle


@dataclass(frozen=True)
class Verdict:
    fired: bool  # the rule's query (the event tier) fires
    related: bool | None = None  # its related query fires; None when it has none


@dataclass(frozen=True)
class Case:
    article: LabeledArticle
    expected: bool
    verdict: Verdict
    reason: str = ""  # why it fired or not, for the errors

    @property
    def outcome(self) -> str:
        """tp, fp, fn, tn; a borderline positive is right either way (tp or tn)."""
        fired = self.verdict.fired
        if self.expected and self.article.borderline:
            return "tp" if fired else "tn"
        if fired:
            return "tp" if self.expected else "fp"
        return "fn" if self.expected else "tn"


@dataclass(frozen=True)
class StoryScore:
    """A story told by several labeled articles: how many alerts it would give."""

    key: str
    articles: int
    positives: int  # articles labeled as the rule's event (borderline included)
    fired: int
    alerts: int  # stories formed by the fired articles: 1 is right for a positive story
    joined: tuple[str, ...] = ()  # other articles whose story took this one's in

    @property
    def ok(self) -> bool:
        return self.alerts == (1 if self.positives else 0) and not self.joined


@dataclass(frozen=True)
class RuleScore:
    rule_id: str
    cases: tuple[Case, ...]
    stories: tuple[StoryScore, ...] = ()

    def count(self, outcome: str) -> int:
        return sum(case.outcome == outcome for case in self.cases)

    @property
    def precision(self) -> float | None:
        tp, fp = self.count("tp"), self.count("fp")
        return tp / (tp + fp) if tp + fp else None

    @property
    def recall(self) -> float | None:
        tp, fn = self.count("tp"), self.count("fn")
        return tp / (tp + fn) if tp + fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    @property
    def borderline(self) -> int:
        return sum(c.expected and c.article.borderline for c in self.cases)

    def errors(self) -> list[Case]:
        """False alerts, then misses, each in file order."""
        wrong = [c for c in self.cases if c.outcome == "fp"]
        return wrong + [c for c in self.cases if c.outcome == "fn"]

    def events_alerted(self) -> tuple[int, int]:
        """(events with at least one alert, events): the labeled positives grouped by
        story, so that an event told by four outlets counts once, as a reader sees it.
        Borderline positives are left out: either answer is right for them."""
        events: dict[str, bool] = {}
        for case in self.cases:
            if case.expected and not case.article.borderline:
                key = case.article.story or case.article.id
                events[key] = events.get(key, False) or case.verdict.fired
        return sum(events.values()), len(events)

    def related_catch(self) -> tuple[int, int, int] | None:
        """(positives caught by the query or the related tier, positives, other articles
        the related tier shows): what a reader of the digest's related section sees."""
        if all(c.verdict.related is None for c in self.cases):
            return None
        positives = [c for c in self.cases if c.expected]
        caught = sum(c.verdict.fired or bool(c.verdict.related) for c in positives)
        shown = sum(
            bool(c.verdict.related) and not c.verdict.fired for c in self.cases if not c.expected
        )
        return caught, len(positives), shown


Grouper = Callable[[Sequence[LabeledArticle]], list[list[str]]]


def score_rule(
    rule_id: str,
    label_keys: Sequence[str],
    articles: Sequence[LabeledArticle],
    verdict: Callable[[LabeledArticle], Verdict],
    reason: Callable[[LabeledArticle], str],
    group: Grouper | None = None,
) -> RuleScore:
    """Score ``rule_id`` on the articles labeled for it (under one of ``label_keys``).

    ``group`` puts the fired articles of a story into the stories the pipeline would
    make of them (ids per story); without it, stories are not scored.
    """
    cases = []
    for article in articles:
        expected = article.label(*label_keys)
        if expected is None:
            continue
        case = Case(article, expected, verdict(article))
        if case.outcome in ("fp", "fn"):
            case = Case(article, expected, case.verdict, reason(article))
        cases.append(case)
    stories = _stories(cases, group) if group is not None else ()
    return RuleScore(rule_id, tuple(cases), stories)


def _stories(cases: Sequence[Case], group: Grouper) -> tuple[StoryScore, ...]:
    """Group every fired article at once, as the pipeline would see them, then count per
    labeled story the stories its articles ended in, and the strangers they met there."""
    fired = [c.article for c in cases if c.verdict.fired]
    story_of = {a.id: a.story for a in fired}
    group_of = {ident: number for number, ids in enumerate(group(fired)) for ident in ids}
    by_story: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        if case.article.story:
            by_story[case.article.story].append(case)
    scores = []
    for key in sorted(by_story):
        members = by_story[key]
        if len(members) < 2:
            continue
        groups = {group_of[c.article.id] for c in members if c.verdict.fired}
        strangers = sorted(
            ident
            for ident, number in group_of.items()
            if number in groups and story_of[ident] != key
        )
        scores.append(
            StoryScore(
                key=key,
                articles=len(members),
                positives=sum(c.expected for c in members),
                fired=sum(c.verdict.fired for c in members),
                alerts=len(groups),
                joined=tuple(strangers),
            )
        )
    return tuple(scores)
