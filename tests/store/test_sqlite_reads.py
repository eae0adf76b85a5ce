"""`SqliteReads` reads what the `Store` reads, with sqlite3 alone: the listings' second read
path (monitor/store/sqlite_reads.py), compared with the first on a database a real pass
filled, so that the two cannot drift apart."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.dburl import sqlite_file
from monitor.store import Store
from monitor.store.sqlite_reads import SqliteReads

from support import PG_URL
from support.console import RULE_ID, fill

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def _filled(tmp_path: Path, web_server, pool) -> str:
    """A database with sources in every state, poisoned pages, deliveries sent and
    failed, a verdict given twice on one alert, and a missed article."""
    url = f"sqlite:///{tmp_path / 'veille.sqlite3'}"
    filled = await fill(tmp_path, web_server, pool, url)
    async with filled.open(pool) as api:
        await api.feedback(1, "wrong", note="first")
        await api.feedback(1, "right", note="then")
        await api.feedback(2, "wrong")
    store = Store.open(url)
    try:
        for n, source in enumerate(("fil", "fil", "panne")):
            await store.record_poison(f"https://x.test/{n}", source, "deadline", NOW)
        missed = ("T", "text", "fr", NOW)
        await store.add_missed(RULE_ID, "https://x.test/missed", missed, None, NOW)
    finally:
        await store.close()
    return url


async def _answers(reads: Store | SqliteReads) -> list[object]:
    return [
        await reads.source_states(),
        await reads.poison_counts(),
        *[await reads.deliveries(status) for status in (None, "sent", "failed", "pending")],
        await reads.deliveries(None, 1),
        await reads.feedback(),
        await reads.feedback([RULE_ID]),
        await reads.feedback(["another"]),
        await reads.count_articles(None),  # SqliteReads asks its store
    ]


async def test_the_sqlite_reads_answer_as_the_store(tmp_path: Path, web_server, pool) -> None:
    url = await _filled(tmp_path, web_server, pool)
    store, reads = Store.open(url), SqliteReads.open(url)
    assert reads is not None
    try:
        expected = await _answers(store)
        assert await _answers(reads) == expected
    finally:
        await store.close()
        await reads.close()
    states, poisoned, every, *_, verdicts, _, _, _ = expected
    assert [s.id for s in states] == ["fil", "hebdo", "panne"]  # type: ignore[attr-defined]
    assert states[0].first_seen_at.tzinfo is UTC  # type: ignore[index]
    assert poisoned == {"fil": 2, "panne": 1}
    assert {d.status for d in every} == {"sent", "failed"}  # type: ignore[attr-defined]
    assert [(v.alert_id, v.verdict) for v in verdicts] == [  # type: ignore[attr-defined]
        (1, "right"),
        (2, "wrong"),
        (None, "missed"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///veille.sqlite3",
        "sqlite:////var/lib/veille/veille.sqlite3",
        "sqlite+aiosqlite:///data/a b.sqlite3",
        "sqlite:///relative/dir/x.db",
    ],
)
def test_a_plain_sqlite_url_names_the_file_sqlalchemy_finds(url: str) -> None:
    assert sqlite_file(url) == Path(make_url(url).database or "")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file.db?timeout=5",
        "sqlite:///a%20b.db",
        "postgresql://postgres@127.0.0.1:5432/test",
    ],
)
def test_other_urls_are_left_to_the_store(url: str) -> None:
    assert sqlite_file(url) is None
    assert SqliteReads.open(url) is None


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    assert SqliteReads.open(f"sqlite:///{tmp_path / 'none.sqlite3'}") is None
    assert list(tmp_path.iterdir()) == []


def test_a_database_behind_is_left_to_the_store(tmp_path: Path) -> None:
    """The `Store` migrates it: no alembic_version, or another revision."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
    connection.close()
    assert SqliteReads.open(f"sqlite:///{path}") is None


@pytest.mark.skipif(not PG_URL, reason="needs MONITOR_TEST_DATABASE_URL")
def test_postgresql_is_read_by_the_store() -> None:
    assert SqliteReads.open(PG_URL) is None


def test_the_reads_import_no_sqlalchemy() -> None:
    import subprocess

    probe = "import sys, monitor.store.sqlite_reads; print('sqlalchemy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
