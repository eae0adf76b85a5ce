"""The worker pool starts its workers at the first task, or before it when asked
(`monitor run` does, so that their start-up overlaps its own imports)."""

from __future__ import annotations

import multiprocessing
import operator
import os

from monitor.extract.pool import WorkerPool


async def test_a_pool_starts_its_workers_at_the_first_task() -> None:
    before = set(multiprocessing.active_children())
    workers = WorkerPool(2)
    try:
        assert set(multiprocessing.active_children()) == before
        assert await workers.run(operator.add, 1, 2) == 3
        assert len(set(multiprocessing.active_children()) - before) >= 1
    finally:
        workers.close()


async def test_a_started_pool_runs_its_workers_before_any_task() -> None:
    before = set(multiprocessing.active_children())
    workers = WorkerPool(2)
    try:
        workers.start()
        started = set(multiprocessing.active_children()) - before
        assert len(started) == 2
        assert await workers.run(os.getpid) in {process.pid for process in started}
    finally:
        workers.close()
