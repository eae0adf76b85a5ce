"""Engines and URLs: SQLite by default, PostgreSQL with the same code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.dburl import check_data_dir
from monitor.errors import DatabaseUnusable
from monitor.hygiene import mask

_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> URL:
    """Accept the usual `postgresql://` and `sqlite:///` forms and pick the asyncio driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None and parsed.get_backend_name() not in ("postgresql", "sqlite"):
        # Any other dialect fails deep in SQLAlchemy with a missing driver module.
        raise DatabaseUnusable(
            f"database URL scheme {parsed.drivername!r} is not supported: "
            "use postgresql://user:password@host/name or sqlite:///path/to/file"
        )
    return parsed.set(drivername=driver) if driver else parsed


# A SQLite connection waits this long for another's write lock (also `busy_timeout`).
_SQLITE_CONNECT = {"timeout": 30}


def create_engine(url: str) -> AsyncEngine:
    parsed = async_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
        options = {"connect_args": _SQLITE_CONNECT}
    engine = create_async_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_database(parsed: URL) -> str | None:
    """The file of a SQLite database URL; None for a server or a database in memory."""
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def writer_engine(engine: AsyncEngine) -> Engine | None:
    """For a SQLite file, an engine with the plain driver, on the same file and with the
    same settings, for writes run in a thread (`Store.write_articles`); None otherwise."""
    if sqlite_database(engine.url) is None:
        return None
    writer = sqlalchemy.create_engine(
        engine.url.set(drivername="sqlite"), connect_args=_SQLITE_CONNECT
    )
    event.listen(writer, "connect", _sqlite_pragmas)
    return writer


def _ensure_sqlite_dir(parsed: URL) -> None:
    """Create the database's directory (0700) and file (0600) when missing: the archive,
    the recipients and the outbox are nobody else's business. SQLite gives its -wal and
    -shm files the database file's mode. Existing ones keep theirs: the operator chose."""
    database = sqlite_database(parsed)
    if database is None:
        return
    path = Path(database)
    check_data_dir(path)
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask; this is not
    except OSError as exc:
        why = (
            "is a file" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        )
        raise DatabaseUnusable(
            f"data directory {path.parent}: cannot be created ({why}); "
            "set MONITOR_DATA_DIR to a writable directory"
        ) from exc
    try:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite takes an empty file
    except OSError as exc:
        raise DatabaseUnusable(
            f"database {path}: cannot be created ({exc.strerror}); "
            "set MONITOR_DATA_DIR to a writable directory"
        ) from exc


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets `monitor sources` read while `monitor run` writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of the process
    # loses nothing, a power cut may lose the last commits (feeds are polled again anyway).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def display_url(url: str) -> str:
    """The database URL for messages: SQLAlchemy hides the password, `mask` the query's."""
    return mask(async_url(url).render_as_string(hide_password=True))


# SQLSTATE classes and codes of a server out of reach: 08 connection exceptions, 57P01-03
# (shut down by an administrator, crashed, not accepting connections yet).
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database server is out of reach (down, restarting, the
    connection cut), rather than that a statement was wrong."""
    if isinstance(exc, (OSError, InterfaceError, OperationalError)):
        return True
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        return (
            exc.connection_invalidated
            or isinstance(exc.orig, OSError)
            or state.startswith(_OUTAGE_STATES)
        )
    return False


def error_line(exc: BaseException) -> str:
    """The driver's own words about `exc`, first line only."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    words = str(cause).strip()
    return words.splitlines()[0] if words else type(cause).__name__
