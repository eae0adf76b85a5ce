"""A process pool for CPU-bound steps (feed parsing, text extraction, an article's
fingerprint and matching: `monitor.extract.prepare`).

They are pure Python (feedparser, the matcher) or lxml-plus-Python (trafilatura) and
would otherwise stall the event loop for tens of milliseconds per document.

Every task has a deadline (EXTRACT_DEADLINE, 30 s): a hostile page can keep
lxml or a regex busy for minutes. A task past it is abandoned and the pool's
workers are killed and replaced (ProcessPoolExecutor cannot stop one task);
the other tasks that were running get one more try on the fresh pool. Each worker
has TASKS_PER_WORKER tasks submitted, so that it is handed its next task the moment
it is done with one; the deadline times a task from the moment its worker begins it
(the worker writes that time in memory shared with the pool), not its wait. A task
that grew its worker by more than TRIM_AFTER is followed by a trim of the worker's
malloc heap (glibc), so that a worker does not keep the size of its worst task.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import mmap
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

from monitor.errors import SourceError
from monitor.parse.limits import EXTRACT_DEADLINE

T = TypeVar("T")
# mallopt's parameters (malloc.h) and the value given to both: glibc's initial default.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MALLOC_THRESHOLD = 128 * 1024
# Growth of a worker's resident set over one task past which its malloc heap is trimmed:
# below it, trimming (a walk of the heap) would cost more than it returns.
TRIM_AFTER = 8 * 2**20
# Tasks submitted to each worker: the one it runs and the next. With one, a worker idled
# between tasks until the event loop came round to hand it another: about a tenth of a
# corpus pass, more while the loop was busy.
TASKS_PER_WORKER = 2
_startup_frozen = False  # see `freeze_startup_objects`
# In a worker: its pool's start times of tasks (`StartTimes.times`), stamped by each task.
_start_times: Any = None


class WorkerTaskFailed(SourceError):
    """A task ran past its deadline (`seconds`), or killed its worker twice (`seconds` None)."""

    kind = "worker"

    def __init__(self, source_id: str, message: str, seconds: float | None) -> None:
        super().__init__(source_id, message)
        self.seconds = seconds


def _start_worker(start_times: Any) -> None:
    """Runs once in each worker process."""
    global _start_times
    _start_times = start_times
    _exit_with_parent()
    # Import the heavy libraries once per worker, not on the first article.
    import feedparser  # noqa: F401
    import htmldate  # noqa: F401
    import trafilatura  # noqa: F401

    from monitor.extract.article import narrow_fallback_stopwords, skip_unused_metadata
    from monitor.match.lemmas import use_frugal_dictionaries

    narrow_fallback_stopwords()
    skip_unused_metadata()
    # Each worker lemmatizes (language, fingerprints, matching) with its own dictionaries:
    # the small ones, for 40 MB less per worker at about 4 ms more CPU per article.
    use_frugal_dictionaries()
    return_freed_memory()
    freeze_startup_objects()


def freeze_startup_objects() -> None:
    """Keep what the process made so far (its imported modules: most of its objects, and
    little of it garbage) out of the cycle collector, whose full collections would
    otherwise scan it all again, for as long as the process runs: 0.08 s of a corpus
    pass in the main process, a little in each worker.
    Call it once start-up is done and before anything that will become garbage in a
    cycle is made (the rules, the lemmatizer's dictionaries): frozen cycles are never
    freed. Only the first call in a process freezes: start-up happens once, and a process
    that runs several passes in turn (the tests) does not keep each pass's garbage."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


def return_freed_memory() -> None:
    """Have glibc's malloc give large freed blocks back to the system at once. By default
    it raises its thresholds after a large free (up to 32 MB), so that a process keeps
    the peak of its largest page (extracted, or fetched) for good."""
    try:
        libc = _libc()
        libc.mallopt(_M_TRIM_THRESHOLD, _MALLOC_THRESHOLD)
        libc.mallopt(_M_MMAP_THRESHOLD, _MALLOC_THRESHOLD)
    except (OSError, AttributeError):
        pass  # not glibc: its defaults stand


def _run_and_trim(slot: int | None, task: Callable[[], T]) -> T:
    """`task`, in a worker, its start written in its `slot` of the start times; then,
    when it grew the worker's resident set by more than TRIM_AFTER, the free memory
    inside malloc's heap is given back (`_trim`)."""
    if slot is not None:
        _start_times[slot] = time.monotonic()
    before = _resident()
    try:
        return task()
    finally:
        after = _resident()
        if before is not None and after is not None and after - before > TRIM_AFTER:
            _trim()


def _trim() -> None:
    """glibc's malloc_trim(0). The thresholds of `return_freed_memory` only return the
    top of the heap: what a parse (feedparser's many small strings, lxml's nodes) freed
    below objects still alive stays resident, and a worker keeps its worst task's size.
    Only glibc has malloc_trim: elsewhere (musl, macOS) there is nothing to do, so a
    missing library or function is ignored."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def _resident() -> int | None:
    """This process's resident set in bytes (Linux's /proc); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * mmap.PAGESIZE
    except (OSError, ValueError, IndexError):
        return None


