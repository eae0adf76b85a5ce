"""A process pool for CPU-bound steps (feed parsing, text extraction).

Both are pure Python (feedparser) or lxml-plus-Python (trafilatura) and would
otherwise stall the event loop for tens of milliseconds per document.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


def _start_worker() -> None:
    """Runs once in each worker process."""
    _exit_with_parent()
    # Import the heavy libraries once per worker, not on the first article.
    import feedparser  # noqa: F401
    import trafilatura  # noqa: F401


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


class WorkerPool:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: forking a process that runs an event loop and threads is unsafe.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker
            )
        return self._executor

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), partial(function, *args, **kwargs))
        except BrokenProcessPool:
            # A worker died (out of memory on a hostile page, say): start a fresh pool once.
            self.close()
            return await loop.run_in_executor(self._pool(), partial(function, *args, **kwargs))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
