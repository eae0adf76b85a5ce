"""The rule playground (`Monitor.try_query`) on a large archive: it replays at most
PLAYGROUND_ARTICLES, the most recent, and the event loop keeps serving while it runs."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from monitor.api import PLAYGROUND_ARTICLES

from support.console import RULE_ID, Filled, fill

COPIED = (
    "url, guid, source_id, story_id, title, author, site_name, lang, published_at, "
    "first_seen_at, updated_at, summary, text, content_hash, extraction, flags, fingerprint"
)


def grow_archive(database: Path, at_least: int) -> int:
    """Copy the stored articles (each copy a new URL) until there are `at_least`."""
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT count(*) FROM articles").fetchone()
        while count < at_least:
            db.execute(
                f"INSERT INTO articles (canonical_url, {COPIED}) "
                f"SELECT canonical_url || '#copy-{count}-' || id, {COPIED} FROM articles"
            )
            (count,) = db.execute("SELECT count(*) FROM articles").fetchone()
    return int(count)


def article_ids(database: Path) -> list[int]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]


async def filled_archive(tmp_path: Path, web_server, pool) -> tuple[Filled, Path]:
    database = tmp_path / "db.sqlite3"
    return await fill(tmp_path, web_server, pool, f"sqlite:///{database}"), database


async def test_the_replay_keeps_to_the_most_recent_articles(tmp_path, web_server, pool) -> None:
    filled, database = await filled_archive(tmp_path, web_server, pool)
    total = grow_archive(database, 20)
    async with filled.open(pool) as api:
        capped = await api.try_query(RULE_ID, "Microsoft", days=3650, limit=7)
        whole = await api.try_query(RULE_ID, "Microsoft", days=3650, limit=total)
    newest = set(article_ids(database)[-7:])
    assert capped.articles == 7 and capped.capped
    assert capped.hits and {h.article.id for h in capped.hits} <= newest
    assert whole.articles == total and not whole.capped
    assert len(whole.hits) > len(capped.hits)


async def test_the_loop_serves_while_a_large_replay_runs(tmp_path, web_server, pool) -> None:
    filled, database = await filled_archive(tmp_path, web_server, pool)
    total = grow_archive(database, PLAYGROUND_ARTICLES + 1000)
    loop = asyncio.get_running_loop()
    async with filled.open(pool) as api:
        replay = asyncio.create_task(api.try_query(RULE_ID, "Microsoft OR Armées", days=3650))
        started, waits = loop.time(), []
        while not replay.done():  # what a concurrent request needs: turns of the loop
            before = loop.time()
            await asyncio.sleep(0.005)
            waits.append(loop.time() - before)
        trial, took = await replay, loop.time() - started
    assert trial.articles == PLAYGROUND_ARTICLES < total and trial.capped
    # The replay is long enough that holding the loop for it would show, and the loop
    # turned all along: never held longer than a fraction of it.
    assert took > 0.5, f"the replay took {took:.2f}s: too short to tell"
    assert max(waits) < took / 4, f"the loop waited {max(waits):.2f}s of {took:.2f}s"
