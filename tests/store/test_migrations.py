"""The schema: alembic migrations run on an empty database and match the models; an empty
database created from the models matches them too."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from alembic import command
from monitor.store.db import create_engine
from monitor.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    schema_is_current,
    upgrade,
    upgrade_async,
)
from monitor.store.revision import HEAD_REVISION
from monitor.store.tables import metadata

from support import PG_URL, REPO, reset_postgres


async def _schema_state(url: str) -> tuple[list[object], set[str], str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        return diff, tables, await current_revision(engine)
    finally:
        await engine.dispose()


async def test_upgrade_head_on_an_empty_database_matches_the_models(db_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, db_url)
    diff, tables, revision = await _schema_state(db_url)
    assert diff == []
    assert {"sources", "articles", "sightings", "matches", "alerts", "deliveries"} <= tables
    assert revision == head_revision()


async def test_downgrade_to_base_and_back(db_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, db_url)
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "base")
    _, tables, revision = await _schema_state(db_url)
    assert tables <= {"alembic_version"} and revision is None
    await asyncio.to_thread(upgrade, db_url)
    diff, _, revision = await _schema_state(db_url)
    assert diff == [] and revision == head_revision()


async def test_an_empty_database_gets_the_models_schema_at_the_head_revision(db_url: str) -> None:
    import asyncio

    await upgrade_async(db_url)
    diff, tables, revision = await _schema_state(db_url)
    assert diff == [] and revision == HEAD_REVISION
    assert set(metadata.tables) | {"alembic_version"} == tables
    # The migrations know its constraints and indexes by name: they undo it, and redo it.
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "base")
    _, tables, revision = await _schema_state(db_url)
    assert tables <= {"alembic_version"} and revision is None
    await upgrade_async(db_url)  # alembic's version table is there: alembic migrates
    diff, _, revision = await _schema_state(db_url)
    assert diff == [] and revision == HEAD_REVISION


@pytest.mark.postgres
async def test_instances_starting_together_create_the_schema_once() -> None:
    import asyncio

    if not PG_URL:
        pytest.skip("needs MONITOR_TEST_DATABASE_URL")
    await reset_postgres(PG_URL)
    # The second waits on the advisory lock, then finds the tables and migrates nothing.
    await asyncio.gather(*(upgrade_async(PG_URL) for _ in range(3)))
    diff, tables, revision = await _schema_state(PG_URL)
    assert diff == [] and revision == HEAD_REVISION
    assert set(metadata.tables) | {"alembic_version"} == tables


def test_creating_a_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    script = (
        "import asyncio, sys\n"
        "from monitor.store.migrate import upgrade_async, schema_is_current\n"
        f"asyncio.run(upgrade_async({url!r}))\n"
        f"print(asyncio.run(schema_is_current({url!r})), 'alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.split() == ["True", "False"]


def test_the_head_revision_known_without_alembic_is_alembics_head() -> None:
    head = head_revision()
    assert head == HEAD_REVISION, f"set HEAD_REVISION in monitor/store/revision.py to {head!r}"


async def test_the_schema_is_current_only_at_the_head_revision(db_url: str) -> None:
    import asyncio

    assert not await schema_is_current(db_url)  # empty: no alembic_version table
    await asyncio.to_thread(upgrade, db_url, "0003")
    assert not await schema_is_current(db_url)
    await upgrade_async(db_url)  # migrates: the schema is not current
    assert await schema_is_current(db_url)
    _, _, revision = await _schema_state(db_url)
    assert revision == HEAD_REVISION


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "monitor").rglob("__init__.py")
    }
    assert on_disk <= listed, (
        f"add to pyproject.toml [tool.setuptools] packages: {on_disk - listed}"
    )
    assert {"monitor._alembic", "monitor._alembic.versions"} <= listed
