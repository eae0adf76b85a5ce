"""What the pipeline and the dispatcher tell the metrics, and nothing else.

`Recorder` does nothing: it is what one pass outside the service (`monitor demo`, the
tests) uses. `monitor.observe.metrics.Metrics` counts for Prometheus. This module
imports nothing of the project but the records, so that the lower layers may call it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from monitor.records import SourceOutcome

# The stages that are timed: each has a histogram series.
STAGES = ("fetch", "parse", "extract", "match", "store", "send")


class Recorder:
    def source_polled(self, outcome: SourceOutcome) -> None:
        """One source's pass: how its fetch ended and the articles it brought."""

    def matched(self, rule_ids: Sequence[str], alerts: int) -> None:
        """An article written: the rules it matched for the first time, the alerts raised."""

    def delivered(self, channel: str, outcome: str) -> None:
        """A delivery attempt: `sent`, `retrying`, `failed` or `deferred` (rate limit)."""

    def lease_handed_off(self) -> None:
        """This instance took a source over from one whose lease lapsed (a dead instance)."""

    def stage_seconds(self, stage: str, seconds: float) -> None:
        """How long one run of a stage of `STAGES` took."""

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds(stage, time.perf_counter() - started)
