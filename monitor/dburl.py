"""What a database URL names, read without SQLAlchemy: the settings (before anything is
imported) and the listings' sqlite3 reader need to know a SQLite URL's file, and whether
it could ever be there."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.errors import DatabaseUnusable

# `sqlite:///PATH` as SQLAlchemy reads it (`sqlite:////abs`, `sqlite+aiosqlite:///rel`);
# a URL with a query or %-escapes is left to it.
_PLAIN_SQLITE = re.compile(r"sqlite(?:\+\w+)?:///([^?%]+)")


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///PATH`); None for any other: a server,
    a database in memory, a URL with a query."""
    found = _PLAIN_SQLITE.fullmatch(url)
    if found is None or found.group(1) == ":memory:":
        return None
    return Path(found.group(1))


def check_data_dir(database: Path) -> None:
    """Raise DatabaseUnusable when the database's directory is a file."""
    if database.parent.exists() and not database.parent.is_dir():
        raise DatabaseUnusable(
            f"data directory {database.parent}: cannot be created (is a file); "
            "set MONITOR_DATA_DIR to a writable directory"
        )
