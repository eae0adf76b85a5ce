"""One service per SQLite database: an exclusive lock on a file next to it.

SQLite has no row locks to share the work with, so a second `monitor run` on
the same file is refused, in one line naming the process that holds it.
PostgreSQL needs no such lock: instances share the work (see `leases`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.errors import DatabaseUnusable
from monitor.store.db import async_url, display_url, sqlite_database


def lock_path(url: str) -> Path | None:
    """The lock file of a SQLite database; None when there is none to take."""
    database = sqlite_database(async_url(url))
    return None if database is None else Path(f"{database}.lock")


@contextmanager
def single_service(url: str) -> Iterator[bool]:
    """Hold the database's lock file for the block (True; False on PostgreSQL, which
    needs none); DatabaseUnusable if another process has it. The kernel drops the lock
    with the process, however it ends: no stale lock."""
    path = lock_path(url)
    if path is None:
        yield False
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise DatabaseUnusable(
                f"database {display_url(url)} is in use by another `monitor run` (pid {holder}, "
                f"lock {path}): SQLite serves one instance; use PostgreSQL to run several"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield True
    finally:
        os.close(fd)
