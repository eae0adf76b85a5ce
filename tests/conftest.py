"""Shared fixtures: real databases, real HTTP and SMTP servers on loopback, a worker pool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from support import PG_URL, CountingPool, reset_postgres
from support.servers import SmtpServer, WebServer


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands under test configure logging; put it back so that tests stay independent."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


# -- databases --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite in a temporary file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'veille.sqlite3'}"
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need MONITOR_TEST_DATABASE_URL "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    asyncio.run(reset_postgres(PG_URL))
    return PG_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'veille.sqlite3'}"


# -- worker pool ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pool() -> Iterator[CountingPool]:
    """One real process pool for the whole run (starting workers costs about a second)."""
    workers = CountingPool()
    yield workers
    workers.close()


# -- HTTP -------------------------------------------------------------------------------------


@pytest.fixture
async def web_server() -> AsyncIterator[WebServer]:
    site = WebServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", site._dispatch)
    site.server = TestServer(app, host="127.0.0.1")
    await site.server.start_server()
    yield site
    await site.server.close()


# -- SMTP -------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
