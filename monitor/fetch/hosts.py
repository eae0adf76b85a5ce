"""Politeness per host: at most N requests at once, and a minimum gap between them.

A host that asked us to wait (429 or 503 with Retry-After) is *deferred*: a
request to it that would have to wait longer than `max_wait` is refused at
once with `HostDeferred` instead of sleeping, so one slow-down request never
holds a whole pass for an hour. The pipeline turns that into a summary
fallback for an article page, or a later `next_check_at` for a source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class HostDeferred(Exception):
    def __init__(self, host: str, seconds: float) -> None:
        self.host = host
        self.seconds = seconds
        super().__init__(f"{host} asked us to wait {seconds:.0f}s more (Retry-After)")


@dataclass
class _HostState:
    slots: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0  # the polite gap
    deferred_until: float = 0.0  # what the host asked for


class HostLimiter:
    def __init__(
        self,
        per_host: int,
        min_delay: float,
        max_wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_host = per_host
        self._min_delay = min_delay
        self._max_wait = max_wait
        self._clock = clock
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self._per_host))
        return state

    def defer(self, host: str, seconds: float) -> None:
        """Hold off every request to `host` for a while (after a 429 or 503)."""
        state = self._state(host)
        state.deferred_until = max(state.deferred_until, self._clock() + seconds)

    def deferred_for(self, host: str) -> float:
        """Seconds `host` still asked us to wait (0 when it did not)."""
        state = self._hosts.get(host)
        return max(0.0, state.deferred_until - self._clock()) if state else 0.0

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        state = self._state(host)
        self._refuse_if_deferred(host)
        async with state.slots:
            async with state.lock:
                self._refuse_if_deferred(host)
                wait = max(state.next_start, state.deferred_until) - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                state.next_start = self._clock() + self._min_delay
            yield

    def _refuse_if_deferred(self, host: str) -> None:
        remaining = self.deferred_for(host)
        if remaining > self._max_wait:
            raise HostDeferred(host, remaining)
