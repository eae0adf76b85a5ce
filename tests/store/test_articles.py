"""Writing an article, on SQLite and PostgreSQL: its story, its row and its sighting, each
in as few statements as it takes (a pass writes hundreds of articles)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from monitor.records import Article, Extraction
from monitor.store import ArticleBatch, Store
from monitor.store.tables import ArticleRow, SightingRow, StoryRow
from monitor.store.views import EVENT, ArticleWrite, KnownArticle, RuleHit, WriteOutcome

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


def article(slug: str, source_id: str = "s0", text: str = "Le texte.") -> Article:
    url = f"https://example.org/{slug}"
    return Article(
        url=url,
        canonical_url=url,
        source_id=source_id,
        source_name=source_id.upper(),
        title=f"Titre {slug}",
        text=text,
        summary="Le résumé.",
        content_hash=f"hash of {text}",
        extraction=Extraction.PAGE,
    )


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The statements the store sends while in the block, each as its verb and, for a
    write, its table: "INSERT stories", "UPDATE articles", "SELECT"."""
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        verb = words[0].upper()
        table = {"INSERT": 2, "UPDATE": 1}.get(verb)  # INSERT INTO t, UPDATE t
        sent.append(f"{verb} {words[table]}" if table else verb)

    # Every engine's: a SQLite file's article writes run on an engine of their own.
    event.listen(Engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", keep)


async def write_one(store: Store, write: ArticleWrite) -> WriteOutcome:
    def one(batch: ArticleBatch) -> WriteOutcome:
        with batch.item():
            return batch.write_article(write)

    return await store.write_articles(one)


async def test_a_new_article_is_written_after_its_new_story_once(store: Store) -> None:
    with statements(store) as sent:
        outcome = await write_one(store, ArticleWrite(article("a"), "key-a", "item-a", NOW))
    # The story's row first, then the article's with its story: no UPDATE after.
    assert [s for s in sent if s.startswith(("INSERT", "UPDATE"))] == [
        "INSERT stories",
        "INSERT articles",
        "INSERT sightings",
    ]
    async with store.transaction() as session:
        row = await session.get_one(ArticleRow, outcome.article_id)
        story = await session.get_one(StoryRow, outcome.story_id)
    assert outcome.created and row.story_id == outcome.story_id
    assert story.title == "Titre a" and story.first_seen_at == story.last_seen_at == NOW


async def test_an_article_joining_a_story_moves_its_last_sighting(store: Store) -> None:
    first = await write_one(store, ArticleWrite(article("a"), "key-a", "item-a", NOW))
    joining = ArticleWrite(article("b", "s1"), "key-b", "item-b", LATER, story_id=first.story_id)
    with statements(store) as sent:
        second = await write_one(store, joining)
    assert second.story_id == first.story_id
    assert "INSERT stories" not in sent and "UPDATE articles" not in sent
    async with store.transaction() as session:
        story = await session.get_one(StoryRow, first.story_id)
        rows = (await session.scalars(select(ArticleRow).order_by(ArticleRow.id))).all()
    assert (story.first_seen_at, story.last_seen_at) == (NOW, LATER)
    assert [r.story_id for r in rows] == [first.story_id] * 2


async def test_an_updated_article_stays_in_its_story(store: Store) -> None:
    first = await write_one(store, ArticleWrite(article("a"), "key-a", "item-a", NOW))
    other = await write_one(store, ArticleWrite(article("b"), "key-b", "item-b", NOW))
    known = (await store.known_articles(["https://example.org/a"])).get("https://example.org/a")
    assert known is not None and known.story_id == first.story_id
    edited = article("a", text="Le texte, corrigé.")
    # Another story proposed for it does not move an article out of the one it is in.
    update = ArticleWrite(
        edited, "key-a", "item-a2", LATER, story_id=other.story_id, existing=known
    )
    second = await write_one(store, update)
    assert (second.article_id, second.story_id, second.created) == (
        first.article_id,
        first.story_id,
        False,
    )
    async with store.transaction() as session:
        row = await session.get_one(ArticleRow, first.article_id)
        story = await session.get_one(StoryRow, first.story_id)
        untouched = await session.get_one(StoryRow, other.story_id)
    assert row.text == "Le texte, corrigé." and row.updated_at == LATER
    assert row.story_id == first.story_id
    assert (story.last_seen_at, untouched.last_seen_at) == (LATER, NOW)


async def test_a_sighting_is_one_statement_new_or_seen_again(store: Store) -> None:
    first = await write_one(store, ArticleWrite(article("a"), "key-a", "item-a", NOW))
    other = await write_one(store, ArticleWrite(article("b"), "key-b", "item-b", NOW))
    for entry, item, article_id in (
        ("key-c", "item-c", first.article_id),  # a new entry of the source
        ("key-a", "item-a2", other.article_id),  # an entry seen before, now pointing elsewhere
    ):
        with statements(store) as sent:
            await store.write_articles(
                lambda batch: batch.add_sighting("s0", entry, item, article_id, LATER)  # noqa: B023
            )
        # SQLite's batch opens its transaction with a BEGIN: PostgreSQL's needs none.
        assert [s for s in sent if s != "BEGIN"] == ["INSERT sightings"]
    seen = await store.seen_entries("s0", ["key-a", "key-b", "key-c"])
    assert seen == {
        "key-a": ("item-a2", other.article_id),
        "key-b": ("item-b", other.article_id),
        "key-c": ("item-c", first.article_id),
    }
    async with store.transaction() as session:
        times = dict(
            (await session.execute(select(SightingRow.entry_key, SightingRow.seen_at))).all()
        )
    assert times == {"key-a": LATER, "key-b": NOW, "key-c": LATER}


async def test_the_sources_of_a_feeds_stored_articles_come_in_few_queries(store: Store) -> None:
    """Reading a feed asks which of its entries another outlet already gave: one query
    per 500 addresses, not one per entry."""
    await write_one(store, ArticleWrite(article("a", "s1"), "key-a", "item-a", NOW))
    await write_one(store, ArticleWrite(article("b", "s2"), "key-b", "item-b", NOW))
    asked = [f"https://example.org/{slug}" for slug in ["a", "b", *map(str, range(999))]]
    with statements(store) as sent:
        owners = await store.article_sources(asked)
    assert owners == {"https://example.org/a": "s1", "https://example.org/b": "s2"}
    assert sent.count("SELECT") == 3
    assert await store.article_sources([]) == {}


async def test_what_updates_need_of_a_batchs_articles_comes_in_few_queries(store: Store) -> None:
    hits = (
        RuleHit("r-event", {}, (), EVENT),
        RuleHit("r-related", {}, (), "related"),
    )
    first = await write_one(store, ArticleWrite(article("a", "s1"), "key-a", "item-a", NOW, hits))
    second = await write_one(store, ArticleWrite(article("b", "s2"), "key-b", "item-b", NOW))
    asked = [f"https://example.org/{slug}" for slug in ["a", "b", *map(str, range(999))]]
    with statements(store) as sent:
        known = await store.known_articles(asked)
    assert known == {
        "https://example.org/a": KnownArticle(
            first.article_id,
            "s1",
            first.story_id,
            article("a").content_hash,
            frozenset({"r-event"}),
            frozenset({"r-related"}),
        ),
        "https://example.org/b": KnownArticle(
            second.article_id, "s2", second.story_id, article("b").content_hash, frozenset()
        ),
    }
    # A query for the rows of each 500 addresses (3), one for the matches of each 500
    # that found some (the last two: « a » and « b » sort after the numbers).
    assert sent.count("SELECT") == 5
    assert await store.known_articles([]) == {}


async def test_an_alert_written_in_a_batch_wakes_the_dispatcher_at_commit(store: Store) -> None:
    """The batch's statements run in one call (on a SQLite file, in a thread): the
    delivery it queued still sets the store's cue, once the batch is committed."""
    store.queued.clear()
    await write_one(store, ArticleWrite(article("a"), "key-a", "item-a", NOW))
    assert not store.queued.is_set()  # no alert, nothing queued
    hits = (RuleHit("r-event", {}, ("mail",), EVENT),)
    outcome = await write_one(store, ArticleWrite(article("b"), "key-b", "item-b", NOW, hits))
    assert len(outcome.new_alerts) == 1 and outcome.deliveries == 1
    assert store.queued.is_set()


async def test_a_cancelled_batch_returns_once_committed_on_a_sqlite_file(store: Store) -> None:
    """A SQLite file's batch runs in a thread, which cannot be stopped: its cancelled
    caller returns only once the batch is committed, so that nothing it holds (the
    writers' lock, the story indexes) is let go while the batch is still being written."""
    database = store.engine.url.database
    if store.engine.dialect.name != "sqlite" or database is None:
        pytest.skip("only a SQLite file's batches are written in a thread")
    started = threading.Event()

    def slow(batch: ArticleBatch) -> WriteOutcome:
        outcome = batch.write_article(ArticleWrite(article("a"), "key-a", "item-a", NOW))
        started.set()
        time.sleep(0.3)  # the cancellation comes meanwhile
        return outcome

    writing = asyncio.create_task(store.write_articles(slow))
    assert await asyncio.to_thread(started.wait, 30)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    with sqlite3.connect(database) as other:  # committed rows only
        assert other.execute("SELECT count(*) FROM articles").fetchone() == (1,)
