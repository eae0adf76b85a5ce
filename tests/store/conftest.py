"""A migrated store with three loopback sources (s0, s1, s2) and one rule, on SQLite and
on PostgreSQL (``db_url``), for the store's modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.preflight import load_checked
from monitor.store import Store, upgrade_async

from support import loopback_sources, write


@pytest.fixture
def config(tmp_path: Path) -> Config:
    feeds = {f"s{n}": f"http://127.0.0.1:9/s{n}.xml" for n in range(3)}
    write(tmp_path / "sources.toml", loopback_sources(feeds))
    write(tmp_path / "alerts" / "rules.toml", "[[rule]]\nid = 'r'\ntitle = 'R'\nquery = 'x'\n")
    return load_checked(tmp_path, {})


@pytest.fixture
async def store(
    request: pytest.FixtureRequest, db_url: str, config: Config
) -> AsyncIterator[Store]:
    """The sources are synced at the test module's NOW, the time its tests start from."""
    await upgrade_async(db_url)
    opened = Store.open(db_url)
    await opened.sync_sources(config.sources, request.module.NOW)
    yield opened
    await opened.close()
