"""Engines and URLs: SQLite by default, PostgreSQL with the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.errors import DatabaseUnusable

DEFAULT_FILE = "veille.sqlite3"
_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / DEFAULT_FILE).resolve()}"


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


def create_engine(url: str) -> AsyncEngine:
    parsed = async_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
        options = {"connect_args": {"timeout": 30}}
    engine = create_async_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _ensure_sqlite_dir(parsed: URL) -> None:
    if parsed.database and parsed.database != ":memory:":
        directory = Path(parsed.database).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "is a file" if isinstance(exc, FileExistsError) else exc.strerror
            raise DatabaseUnusable(
                f"data directory {directory}: cannot be created ({why}); "
                "set MONITOR_DATA_DIR to a writable directory"
            ) from exc


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets `monitor sources` read while `monitor run` writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def display_url(url: str) -> str:
    return async_url(url).render_as_string(hide_password=True)
