"""Prometheus metrics of one service, in a registry of its own (not the global one), so
that tests and several services in one process do not mix their counters.

Counters move as the work is done (`Recorder`); the gauges that describe the database
(outbox, source health) are read from it when /metrics is scraped.

    monitor_fetches_total{source, outcome}     outcome: ok, not_modified, or the error
                                               kind (http, timeout, parse...); the 304
                                               ratio is not_modified over the sum
    monitor_articles_total{source, kind}       kind: new, updated
    monitor_matches_total{rule}                first match of an article by a rule
    monitor_alerts_total                       alerts raised (one per story and rule)
    monitor_deliveries_total{channel, outcome} outcome: sent, retrying, failed, deferred
    monitor_stage_duration_seconds{stage}      histogram: fetch, parse, extract, match,
                                               store, send
    monitor_outbox_pending                     deliveries waiting to be sent
    monitor_outbox_oldest_pending_age_seconds  age of the oldest of them (0 when none)
    monitor_source_up{source}                  1 when the last poll succeeded
    monitor_source_consecutive_failures{source}
    monitor_source_last_success_timestamp_seconds{source}
    monitor_lease_handoffs_total               sources this instance took over from a dead one
    monitor_instance_info{instance_id, config_version}  always 1

Label values are bounded: a source id, rule id or channel that is not in the loaded
configuration counts as "other" (they are the operator's names, never article text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from monitor.observe.recorder import STAGES, Recorder
from monitor.records import SourceOutcome
from monitor.store.views import SourceState

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]
OTHER = "other"
# From 5 ms (a match) to a minute (a slow page behind a timeout).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Bounded:
    """Label values from a known set; anything else is "other"."""

    def __init__(self) -> None:
        self.known: frozenset[str] = frozenset()

    def __call__(self, value: str) -> str:
        return value if value in self.known else OTHER


class Metrics(Recorder):
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sources, self.rules, self.channels = _Bounded(), _Bounded(), _Bounded()
        self.stages = _Bounded()
        self.stages.known = frozenset(STAGES)
        r = self.registry
        self.fetches = Counter(
            "monitor_fetches", "Source polls by how the fetch ended", ["source", "outcome"],
            registry=r,
        )  # fmt: skip
        self.articles = Counter(
            "monitor_articles", "Articles stored, new or updated", ["source", "kind"], registry=r
        )
        self.matches = Counter("monitor_matches", "Articles matched, by rule", ["rule"], registry=r)
        self.alerts = Counter("monitor_alerts", "Alerts raised", registry=r)
        self.deliveries = Counter(
            "monitor_deliveries", "Delivery attempts by channel and outcome",
            ["channel", "outcome"], registry=r,
        )  # fmt: skip
        self.durations = Histogram(
            "monitor_stage_duration_seconds", "Time spent in each stage", ["stage"],
            buckets=BUCKETS, registry=r,
        )  # fmt: skip
        self.outbox_pending = Gauge(
            "monitor_outbox_pending", "Deliveries waiting to be sent", registry=r
        )
        self.outbox_oldest = Gauge(
            "monitor_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery waiting to be sent (0 when none)",
            registry=r,
        )
        self.source_up = Gauge(
            "monitor_source_up", "1 when the source's last poll succeeded", ["source"], registry=r
        )
        self.source_failures = Gauge(
            "monitor_source_consecutive_failures", "Failed polls in a row", ["source"], registry=r
        )
        self.source_success = Gauge(
            "monitor_source_last_success_timestamp_seconds",
            "When the source was last read (Unix time)", ["source"], registry=r,
        )  # fmt: skip
        self.lease_handoffs = Counter(
            "monitor_lease_handoffs",
            "Sources this instance took over from an instance whose lease lapsed",
            registry=r,
        )
        self.instance = Gauge(
            "monitor_instance_info", "This instance and the version of its configuration",
            ["instance_id", "config_version"], registry=r,
        )  # fmt: skip

    def configure(
        self,
        instance_id: str,
        config_version: str,
        sources: Iterable[str],
        rules: Iterable[str],
        channels: Iterable[str],
    ) -> None:
        """The names that labels may take, from the configuration now loaded."""
        self.sources.known = frozenset(sources)
        self.rules.known = frozenset(rules)
        self.channels.known = frozenset(channels)
        self.instance.clear()
        self.instance.labels(instance_id, config_version).set(1)

    # -- Recorder --------------------------------------------------------------------------

    def source_polled(self, outcome: SourceOutcome) -> None:
        if outcome.skipped:
            return
        source = self.sources(outcome.source_id)
        if not outcome.ok:
            result = outcome.error_kind or "error"
        else:
            result = "not_modified" if outcome.not_modified else "ok"
        self.fetches.labels(source, result).inc()
        self.articles.labels(source, "new").inc(outcome.new_articles)
        self.articles.labels(source, "updated").inc(outcome.updated_articles)

    def matched(self, rule_ids: Sequence[str], alerts: int) -> None:
        for rule_id in rule_ids:
            self.matches.labels(self.rules(rule_id)).inc()
        self.alerts.inc(alerts)

    def delivered(self, channel: str, outcome: str) -> None:
        self.deliveries.labels(self.channels(channel), outcome).inc()

    def lease_handed_off(self) -> None:
        self.lease_handoffs.inc()

    def stage_seconds(self, stage: str, seconds: float) -> None:
        self.durations.labels(self.stages(stage)).observe(seconds)

    # -- read from the database when scraped --------------------------------------------------

    def set_outbox(self, pending: int, oldest: datetime | None, now: datetime) -> None:
        self.outbox_pending.set(pending)
        self.outbox_oldest.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)

    def set_sources(self, states: Sequence[SourceState]) -> None:
        """The health of the configured sources (a removed one's series goes away)."""
        for gauge in (self.source_up, self.source_failures, self.source_success):
            gauge.clear()
        for state in states:
            if state.id not in self.sources.known:
                continue
            polled = state.last_attempt_at is not None
            self.source_up.labels(state.id).set(int(polled and not state.consecutive_failures))
            self.source_failures.labels(state.id).set(state.consecutive_failures)
            if state.last_success_at is not None:
                self.source_success.labels(state.id).set(state.last_success_at.timestamp())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
