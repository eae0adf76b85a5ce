"""The worker pool: it starts its workers at the first task, or before it when asked
(`monitor run` does, so that their start-up overlaps its own imports), gives back what
a task left in a worker's malloc heap, keeps the workers' start-up (and that of the
process that runs passes) out of the cycle collector, hands each worker its next task
before it is done with one, and times a task's deadline from when its worker begins it."""

from __future__ import annotations

import asyncio
import gc
import mmap
import multiprocessing
import operator
import os
import subprocess
import sys
import time

import pytest

from monitor.extract.pool import TRIM_AFTER, WorkerPool, WorkerTaskFailed

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc: Linux"
)


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


# Run in the worker: pinned blocks stay alive between tasks, as a parse's survivors do.
_pinned: list[bytes] = []


def leave_holes(megabytes: int) -> None:
    """Fill about `megabytes` MB of malloc's heap with 4 KB blocks (under the mmap
    threshold), keep one in 64: the rest is freed below live blocks, which only
    malloc_trim gives back."""
    blocks = [bytes([n % 256]) * 4_000 for n in range(megabytes * 2**20 // 4_000)]
    _pinned.extend(blocks[::64])


def resident() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * mmap.PAGESIZE


@linux_only
async def test_a_task_that_grew_its_worker_is_followed_by_a_trim() -> None:
    pool = WorkerPool(workers=1)
    try:
        await pool.run(leave_holes, 1)  # the worker started, its heap warm
        before = await pool.run(resident)
        await pool.run(leave_holes, 64)
        after = await pool.run(resident)
    finally:
        pool.close()
    # Untrimmed, the 63 freed blocks in 64 stayed resident: some 60 MB more.
    assert after - before < TRIM_AFTER


@linux_only
async def test_a_task_that_did_not_grow_its_worker_is_not_trimmed() -> None:
    pool = WorkerPool(workers=1)
    try:
        await pool.run(leave_holes, 1)
        before = await pool.run(resident)
        await pool.run(leave_holes, 4)  # 4 MB of holes: under TRIM_AFTER, left alone
        after = await pool.run(resident)
    finally:
        pool.close()
    assert after - before > 2 * 2**20


async def test_a_worker_keeps_its_start_up_out_of_the_collector() -> None:
    """What a worker imported at start-up is frozen: full collections do not scan it."""
    workers = WorkerPool(1)
    try:
        frozen = await workers.run(gc.get_freeze_count)
    finally:
        workers.close()
    assert frozen > 10_000  # the imported modules' objects, at least


def test_a_service_process_keeps_its_start_up_out_of_the_collector() -> None:
    code = (
        "import gc\n"
        "from monitor.api import prepare_service_process\n"
        "before = gc.get_freeze_count()\n"
        "prepare_service_process()\n"
        "first = gc.get_freeze_count()\n"
        "made_since = [[n] for n in range(1000)]\n"
        "prepare_service_process()\n"
        "print(before, first, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    before, first, second = map(int, done.stdout.split())
    assert before == 0
    assert first > 10_000
    assert second == first  # once a process: a later pass's objects stay collectable


async def test_a_pool_closed_for_exit_leaves_no_worker_and_no_manager() -> None:
    """`close(wait=True)` (the `run` command's last step) returns once the workers and
    the executor's manager thread are gone, so that the interpreter's exit has nothing
    left to wake."""
    before = set(multiprocessing.active_children())
    workers = WorkerPool(2)
    workers.start()
    assert await workers.run(operator.add, 1, 2) == 3
    executor = workers._executor
    assert executor is not None
    manager = executor._executor_manager_thread
    workers.close(wait=True)
    assert set(multiprocessing.active_children()) <= before
    assert manager is not None and not manager.is_alive()


def stamp(seconds: float) -> tuple[float, float]:
    """In a worker: sleep, and say when it began and ended (one clock for all processes)."""
    began = time.monotonic()
    time.sleep(seconds)
    return began, time.monotonic()


async def test_a_worker_is_handed_its_next_task_while_the_event_loop_is_busy() -> None:
    """Each worker has its next task at hand: it does not wait for the event loop (busy
    writing, say) to come round and submit it."""
    workers = WorkerPool(1)
    try:
        await workers.run(operator.add, 0, 0)  # the worker started
        first = asyncio.ensure_future(workers.run(stamp, 0.2))
        second = asyncio.ensure_future(workers.run(stamp, 0.2))
        await asyncio.sleep(0.05)  # both submitted
        time.sleep(1.0)  # noqa: ASYNC251 - on purpose: the loop is busy for longer than both tasks
        (_, first_end), (second_begin, _) = await first, await second
    finally:
        workers.close()
    assert second_begin - first_end < 0.5  # not after the loop's second


async def test_the_deadline_times_a_task_from_when_its_worker_begins_it() -> None:
    """The second task waits behind the first, longer than the deadline in all: its wait
    is not counted. A task that runs past the deadline itself still fails."""
    workers = WorkerPool(1, deadline=1.5)
    try:
        await workers.run(operator.add, 0, 0)
        results = await asyncio.gather(workers.run(stamp, 0.9), workers.run(stamp, 0.9))
        assert results[1][0] >= results[0][1]  # one worker: the second began after the first
        with pytest.raises(WorkerTaskFailed, match=r"took longer than 1\.5 s"):
            await workers.run(stamp, 10)
    finally:
        workers.close()
