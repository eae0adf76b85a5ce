"""Alembic environment: runs migrations through the same asyncio engine as the service."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Connection

from alembic import context
from monitor.settings import Settings, default_url
from monitor.store.db import create_engine
from monitor.store.tables import UTCDateTime, metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    settings = Settings.from_env()
    return settings.database_url or default_url(settings.data_dir)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay plain SQLAlchemy: the UTC wrapper is a Python-side concern.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
