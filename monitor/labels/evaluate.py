"""Run the configured rules over labeled articles, as the pipeline would run them.

An article's document is its title and text, in its labeled language or else the
detected one (as the pipeline does for a page that names none), with each rule's
filters applied. Stories are formed the way the pipeline forms them (the event first,
then the text), oldest article first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta

from monitor.cluster import StoryCandidate, fingerprint
from monitor.cluster.events import When
from monitor.cluster.stories import Stories, events_of
from monitor.config import Config
from monitor.labels.files import LabeledArticle
from monitor.labels.score import RuleScore, Verdict, score_rule
from monitor.match import Document, RuleMatch
from monitor.match.types import EVENT, RELATED

LanguageOf = Callable[[str], str | None]
# Labeled articles are read together, as a first pass over feeds would see them: an
# undated one is placed in time by that sighting only.
SEEN = datetime(2100, 1, 1, tzinfo=UTC)


def label_keys(config: Config, rule_id: str) -> tuple[str, ...]:
    """The columns that hold a rule's labels: its ``label`` key, then its id."""
    rule = config.rule(rule_id)
    return (rule.label, rule.id) if rule.label else (rule.id,)


def evaluate(
    config: Config,
    articles: Sequence[LabeledArticle],
    rule_ids: Sequence[str],
    language_of: LanguageOf,
) -> list[RuleScore]:
    documents = {a.id: document_of(a, language_of) for a in articles}
    return [_score(config, rule_id, articles, documents) for rule_id in rule_ids]


def _score(
    config: Config,
    rule_id: str,
    articles: Sequence[LabeledArticle],
    documents: dict[str, Document],
) -> RuleScore:
    matches = {a.id: _match(config, rule_id, documents[a.id]) for a in articles}
    has_related = config.ruleset.has_related(rule_id)

    def verdict(article: LabeledArticle) -> Verdict:
        match = matches[article.id]
        fired = match is not None and match.tier == EVENT
        related = (match is not None and match.tier == RELATED) if has_related else None
        return Verdict(fired, related)

    def reason(article: LabeledArticle) -> str:
        return config.ruleset.explain(rule_id, documents[article.id]).reason

    def group(fired: Sequence[LabeledArticle]) -> list[list[str]]:
        return group_stories(fired, matches, documents, config.event_windows)

    return score_rule(rule_id, label_keys(config, rule_id), articles, verdict, reason, group)


def document_of(article: LabeledArticle, language_of: LanguageOf) -> Document:
    lang = article.lang or language_of(f"{article.title}\n{article.text}")
    return Document(title=article.title, text=article.text, lang=lang, published=article.published)


def _match(config: Config, rule_id: str, document: Document) -> RuleMatch | None:
    found = config.ruleset.match_rules(document, [rule_id])
    return found[0] if found else None


def group_stories(
    fired: Sequence[LabeledArticle],
    matches: dict[str, RuleMatch | None],
    documents: dict[str, Document],
    event_windows: Mapping[str, timedelta],
) -> list[list[str]]:
    """The stories the pipeline would make of ``fired``, oldest first (ids per story)."""
    stories = Stories(event_windows=event_windows)
    members: dict[int, list[str]] = {}
    ordered = sorted(fired, key=lambda a: (a.published or SEEN.date(), a.id))
    for number, article in enumerate(ordered, start=1):
        match, document = matches[article.id], documents[article.id]
        published = (
            datetime.combine(article.published, time(12), UTC) if article.published else None
        )
        when = When(SEEN, published)
        events = events_of([match] if match else [])
        fp = fingerprint(document.title, document.text, document.lang)
        story = stories.decide(fp, when, "labeled", events).story_id or number
        stories.add(StoryCandidate(story, number, fp, when.order, "labeled"), when, events)
        members.setdefault(story, []).append(article.id)
    return list(members.values())