def _exit_with_parent() -> None:
    # A worker blocks on its task queue, whose pipe it holds both ends of: if the service
    # is killed (SIGKILL, the OOM killer), nothing would ever wake it. Watch the parent.
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class StartTimes:
    """When each task in flight began in its worker (`time.monotonic`, one clock for
    every process of the machine), in memory the workers share: a slot per task, 0.0
    until its worker begins it. A slot is free again once its task is over, not when its
    caller stops waiting: a task cancelled while queued may still run and write it."""

    def __init__(self, context: Any, size: int) -> None:
        self.times = context.RawArray("d", size)
        self._free = list(range(size))

    def take(self) -> int | None:
        """A free slot, cleared; None when every slot is taken (then the task is timed
        from its submission, as if its worker began it at once)."""
        if not self._free:
            return None
        slot = self._free.pop()
        self.times[slot] = 0.0
        return slot

    def give_back(self, slot: int | None) -> None:
        if slot is not None:
            self._free.append(slot)  # from the executor's thread too: one atomic call

    def began(self, slot: int | None) -> float | None:
        if slot is None:
            return None
        return float(self.times[slot]) or None


class WorkerPool:
    def __init__(self, workers: int | None = None, deadline: float = EXTRACT_DEADLINE) -> None:
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.deadline = deadline
        self._executor: ProcessPoolExecutor | None = None
        self._start_times: StartTimes  # the executor's, made with it
        # One semaphore per event loop: the pool outlives loops (tests, `monitor run --once`).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: forking a process that runs an event loop and threads is unsafe.
            context = multiprocessing.get_context("forkserver")
            self._start_times = StartTimes(context, self.workers * TASKS_PER_WORKER)
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._start_times.times,),
            )
        return self._executor

    def start(self) -> None:
        """Start every worker now rather than at the first task, without waiting for them:
        their start-up (`_start_worker`'s imports) overlaps what the caller does next."""
        executor = self._pool()
        for _ in range(self.workers):
            executor.submit(os.getpid)  # workers start on demand: one per task queued

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` in a worker; WorkerTaskFailed past the deadline, or
        when the task's worker died on a fresh pool too (out of memory on a hostile page)."""
        task = partial(function, *args, **kwargs)
        source_id = str(kwargs.get("source_id", ""))
        try:
            return await self._run_once(task, source_id)
        except BrokenProcessPool:
            pass  # a worker died, maybe killed for another task's deadline: one more try
        try:
            return await self._run_once(task, source_id)
        except BrokenProcessPool:
            name = getattr(function, "__name__", "task")
            raise WorkerTaskFailed(source_id, f"{name} killed its worker twice", None) from None

    async def _run_once(self, task: partial[T], source_id: str) -> T:
        loop = asyncio.get_running_loop()
        slots = self._slots.setdefault(loop, asyncio.Semaphore(self.workers * TASKS_PER_WORKER))
        async with slots:
            executor, start_times = self._pool(), self._start_times
            slot = start_times.take()
            try:
                submitted = executor.submit(_run_and_trim, slot, task)
            except BaseException:
                start_times.give_back(slot)
                raise
            submitted.add_done_callback(lambda _: start_times.give_back(slot))
            try:
                future = asyncio.wrap_future(submitted)
                return await self._within_deadline(future, start_times, slot)
            except TimeoutError:
                self._replace(executor, kill=True)
                name = getattr(task.func, "__name__", "task")
                message = f"{name} took longer than {self.deadline:g} s; its worker was replaced"
                raise WorkerTaskFailed(source_id, message, self.deadline) from None
            except BrokenProcessPool:
                self._replace(executor, kill=False)
                raise

    async def _within_deadline(
        self, future: asyncio.Future[T], start_times: StartTimes, slot: int | None
    ) -> T:
        """The task's result; TimeoutError once it has run `deadline` seconds in its
        worker, or waited TASKS_PER_WORKER deadlines for one (the tasks ahead of it are
        timed: a wait that long means a pool that no longer works)."""
        submitted = time.monotonic()
        try:
            while True:
                began = start_times.began(slot)
                if began is not None:
                    limit = began + self.deadline
                elif slot is None:
                    limit = submitted + self.deadline
                else:
                    limit = submitted + self.deadline * TASKS_PER_WORKER
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                done, _ = await asyncio.wait((future,), timeout=remaining)
                if done:
                    return future.result()
        finally:
            future.cancel()  # a task not begun yet is not run: its caller is gone

    def _replace(self, executor: ProcessPoolExecutor, *, kill: bool) -> None:
        """Drop `executor` (the next task starts a fresh pool), unless already replaced."""
        if kill:
            # No public API stops a running task: kill the workers, the executor then breaks.
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
        if self._executor is executor:
            self.close()
        else:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self, *, wait: bool = False) -> None:
        """Stop the workers; tasks not started are cancelled. With `wait`, for a process
        about to exit, return once the workers and the executor's manager thread are done:
        at exit, Python 3.11 wakes that thread through a pipe that the thread may be
        closing at that very moment, and prints a traceback (EBADF) when it loses."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
