"""Retention: old text of articles that matched nothing goes; rows, matches and identity stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Control
from monitor.backtest import run_backtest
from monitor.cli import main

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    OFF_TOPIC,
    Clock,
    loopback_sources,
    rss,
    serve_articles,
    service,
    write,
)
from support.config import make_config, problems

SMARTPHONE = OFF_TOPIC
GOOGLE = "meteo-france-attribue-google-cloud-marche-ia"  # matches nothing here either


JANUARY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def smartphone_feed(web_server: Any) -> dict[str, str]:
    pages = serve_articles(web_server, SMARTPHONE)
    return {"f": web_server.add("/f.xml", rss(list(pages.items())), content_type="text/xml")}


def config(tmp_path: Path, feeds: dict[str, str], mail: str, keep_text: str | None) -> Path:
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources(feeds))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\nmode = "immediate"\n',
    )
    if keep_text:
        write(root / "monitor.toml", f'[retention]\nkeep_text = "{keep_text}"\n')
    return root


async def test_prune_drops_old_unmatched_text_and_the_article_is_never_new_again(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    pages = serve_articles(web_server, EVENT, SMARTPHONE, GOOGLE)
    fil = web_server.add(
        "/fil.xml",
        rss([(EVENT, pages[EVENT]), (SMARTPHONE, pages[SMARTPHONE])]),
        content_type="application/rss+xml",
    )
    hebdo = web_server.add("/hebdo.xml", rss([]), content_type="application/rss+xml")
    clock = Clock(JANUARY)
    root = config(tmp_path, {"fil": fil, "hebdo": hebdo}, smtp_server.url(), "30d")
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        first = await svc.run_pass()
        clock.advance(days=20)
        assert (await svc.prune()).articles == 0  # nothing is old enough yet
        clock.advance(days=11)
        pruned = await svc.prune()
        again = await svc.prune()

        # A month later another outlet lists the smartphone article, next to a new one.
        web_server.add(
            "/hebdo.xml",
            rss([(SMARTPHONE, pages[SMARTPHONE]), (GOOGLE, pages[GOOGLE])]),
            content_type="application/rss+xml",
        )
        later = await svc.run_pass()
        replayed = [i async for page in svc.store.stored_vocabularies(None) for i, _ in page]
        kept = await svc.store.stored_articles(replayed)
        without_text = await svc.store.count_articles(None, pruned=True)
        backtest = await run_backtest(svc.store, svc.config, ["ministry-microsoft"], None)

    assert first.dispatch.sent == 1
    # The smartphone article matched nothing and is 31 days old: its text goes. The
    # Microsoft article matched a rule and keeps everything.
    assert pruned.articles == 1 and pruned.characters > 500
    assert pruned.before == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # 31 days on, minus 30
    assert again.articles == 0
    # Seen again in another feed, it is the same article, not a new one; only Google is new.
    assert sum(o.new_articles for o in later.outcomes) == 1 and later.dispatch.sent == 0
    assert sorted(a.url for a in kept) == sorted([pages[EVENT], pages[GOOGLE]])
    assert DEMO[EVENT].title in {a.title for a in kept}
    assert all(a.text for a in kept)
    assert without_text == 1
    # Backtests replay what has text, and say what they skipped.
    assert backtest.articles == 2 and backtest.without_text == 1
    assert len(backtest.reports["ministry-microsoft"].hits) == 1
    assert len(smtp_server.messages) == 1


async def test_without_retention_settings_nothing_is_pruned(
    tmp_path, web_server, smtp_server, pool
) -> None:
    root = config(tmp_path, smartphone_feed(web_server), smtp_server.url(), None)
    async with service(tmp_path, root, pool, clock=(clock := Clock(JANUARY))) as svc:
        await svc.run_pass()
        clock.advance(days=4000)
        assert await svc.prune() is None
        assert await svc.store.count_articles(None) == 1


async def test_db_prune_command(
    tmp_path, web_server, smtp_server, pool, monkeypatch, capsys
) -> None:
    pages = serve_articles(web_server, EVENT, SMARTPHONE)
    feed = web_server.add("/f.xml", rss(list(pages.items())), content_type="application/rss+xml")
    root = config(tmp_path, {"f": feed}, smtp_server.url(), None)
    db_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    clock = Clock(datetime.now(UTC) - timedelta(days=40))
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        await svc.run_pass()
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    argv = ["--config", str(root), "-q", "db", "prune"]
    capsys.readouterr()

    async def monitor(*extra: str) -> int:
        return await asyncio.to_thread(main, [*argv, *extra])

    assert await monitor() == 2  # neither --older-than nor [retention] keep_text: say so
    assert "give --older-than, or set [retention] keep_text" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error
        await monitor("--older-than", "7d")
    assert usage.value.code == 2
    assert "argument --older-than: text must be kept at least 30d" in capsys.readouterr().err

    assert await monitor("--older-than", "30d", "--dry-run") == 0
    assert capsys.readouterr().out.startswith("would drop the text of 1 articles first seen")
    assert await monitor("--older-than", "60d") == 0  # they are only 40 days old
    assert capsys.readouterr().out.startswith("dropped the text of 0 articles")
    write(root / "monitor.toml", '[retention]\nkeep_text = "30d"\n')
    assert await monitor() == 0
    out = capsys.readouterr().out
    assert out.startswith("dropped the text of 1 articles") and "matched no rule" in out
    assert await monitor() == 0
    assert capsys.readouterr().out.startswith("dropped the text of 0 articles")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"7d"', "text must be kept at least 30d"),
        ('"un an"', "invalid duration 'un an'"),
    ],
)
def test_retention_setting_is_validated_with_its_place(
    tmp_path: Path, value: str, message: str
) -> None:
    make_config(tmp_path)
    write(tmp_path / "monitor.toml", f"[database]\n\n[retention]\nkeep_text = {value}\n")
    (problem,) = problems(tmp_path)
    assert problem.startswith("monitor.toml:4: [retention.keep_text] ") and message in problem


async def test_the_service_prunes_as_soon_as_it_starts(
    tmp_path, web_server, smtp_server, pool
) -> None:
    root = config(tmp_path, smartphone_feed(web_server), smtp_server.url(), "30d")
    async with service(tmp_path, root, pool, clock=(clock := Clock(JANUARY))) as svc:
        await svc.run_pass()
        clock.advance(days=31)
        control = Control()
        serving = asyncio.create_task(svc.serve(control))
        for _ in range(100):  # at most 10 s
            if await svc.store.count_articles(None, pruned=True):
                break
            await asyncio.sleep(0.1)
        control.stop.set()
        await asyncio.wait_for(serving, 30)
        assert await svc.store.count_articles(None, pruned=True) == 1
