"""Build digests from the store: create due periods with their deliveries, render them at send time.

A period is (end of the previous digest, latest scheduled time]. Its run and
its deliveries are written in one transaction, and a run is unique per
(digest, period end), so a period is never digested twice. A digest missed
while the service was down is caught up on the next start: one digest
covering everything since the last one, not one per missed morning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import Config, DigestConfig
from monitor.digest.periods import latest_fire, previous_fire
from monitor.log import log_time
from monitor.match import Passage, RuleMatch
from monitor.notify.render import Rendered, Renderer, beyond_title
from monitor.notify.typography import french, plural
from monitor.store import DigestEntry, FailedDelivery, FailingSource, Store

log = logging.getLogger(__name__)
FEEDBACK_WINDOW = timedelta(days=30)  # the health section counts wrong verdicts this far back


@dataclass(frozen=True)
class DigestStory:
    entry: DigestEntry
    passage: Passage | None

    @property
    def outlets(self) -> tuple[str, ...]:
        return self.entry.outlets


@dataclass(frozen=True)
class DigestGroup:
    rule_id: str
    title: str
    description: str
    stories: tuple[DigestStory, ...]
    related: tuple[DigestStory, ...] = ()  # stories only the rule's related query matched


# What a failed delivery was, as the health section counts them.
_KINDS = {
    "alert": ("alerte", "alertes"),
    "digest": ("synthèse", "synthèses"),
    "notice": ("avis de service", "avis de service"),
}


@dataclass(frozen=True)
class FailedSends:
    """Failed deliveries alike (kind, channel, attempts, error), counted: twelve alerts that
    one mail server refused are one line of the health section, not twelve."""

    kind: str
    channel: str
    attempts: int
    error: str | None
    count: int

    @property
    def what(self) -> str:
        singular, several = _KINDS.get(self.kind, (self.kind, self.kind))
        return plural(self.count, singular, several)


def count_alike(failed: tuple[FailedDelivery, ...]) -> tuple[FailedSends, ...]:
    """One entry per kind of failure, in the order they first appear (newest first)."""
    counts: dict[tuple[str, str, int, str | None], int] = {}
    for d in failed:
        key = (d.kind, d.channel, d.attempts, d.error)
        counts[key] = counts.get(key, 0) + 1
    return tuple(FailedSends(*key, count) for key, count in counts.items())


@dataclass(frozen=True)
class DigestContent:
    name: str
    title: str
    start: datetime
    end: datetime
    groups: tuple[DigestGroup, ...]
    failing_sources: tuple[FailingSource, ...] = ()
    failed_deliveries: tuple[FailedDelivery, ...] = ()
    generated: datetime | None = None
    wrong_verdicts: tuple[tuple[str, int], ...] = ()  # (rule title, "wrong" verdicts) in 30 days

    @property
    def stories(self) -> int:
        return sum(len(g.stories) for g in self.groups)

    @property
    def articles(self) -> int:
        return sum(s.entry.articles for g in self.groups for s in g.stories)

    @property
    def related(self) -> int:
        return sum(len(g.related) for g in self.groups)

    @property
    def empty(self) -> bool:
        return not self.groups

    @property
    def failed_sends(self) -> tuple[FailedSends, ...]:
        return count_alike(self.failed_deliveries)

    @property
    def health(self) -> bool:
        return bool(self.failing_sources or self.failed_deliveries or self.wrong_verdicts)


@dataclass
class Digests:
    store: Store
    config: Config
    renderer: Renderer
    clock: Callable[[], datetime]

    def rule_ids(self, digest: DigestConfig) -> list[str]:
        if digest.rules:
            return list(digest.rules)
        return [r.id for r in self.config.rules if self.config.mode_of(r) in ("digest", "both")]

    async def create_due(self) -> list[int]:
        """Create a run (and its deliveries) for every digest whose scheduled time has passed."""
        now = self.clock()
        runs = []
        for digest in self.config.digests.values():
            end = latest_fire(digest.cron, digest.timezone, now)
            if end is None:
                continue
            last = await self.store.last_digest_run(digest.name)
            if last is not None and last.period_end >= end:
                continue
            start = last.period_end if last else previous_fire(digest.cron, digest.timezone, end)
            run = await self._create(digest, start, end)
            if run is not None:
                runs.append(run)
        return runs

    async def send_now(self, name: str) -> int | None:
        """A digest of everything since the last one, now (`monitor digest --send`)."""
        digest = self.config.digests[name]
        now = self.clock()
        last = await self.store.last_digest_run(name)
        start = last.period_end if last else previous_fire(digest.cron, digest.timezone, now)
        return await self._create(digest, start, now, force=True)

    async def _create(
        self, digest: DigestConfig, start: datetime, end: datetime, force: bool = False
    ) -> int | None:
        rule_ids = self.rule_ids(digest)
        entries = await self.store.digest_entries(start, end, rule_ids)
        entries += await self.store.related_entries(start, end, rule_ids)
        send = bool(entries) or digest.send_empty or force
        channels = digest.channels if send else ()
        run = await self.store.create_digest_run(
            digest.name, start, end, len(entries), channels, self.clock()
        )
        log.info(
            "digest %s for %s → %s: %d stories%s",
            digest.name,
            log_time(start),
            log_time(end),
            len(entries),
            "" if send else " (empty: not sent)",
        )
        return run

    async def content(self, name: str, start: datetime, end: datetime) -> DigestContent:
        digest = self.config.digests[name]
        rule_ids = self.rule_ids(digest)
        entries = await self.store.digest_entries(start, end, rule_ids)
        related = await self.store.related_entries(start, end, rule_ids)
        now = self.clock()
        failing = await self.store.failing_sources(now - self.config.service.health.failing_after)
        failed = await self.store.failed_deliveries()
        wrong = await self.store.wrong_counts(now - FEEDBACK_WINDOW)
        return DigestContent(
            name,
            french(digest.title),
            start,
            end,
            self._groups(entries, related),
            tuple(failing),
            tuple(failed),
            now,
            tuple((self._title(r), n) for r, n in sorted(wrong.items(), key=lambda i: i[0])),
        )

    def _groups(
        self, entries: list[DigestEntry], related: list[DigestEntry]
    ) -> tuple[DigestGroup, ...]:
        alerted, shown = _by_rule(entries), _by_rule(related)
        groups = []
        for rule_id in sorted(alerted.keys() | shown.keys(), key=self._rule_order):
            rule = next((r for r in self.config.rules if r.id == rule_id), None)
            groups.append(
                DigestGroup(
                    rule_id,
                    self._title(rule_id),
                    rule.description if rule else "",
                    alerted.get(rule_id, ()),
                    shown.get(rule_id, ()),
                )
            )
        return tuple(groups)

    def _title(self, rule_id: str) -> str:
        rule = next((r for r in self.config.rules if r.id == rule_id), None)
        return french(rule.title) if rule else rule_id

    def _rule_order(self, rule_id: str) -> tuple[int, str]:
        severity = {"critical": 0, "high": 1, "normal": 2, "low": 3}
        rule = next((r for r in self.config.rules if r.id == rule_id), None)
        return (severity.get(rule.severity, 2) if rule else 4, rule_id)

    def render(self, content: DigestContent, fmt: str) -> Rendered:
        return self.renderer.render("digest", fmt, {"digest": content})

    async def render_run(self, run_id: int, fmt: str) -> Rendered:
        run = await self.store.digest_run(run_id)
        return self.render(await self.content(run.digest, run.period_start, run.period_end), fmt)

    async def preview(self, name: str) -> DigestContent:
        """What the next digest would hold if it were sent now."""
        digest = self.config.digests[name]
        now = self.clock()
        last = await self.store.last_digest_run(name)
        start = last.period_end if last else previous_fire(digest.cron, digest.timezone, now)
        return await self.content(name, start, now)


def _by_rule(entries: list[DigestEntry]) -> dict[str, tuple[DigestStory, ...]]:
    """Entries as digest stories, per rule, newest first."""
    by_rule: dict[str, list[DigestStory]] = {}
    for entry in entries:
        passages = beyond_title(RuleMatch.from_dict(entry.details).passages, entry.title)
        by_rule.setdefault(entry.rule_id, []).append(
            DigestStory(entry, passages[0] if passages else None)
        )
    return {
        rule_id: tuple(
            sorted(stories, key=lambda s: (s.entry.date, s.entry.story_id), reverse=True)
        )
        for rule_id, stories in by_rule.items()
    }
