"""Which sources this instance polls: those it holds the lease of.

Instances sharing a database each take the due sources nobody holds, renew
their leases while polling them, and give them back when done. An instance that
dies keeps its leases only until they lapse; then another takes the sources.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from monitor.config import SourceConfig
from monitor.observe.recorder import Recorder
from monitor.store import Store
from monitor.store.db import error_line

log = logging.getLogger(__name__)


def spread(source_id: str) -> float:
    """A fraction in [0, 1) fixed per source: its share of the configured jitter, so that
    sources of one interval, polled together at start, drift apart and stay apart."""
    return int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:4], "big") / 2**32


def due_times(sources: Sequence[SourceConfig], jitter: float, now: datetime) -> dict[str, datetime]:
    """For each source, the latest next-check time at which it is due now."""
    return {s.id: now - s.interval * jitter * spread(s.id) for s in sources}


class SourceLeases:
    def __init__(
        self,
        store: Store,
        owner: str,
        lease: timedelta,
        clock: Callable[[], datetime],
        recorder: Recorder | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease
        self.clock = clock
        self.recorder = recorder or Recorder()

    async def claim(
        self,
        ids: Sequence[str],
        due: dict[str, datetime] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """The sources of `ids` this instance now holds (only the due ones, with `due`;
        at most `limit`, besides those taken over from an instance whose lease lapsed)."""
        now = self.clock()
        claims = await self.store.claim_sources(ids, self.owner, now, now + self.lease, due, limit)
        for claim in claims:
            if claim.taken_from:
                log.warning(
                    "source %s: taken over from %s, whose lease lapsed",
                    claim.source_id,
                    claim.taken_from,
                )
                self.recorder.lease_handed_off()
        return [claim.source_id for claim in claims]

    @asynccontextmanager
    async def held(self, ids: Sequence[str]) -> AsyncIterator[None]:
        """Renew the leases of `ids` while the block runs, and give them back after it."""
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew(ids, done))
        try:
            yield
        finally:
            # Stopped between renewals, never cancelled inside one: a cancelled statement
            # can leave its connection in a transaction that holds SQLite's write lock.
            done.set()
            await renewing
            try:
                await self.store.release_sources(ids, self.owner)
            except Exception as exc:  # the database is gone: the leases lapse by themselves
                log.warning(
                    "could not give back the leases of %s: %s", ", ".join(ids), error_line(exc)
                )

    async def _renew(self, ids: Sequence[str], done: asyncio.Event) -> None:
        while not await _set_within(done, self.lease.total_seconds() / 3):
            try:
                held = await self.store.renew_sources(ids, self.owner, self.clock() + self.lease)
            except Exception as exc:  # an outage: try again at the next turn
                log.warning("could not renew the leases of %s: %s", ", ".join(ids), error_line(exc))
                continue
            lost = sorted(set(ids) - set(held))
            if lost:
                log.warning(
                    "lease of %s lapsed during the poll; another instance may poll it too",
                    ", ".join(lost),
                )


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` is set within `seconds`."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
