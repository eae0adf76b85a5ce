"""Replay rules over the archive, sending nothing: what would have fired, and what changed.

An operator tunes a rule, then runs `monitor backtest RULE --since 30d` to see
which stored articles it would match now, with the passages, next to what the
rule matched when those articles arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime

from monitor.config import Config
from monitor.match import Document, RuleMatch, vocabulary
from monitor.match.types import EVENT
from monitor.notify.typography import plural
from monitor.store import Store, StoredArticle, StoredVocabulary


@dataclass(frozen=True)
class Hit:
    article: StoredArticle
    match: RuleMatch
    new: bool  # did not match when the article arrived


@dataclass
class RuleReport:
    rule_id: str
    hits: list[Hit] = field(default_factory=list)
    lost: list[StoredArticle] = field(default_factory=list)  # matched then, not now

    @property
    def stories(self) -> int:
        return len({h.article.story_id or -h.article.id for h in self.hits})


@dataclass
class Backtest:
    articles: int
    reports: dict[str, RuleReport]
    without_text: int  # skipped: their text was dropped by retention


async def run_backtest(
    store: Store,
    config: Config,
    rule_ids: Sequence[str],
    since: datetime | None,
    progress: Callable[[int], None] | None = None,
) -> Backtest:
    """Each rule's matches over the archive, against what it matched then.

    An article's stored vocabulary tells whether the rules can fire on it at all; only
    those that they can (or whose vocabulary is missing or of an older analysis, which
    is then computed again and stored) are read and matched.
    """
    reports = {rule_id: RuleReport(rule_id) for rule_id in rule_ids}
    before = await store.stored_matches(since)
    seen = 0
    async for page in store.stored_vocabularies(since):
        seen += len(page)
        # Decoding vocabularies and matching are CPU work: in a thread, so that the loop
        # serves (the console, the service's other tasks) meanwhile.
        wanted, stale = await asyncio.to_thread(_to_replay, config, rule_ids, page)
        found = await store.stored_articles(wanted)
        renewed = await asyncio.to_thread(replay, config, found, before, reports, stale)
        await store.save_vocabularies(renewed)
        if progress:
            progress(len(page))
    return Backtest(seen, reports, await store.count_articles(since, pruned=True))


def replay(
    config: Config,
    articles: Sequence[StoredArticle],
    before: Mapping[int, set[str]],
    reports: dict[str, RuleReport],
    stale: Set[int] = frozenset(),
) -> dict[int, StoredVocabulary]:
    """Match `articles` against the rules of `reports` and add to them what fires now (new
    when `before`, the rules that matched on arrival, lacks it) and what no longer does;
    the vocabularies of the `stale` ones, computed again."""
    rule_ids = list(reports)
    sources = {s.id: s for s in config.sources}
    renewed: dict[int, StoredVocabulary] = {}
    for article in articles:
        source = sources.get(article.source_id)
        document = Document(
            title=article.title,
            text=article.text,
            source_id=article.source_id,
            source_name=article.source_name,
            lang=article.lang,
            tags=source.tags if source else (),
            published=article.published,
        )
        analysis = config.ruleset.analysis_of(document)
        if article.id in stale:
            words = vocabulary.encode(vocabulary.vocabulary_of(analysis))
            renewed[article.id] = (vocabulary.VERSION, words)
        matches = config.ruleset.match_rules(document, rule_ids, analysis)
        _record(reports, article, matches, before.get(article.id, set()))
    return renewed


def _to_replay(
    config: Config, rule_ids: Sequence[str], page: Sequence[tuple[int, StoredVocabulary | None]]
) -> tuple[list[int], set[int]]:
    """The articles of a page to read and match: those the rules may fire on, and those
    whose vocabulary is missing or of an older analysis (the second list, to renew)."""
    stale = {i for i, stored in page if stored is None or stored[0] != vocabulary.VERSION}
    wanted = [i for i, stored in page if i in stale or _may_fire(config, rule_ids, stored)]
    return wanted, stale


def _may_fire(config: Config, rule_ids: Sequence[str], stored: StoredVocabulary | None) -> bool:
    return stored is None or config.ruleset.can_fire(vocabulary.decode(stored[1]), rule_ids)


def _record(
    reports: dict[str, RuleReport],
    article: StoredArticle,
    matches: Sequence[RuleMatch],
    earlier: set[str],
) -> None:
    """What each rule would alert on now, and what it alerted on then but would not now."""
    fired = {m.rule_id: m for m in matches if m.tier == EVENT}
    for rule_id, report in reports.items():
        if rule_id in fired:
            report.hits.append(Hit(article, fired[rule_id], new=rule_id not in earlier))
        elif rule_id in earlier:
            report.lost.append(article)


def render(result: Backtest, passages: int = 1, date: Callable[[datetime], str] = str) -> list[str]:
    lines = [f"replayed {plural(result.articles, 'stored article', lang='en')}; nothing was sent"]
    if result.without_text:
        lines.append(
            f"skipped {result.without_text} older articles whose text retention dropped "
            "([retention] keep_text)"
        )
    for report in result.reports.values():
        new = sum(h.new for h in report.hits)
        lines.append(
            f"\n{report.rule_id}: {plural(len(report.hits), 'article', lang='en')} in "
            f"{plural(report.stories, 'story', 'stories', lang='en')} "
            f"({new} new, {len(report.lost)} no longer matching)"
        )
        for hit in sorted(report.hits, key=lambda h: h.article.date, reverse=True):
            mark = "+" if hit.new else " "
            lines.append(
                f" {mark} {date(hit.article.date)}  {hit.article.source_name}: {hit.article.title}"
            )
            lines.append(f"      {hit.article.url}")
            lines += [f"      « {p.highlighted()} »" for p in hit.match.passages[:passages]]
        for article in report.lost:
            lines.append(f" - {date(article.date)}  {article.source_name}: {article.title}")
    if any(r.hits or r.lost for r in result.reports.values()):
        lines.append(
            "\n+ would fire now but did not when the article arrived; - fired then, would not now"
        )
    return lines
