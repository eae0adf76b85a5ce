"""Drain the outbox: render each due delivery for its channel, send it, record the attempt.

A failed send is retried with exponential back-off and jitter, up to
`[delivery] max_attempts`; then the delivery is marked failed, stays visible
(`monitor alerts --failed`, the digest's health section) and is never dropped;
`monitor alerts --retry` queues it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from monitor.config import RuleConfig
from monitor.config.alerts import RateLimit
from monitor.config.service import DEFAULT_LEASE, DeliveryTable
from monitor.display import shorten
from monitor.log import log_context, log_time
from monitor.match import RuleMatch
from monitor.notify.channels import Channel, Message, SendResult
from monitor.notify.escape import one_line, sanitize
from monitor.notify.render import Rendered, Renderer, beyond_title
from monitor.notify.typography import french
from monitor.observe.recorder import Recorder
from monitor.store import AlertView, ArticleView, PendingDelivery, Store
from monitor.store.db import is_outage

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class DigestRenderer(Protocol):
    async def render_run(self, run_id: int, fmt: str) -> Rendered: ...


@dataclass
class DispatchSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0

    def add(self, other: DispatchSummary) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.deferred += other.deferred


class Dispatcher:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        renderer: Renderer,
        rules: Mapping[str, RuleConfig],
        settings: DeliveryTable,
        rate_limits: Mapping[str, RateLimit] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        digests: DigestRenderer | None = None,
        recorder: Recorder | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.channels = channels
        self.renderer = renderer
        self.rules = rules
        self.settings = settings
        self.rate_limits = rate_limits or {}
        self.clock = clock
        self._rng = rng or random.Random()
        self.digests = digests
        self.recorder = recorder or Recorder()
        # How long a delivery taken for an attempt stays this dispatcher's: should the
        # process die while sending, another instance tries again this long after.
        self.lease = lease
        # Several jobs drain (after a poll, on a timer, for a digest): one drain at a time
        # per process; each delivery is claimed in the database, against other instances.
        self._lock = asyncio.Lock()

    async def drain(self, limit: int = 1000) -> DispatchSummary:
        """Send every delivery that is due now (at most `limit`)."""
        async with self._lock:
            return await self._drain(limit)

    async def _drain(self, limit: int) -> DispatchSummary:
        summary = DispatchSummary()
        # A claimed delivery is due again only when its attempt is recorded as one to
        # retry later, or when its lease lapses: each is handled once per drain.
        for _ in range(limit):
            now = self.clock()
            job = await self.store.claim_delivery(now, now + self.lease)
            if job is None:
                break
            with log_context(delivery_id=job.id):
                done = await self._deliver(job)
            summary.add(done)
            self._count(job.channel, done)
        return summary

    def _count(self, channel: str, done: DispatchSummary) -> None:
        for outcome in ("sent", "retrying", "failed", "deferred"):
            if getattr(done, outcome):
                self.recorder.delivered(channel, outcome)

    async def _deliver(self, job: PendingDelivery) -> DispatchSummary:
        channel = self.channels.get(job.channel)
        if channel is None:
            return await self._record(
                job,
                SendResult(False, f"channel {job.channel!r} is no longer configured"),
                final=True,
            )
        if await self._over_rate_limit(job):
            return DispatchSummary(deferred=1)
        try:
            message = await self.message_for(job, channel)
        except Exception as exc:  # a template or data bug must not lose the delivery
            if is_outage(exc):
                raise  # not the delivery's fault: it is tried again once the claim lapses
            log.exception("cannot render delivery %s", job.id)
            return await self._record(
                job, SendResult(False, f"rendering failed: {type(exc).__name__}: {exc}")
            )
        with self.recorder.timed("send"):
            result = await channel.send(message)
        return await self._record(job, result)

    async def _over_rate_limit(self, job: PendingDelivery) -> bool:
        limit = self.rate_limits.get(job.channel)
        if limit is None:
            return False
        now = self.clock()
        if await self.store.sent_count(job.channel, now - limit.per) < limit.count:
            return False
        await self.store.defer_delivery(job.id, now + limit.per / limit.count)
        return True

    async def _record(
        self, job: PendingDelivery, result: SendResult, final: bool = False
    ) -> DispatchSummary:
        now = self.clock()
        if result.ok:
            await self.store.record_attempt(job.id, now, ok=True, error=None, retry_at=None)
            log.info("delivered %s %s to %s", job.kind, job.id, job.channel)
            return DispatchSummary(sent=1)
        attempts = job.attempts + 1
        retry_at = (
            None
            if final or attempts >= self.settings.max_attempts
            else now + self._backoff(attempts)
        )
        await self.store.record_attempt(
            job.id, now, ok=False, error=result.error, retry_at=retry_at
        )
        if retry_at is None:
            log.error(
                "delivery %s to %s failed for good after %d attempts: %s",
                job.id,
                job.channel,
                attempts,
                result.error,
            )
            return DispatchSummary(failed=1)
        log.warning(
            "delivery %s to %s failed (attempt %d), retrying at %s: %s",
            job.id,
            job.channel,
            attempts,
            log_time(retry_at),
            result.error,
        )
        return DispatchSummary(retrying=1)

    def _backoff(self, attempts: int) -> timedelta:
        base = self.settings.backoff.total_seconds() * 2 ** (attempts - 1)
        capped = min(base, self.settings.max_backoff.total_seconds())
        return timedelta(seconds=capped * self._rng.uniform(0.8, 1.2))

    async def message_for(self, job: PendingDelivery, channel: Channel) -> Message:
        if job.kind == "alert" and job.alert_id is not None:
            view = await self.store.alert_view(job.alert_id)
            rendered = self.renderer.render("alert", channel.format, self.alert_context(view))
        elif job.kind == "digest" and job.digest_run_id is not None and self.digests is not None:
            rendered = await self.digests.render_run(job.digest_run_id, channel.format)
        elif job.kind == "notice":
            # A notice quotes errors that remote servers wrote: sanitize like article text.
            # Its subject is veille's own words and a source's name: typeset.
            payload = json.loads(job.payload or "{}")
            subject = french(one_line(str(payload.get("subject", "veille"))))
            text = sanitize(str(payload.get("text", "")))
            return Message(subject, text, "text", text, job.message_id)
        else:
            raise ValueError(f"unknown delivery kind {job.kind!r}")
        # The templates start with their own heading: chat services should not add the subject.
        return Message(
            rendered.subject,
            rendered.body,
            rendered.format,
            rendered.text,
            job.message_id,
            title_in_body=True,
        )

    def alert_context(self, view: AlertView) -> dict[str, object]:
        return alert_context(view, self.rules.get(view.rule_id))


_FLAG_NOTES = {
    "robots": "robots.txt interdit la lecture de la page",
    "rate-limited": "le site limite les requêtes",
    "paywall": "article réservé aux abonnés",
}


def article_note(article: ArticleView) -> str:
    """What a reader should know about where the text came from, in a few words."""
    if article.extraction == "watch":
        return "changement détecté sur la page surveillée"
    reasons = [_FLAG_NOTES[f] for f in article.flags if f in _FLAG_NOTES]
    if article.extraction == "summary":
        reasons = ["résumé du flux seulement", *reasons]
    return "\u202f; ".join(reasons)  # our words: French spacing, as in the templates


LABEL_WIDTH = 40  # a rule's title longer than this is cut for a label, unless it has one


def rule_label(rule: RuleConfig) -> str:
    """What names the rule where room is short (an email subject): its `short_title`."""
    return french(rule.short_title or shorten(rule.title, LABEL_WIDTH))


def alert_context(view: AlertView, rule: RuleConfig | None) -> dict[str, object]:
    """What the alert templates see (a rule removed from the config shows as its id)."""
    match = RuleMatch.from_dict(view.details)
    return {
        "rule": {
            "id": view.rule_id,
            "title": french(rule.title) if rule else view.rule_id,
            "label": rule_label(rule) if rule else view.rule_id,
            "description": rule.description if rule else "",
            "severity": rule.severity if rule else "normal",
        },
        "article": view.article,
        "note": article_note(view.article),
        # The title is the heading already: a passage that repeats it is left out.
        "passages": beyond_title(match.passages, view.article.title),
        "clauses": list(match.clauses),
        "also": list(view.also),
        "alert_id": view.alert_id,  # for `monitor feedback ALERT_ID wrong|right`
    }
