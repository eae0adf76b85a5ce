"""A pass writes its articles in batches; the story indexes keep up with each batch."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import monitor.pipeline
from monitor.cluster.events import EventIndex
from monitor.cluster.stories import Stories
from monitor.store import articles as stored

from support import REPO, loopback_sources, rss, serve_articles, service, write

DEALS = [
    "armees-renouvelle-accord-cadre-microsoft",
    "armees-microsoft-reconduit-jusqu-en-2030",
    "vnf-migre-messagerie-exchange-online-teams",
]


async def test_each_batch_finds_the_stories_of_the_batches_before_it_once(
    tmp_path: Path, web_server: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.pipeline, "WRITE_BATCH", 1)  # one article a batch
    pages = serve_articles(web_server, *DEALS)
    feed = web_server.add("/f.xml", rss(list(pages.items())), content_type="text/xml")
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"fil": feed}))
    shutil.copytree(REPO / "alerts" / "rules", root / "alerts" / "rules")  # actors' lists too
    added: list[str] = []
    real_add = EventIndex.add

    def add(index: EventIndex, mention: Any) -> None:
        added.append(mention.rule_id)
        real_add(index, mention)

    monkeypatch.setattr(EventIndex, "add", add)
    async with service(tmp_path, root, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}") as svc:
        summary = await svc.run_pass()
        events = len(svc.pipeline.stories.events)

    matched = sum(o.matches for o in summary.outcomes)  # each deal names its body and vendor
    # Each event went into the index once, when its article was written: the next batch
    # did not read it back from the database as if another instance had written it.
    assert len(added) == events == matched >= 2


async def test_a_sqlite_files_batches_decide_their_stories_off_the_event_loop(
    tmp_path: Path, web_server: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a SQLite file, a batch is written in one call of the store, in a thread: its
    story decisions (CPU) do not hold the event loop, and its statements do not each hop
    to the asyncio driver's thread and back."""
    pages = serve_articles(web_server, *DEALS)
    feed = web_server.add("/f.xml", rss(list(pages.items())), content_type="text/xml")
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"fil": feed}))
    shutil.copytree(REPO / "alerts" / "rules", root / "alerts" / "rules")
    threads: list[int] = []
    real_decide = Stories.decide

    def decide(stories: Stories, *args: Any) -> Any:
        threads.append(threading.get_ident())
        return real_decide(stories, *args)

    monkeypatch.setattr(Stories, "decide", decide)
    async with service(tmp_path, root, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}") as svc:
        summary = await svc.run_pass()
    assert sum(o.new_articles for o in summary.outcomes) == len(DEALS) == len(threads)
    assert threading.get_ident() not in threads


def count_rows(database: Path, table: str) -> int:
    """Rows of `table` as another connection sees them: committed ones only."""
    with sqlite3.connect(database) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_a_pass_cancelled_mid_batch_loses_and_repeats_nothing(
    tmp_path: Path, web_server: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass cancelled (a shutdown) while a thread writes its batch: the batch is
    committed whole, and the next pass neither loses nor repeats an article or alert."""
    pages = serve_articles(web_server, *DEALS)
    feed = web_server.add("/f.xml", rss(list(pages.items())), content_type="text/xml")
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"fil": feed}))
    shutil.copytree(REPO / "alerts" / "rules", root / "alerts" / "rules")
    writing = threading.Event()
    real_write = stored.write_article

    def slow_write(session: Any, write: Any, *, domain: str) -> Any:
        writing.set()
        time.sleep(0.2)  # the cancellation comes while the batch is being written
        return real_write(session, write, domain=domain)

    monkeypatch.setattr(stored, "write_article", slow_write)
    database = tmp_path / "db.sqlite3"
    async with service(tmp_path, root, pool, f"sqlite:///{database}") as svc:
        running = asyncio.create_task(svc.run_pass())
        assert await asyncio.to_thread(writing.wait, 60)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        committed = count_rows(database, "articles"), count_rows(database, "alerts")
        monkeypatch.undo()
        again = await svc.run_pass()
    assert committed[0] == len(DEALS) and committed[1] >= 1
    assert sum(o.new_articles for o in again.outcomes) == 0
    assert (count_rows(database, "articles"), count_rows(database, "alerts")) == committed
