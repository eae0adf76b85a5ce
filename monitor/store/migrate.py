"""Schema migrations with alembic, callable from the `monitor` command.

alembic is imported only when a migration runs: a database already at `HEAD_REVISION`
is recognised with SQLAlchemy alone, so that commands which only read the store start
fast, and an empty one gets the models' schema at that revision at once (alembic's five
migrations took a first pass 0.25 s and 15 MB more).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import monitor
from monitor.errors import DatabaseUnusable
from monitor.store.db import async_url, create_engine, display_url, error_line
from monitor.store.locks import lock_statement
from monitor.store.revision import HEAD_REVISION
from monitor.store.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_PACKAGE = Path(monitor.__file__).resolve().parent

# alembic's own table, as alembic creates it: a database created from the models is
# stamped at the head revision, so that the next migration starts from there.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def script_location() -> Path:
    """The repository's alembic/ in a checkout; its packaged copy in an installed wheel."""
    for candidate in (_PACKAGE.parent / "alembic", _PACKAGE / "_alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("alembic migration scripts not found next to the monitor package")


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking; runs its own event loop, so call it outside one (or via `upgrade_async`).

    Every command meets the database here first: a server that is down, a database that
    does not exist or a file that cannot be written become one `DatabaseUnusable` line.
    """
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except (OSError, DBAPIError) as exc:
        raise DatabaseUnusable(f"database {display_url(url)}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """The driver's own words, first line only, with a hint for the usual causes."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = error_line(exc)
    if isinstance(cause, ConnectionRefusedError) or "refused" in text.lower():
        return f"{text} (is the server running there? check MONITOR_DATABASE_URL)"
    if "does not exist" in text:
        return f"{text} (create it, or check the name in MONITOR_DATABASE_URL)"
    if "unable to open database file" in text:
        return f"{text} (is its directory writable? check MONITOR_DATA_DIR)"
    return text


async def upgrade_async(url: str) -> None:
    """`upgrade`, from a running event loop. A database holding none of the schema's
    tables gets them from the models, stamped at `HEAD_REVISION`, in one transaction.
    On PostgreSQL that, or the migration, runs under an advisory lock: of several
    instances starting together, one creates or migrates and the others wait, then find
    the schema up to date."""
    if await schema_is_current(url):
        return
    postgresql = async_url(url).get_backend_name() == "postgresql"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if postgresql:
                await connection.execute(lock_statement("migrate"))
            done = await connection.run_sync(_create_if_empty)
            if not done and postgresql:
                await connection.run_sync(_upgrade_on, url)
                done = True
    except (OSError, DBAPIError) as exc:
        raise DatabaseUnusable(f"database {display_url(url)}: {_reason(exc)}") from exc
    finally:
        await engine.dispose()
    if not done:  # SQLite: alembic migrates on a connection of its own, this one closed
        await asyncio.to_thread(upgrade, url)


def _create_if_empty(connection: Connection) -> bool:
    """The models' schema, stamped at the head revision, when the database holds none of
    its tables (other applications' tables may be there); False otherwise."""
    ours = {*metadata.tables, _VERSION_TABLE.name}
    if ours & set(inspect(connection).get_table_names()):
        return False
    metadata.create_all(connection)
    _VERSION_TABLE.create(connection)
    connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))
    return True


async def schema_is_current(url: str) -> bool:
    """Whether the database is at `HEAD_REVISION`, read without alembic. False too when
    it cannot be read (no database yet, no server...): the migration that follows then
    creates the schema, or says what is wrong."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return list(found.scalars()) == [HEAD_REVISION]
    except (OSError, DBAPIError):
        return False
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, url: str) -> None:
    from alembic import command

    config = alembic_config(url)
    config.attributes["connection"] = connection  # alembic/env.py migrates on it
    command.upgrade(config, "head")


def head_revision() -> str | None:
    """The head revision as alembic finds it in the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
