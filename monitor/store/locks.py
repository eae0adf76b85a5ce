"""What several instances on one PostgreSQL database coordinate with: advisory locks
and LISTEN/NOTIFY. On SQLite only one service runs (see `instance`), so both are no-ops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import error_line
from monitor.store.outbox import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

# PostgreSQL's advisory locks are keyed by two integers: veille's own class (b"veil"),
# so as not to meet another application's locks on a shared server, and one per name.
_LOCK_CLASS = int.from_bytes(b"veil", "big")
LOCKS = {"migrate": 1, "sources": 2, "articles": 3, "digests": 4}
LISTEN_RETRY = (1.0, 30.0)  # seconds before reconnecting the listener: first, longest


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[None]:
    """Hold the advisory lock `name` on a connection of its own for the block.

    A session lock outlives the connection's transactions, so it is released
    explicitly; a connection that could not release it is dropped, which does."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = {"cls": _LOCK_CLASS, "obj": LOCKS[name]}
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:cls, :obj)"), key)
        await connection.commit()
        try:
            yield
        finally:
            try:
                await connection.execute(text("SELECT pg_advisory_unlock(:cls, :obj)"), key)
                await connection.commit()
            except (OSError, DBAPIError):
                await connection.invalidate()


def lock_statement(name: str) -> Any:
    """The statement that takes `name` for the rest of a PostgreSQL transaction."""
    return text("SELECT pg_advisory_xact_lock(:cls, :obj)").bindparams(
        cls=_LOCK_CLASS, obj=LOCKS[name]
    )


async def listen_outbox(engine: AsyncEngine, queued: asyncio.Event) -> None:
    """Set `queued` on every notification of the outbox channel, until cancelled.

    A lost connection (a server restart) is logged and opened again with back-off;
    `queued` is set on each reconnection, as notifications may have been missed."""
    if engine.dialect.name != "postgresql":
        return
    delay = LISTEN_RETRY[0]
    while True:
        try:
            await _listen(engine, queued)
            log.warning("outbox listener: connection to the database lost; reconnecting")
            delay = LISTEN_RETRY[0]
        except Exception as exc:  # whatever the outage looks like, the listener carries on
            log.warning(
                "outbox listener: database unreachable (%s); retrying in %.0fs",
                error_line(exc),
                delay,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, LISTEN_RETRY[1])


async def _listen(engine: AsyncEngine, queued: asyncio.Event) -> None:
    """LISTEN on one connection until it is lost."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        closed = asyncio.Event()
        raw.add_termination_listener(lambda *_: closed.set())
        await raw.add_listener(OUTBOX_CHANNEL, lambda *_: queued.set())
        log.info("outbox listener: listening on %s", OUTBOX_CHANNEL)
        queued.set()  # what was queued while it was not listening
        await closed.wait()
