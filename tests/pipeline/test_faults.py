"""Ingestion end to end under faults: real servers on loopback, a real database, whole passes."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.util.concurrency import await_only, in_greenlet

from monitor.records import SourceMemo
from monitor.store import Store
from monitor.store import articles as stored
from monitor.store.tables import SightingRow

from support import Clock, rss_of
from support.ingest import (
    FETCH,
    NOW,
    OtherHost,
    article_html,
    articles,
    build,
    second_host,
    source,
    states,
)


@pytest.fixture
async def other_host() -> AsyncIterator[OtherHost]:
    async with second_host() as host:
        yield host


# -- one pass, every fault at once --------------------------------------------------------------


async def test_faulty_sources_fail_clearly_and_the_others_go_on(
    tmp_path, web_server, other_host, pool, db_url
) -> None:
    import asyncio

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text=rss_of())

    page = web_server.add("/articles/qualifie", article_html())
    secret = web_server.add("/articles/secret", article_html(title="Interne"))
    feeds = {
        "good": web_server.add(
            "/good.xml",
            rss_of({"title": "Hébergeur qualifié", "link": page, "description": "Résumé."}),
            content_type="application/rss+xml",
        ),
        "slow": web_server.add("/slow.xml", handler=slow),
        "down": web_server.add("/down.xml", "oops", status=500),
        "limited": web_server.add(
            "/limited.xml", "", status=429, headers={"Retry-After": "7200"}
        ).replace("127.0.0.1", "localhost"),  # another host: its Retry-After is its own
        "loop": web_server.add("/loop", "", status=302, headers={"Location": "/loop2"}),
        "big": web_server.add("/big.xml", "<rss>" + "x" * 2_000_000 + "</rss>"),
        "bomb": web_server.add(
            "/bomb.xml",
            gzip.compress(b"<rss>" + b" " * 40_000_000),
            headers={"Content-Encoding": "gzip"},
        ),
        "lying": web_server.add(
            "/lying.xml",
            rss_of({"title": "Qualifiée SecNumCloud à 100 €", "guid": "l-1"}).encode("utf-8"),
            content_type="application/rss+xml; charset=windows-1252",
        ),
        "malformed": web_server.add(
            "/malformed.xml",
            rss_of({"title": "Avant la coupure", "guid": "m-1"})[:-30],
            content_type="application/rss+xml",
        ),
        "empty": web_server.add("/empty.xml", rss_of(), content_type="application/rss+xml"),
        "html": web_server.add("/html.xml", "<!DOCTYPE html><html><body>Maintenance</body></html>"),
    }
    web_server.add("/loop2", "", status=302, headers={"Location": "/loop"})
    other_host.routes["/feed.xml"] = (
        rss_of(
            {"title": "Lien interne", "link": secret, "description": "Résumé interne."},
            {
                "title": "Métadonnées",
                "link": "http://169.254.169.254/latest/meta-data/",
                "description": "Résumé métadonnées.",
            },
        ),
        "application/rss+xml",
    )
    sources = "".join(
        source(sid, url, allow_private_networks=True, interval="15m") for sid, url in feeds.items()
    )
    sources += source("guarded", other_host.url("/feed.xml"), interval="15m")  # guard on
    fetch = FETCH + 'allow_networks = ["127.0.0.2/32"]\n'
    clock = Clock(NOW)
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock, fetch=fetch) as svc:
        summary = await svc.run_pass()
        stored = await articles(svc)
        health = await states(svc)

    by_id = {o.source_id: o for o in summary.outcomes}
    assert {sid: (o.ok, o.error_kind) for sid, o in by_id.items()} == {
        "good": (True, None),
        "slow": (False, "timeout"),
        "down": (False, "http"),
        "limited": (False, "rate-limited"),
        "loop": (False, "fetch"),
        "big": (False, "too-large"),
        "bomb": (False, "too-large"),
        "lying": (True, None),
        "malformed": (True, None),
        "empty": (True, None),
        "html": (False, "parse"),
        "guarded": (True, None),
    }
    assert by_id["good"].new_articles == 1 and by_id["good"].alerts == 1
    assert "redirect loop" in (by_id["loop"].error or "")
    assert "decompressed body larger than the 1,000,000 byte limit" in (by_id["bomb"].error or "")
    assert "got an HTML page, not a feed" in (by_id["html"].error or "")
    assert health["down"].last_error == f"HTTP 500 from {feeds['down']}"
    assert health["limited"].next_check_at == NOW + timedelta(hours=2)  # Retry-After
    assert health["down"].next_check_at == NOW + timedelta(minutes=15)  # first failure
    assert all(health[s].consecutive_failures == 1 for s in ("slow", "down", "big", "html"))
    assert health["good"].consecutive_failures == 0

    titles = {row.source_id: row.title for row in stored if row.source_id in ("lying", "malformed")}
    assert titles == {"lying": "Qualifiée SecNumCloud à 100 €", "malformed": "Avant la coupure"}
    assert "but the feed is utf-8" in (health["lying"].warning or "")
    assert (health["malformed"].warning or "").startswith("ill-formed feed")
    assert health["empty"].warning == "the feed has no items"

    # The guard: a "public" feed's links to loopback and to the metadata service are refused
    # after resolution, the articles keep the feed's summary, and the source says why.
    guarded = sorted(
        (r.title, r.extraction, r.flags, r.text) for r in stored if r.source_id == "guarded"
    )
    assert guarded == [
        ("Lien interne", "summary", "extract-failed,short", "Résumé interne."),
        ("Métadonnées", "summary", "extract-failed,short", "Résumé métadonnées."),
    ]
    assert web_server.hits("/articles/secret") == []
    warning = health["guarded"].warning or ""
    assert warning.startswith("2 article page(s) not used, feed summary kept:")
    assert "refusing non-public address 127.0.0.1" in warning
    assert "refusing non-public address 169.254.169.254" in warning
    assert by_id["guarded"].summary_fallbacks == 2


async def test_guard_refuses_private_feed_unless_allowed(tmp_path, web_server, pool) -> None:
    feed = web_server.add("/feed.xml", rss_of(), content_type="application/rss+xml")
    sources = source("private", feed) + source("allowed", feed, allow_private_networks=True)
    async with build(tmp_path, sources, pool) as svc:
        summary = await svc.run_pass()
    by_id = {o.source_id: o for o in summary.outcomes}
    assert (by_id["private"].error_kind, by_id["allowed"].ok) == ("blocked", True)
    assert "refusing non-public address 127.0.0.1" in (by_id["private"].error or "")
    assert len(web_server.hits("/feed.xml")) == 1  # only the allowed source reached it


@pytest.mark.parametrize(
    ("defaults", "env"),
    [
        ("[defaults]\nallow_private_networks = true\n", {}),
        ("", {"MONITOR_ALLOW_PRIVATE_NETWORKS": "1"}),
    ],
)
async def test_private_networks_allowed_by_defaults_or_environment(
    tmp_path, web_server, pool, defaults: str, env: dict[str, str]
) -> None:
    page = web_server.add("/a", article_html())
    feed = web_server.add(
        "/feed.xml", rss_of({"title": "Local", "link": page}), content_type="application/rss+xml"
    )
    async with build(tmp_path, defaults + source("local", feed), pool, env=env) as svc:
        summary = await svc.run_pass()
        (row,) = await articles(svc)
    assert summary.outcomes[0].ok and row.extraction == "page"
    assert len(web_server.hits("/a")) == 1


# -- the next poll ------------------------------------------------------------------------------


async def test_backoff_grows_skips_the_source_and_resets_on_success(
    tmp_path, web_server, pool
) -> None:
    web_server.add("/feed.xml", "", status=500)
    clock = Clock(NOW)
    sources = source(
        "flaky", web_server.url("/feed.xml"), allow_private_networks=True, interval="15m"
    )
    async with build(tmp_path, sources, pool, clock=clock) as svc:
        await svc.run_pass()
        first = (await states(svc))["flaky"]
        clock.advance(minutes=16)
        await svc.run_pass()
        second = (await states(svc))["flaky"]
        clock.advance(minutes=5)
        skipped = await svc.run_pass()
        assert len(web_server.hits("/feed.xml")) == 2  # the skipped pass sent nothing
        web_server.add("/feed.xml", rss_of(), content_type="application/rss+xml")
        clock.advance(minutes=30)
        recovered = await svc.run_pass()
        third = (await states(svc))["flaky"]
    assert first.next_check_at == NOW + timedelta(minutes=15)
    assert second.consecutive_failures == 2
    assert second.next_check_at == NOW + timedelta(minutes=16 + 30)
    (outcome,) = skipped.outcomes
    assert (outcome.ok, outcome.skipped, outcome.next_check_at) == (
        True,
        "backoff",
        second.next_check_at,
    )
    assert recovered.outcomes[0].ok and third.consecutive_failures == 0
    assert third.next_check_at == clock.now + timedelta(minutes=15)


async def test_max_age_is_a_floor_for_the_next_poll(tmp_path, web_server, pool) -> None:
    feed = web_server.add(
        "/feed.xml",
        rss_of(),
        content_type="application/rss+xml",
        headers={"Cache-Control": "public, max-age=7200", "ETag": '"v1"'},
    )
    clock = Clock(NOW)
    sources = source("cached", feed, allow_private_networks=True, interval="15m")
    async with build(tmp_path, sources, pool, clock=clock) as svc:
        await svc.run_pass()
        state = (await states(svc))["cached"]
        clock.advance(minutes=20)
        held = await svc.run_pass()
        clock.advance(hours=2)
        again = await svc.run_pass()
    assert state.next_check_at == NOW + timedelta(hours=2)
    assert SourceMemo.from_json(state.state).hold == "max-age"
    assert held.outcomes[0].skipped == "max-age"
    assert again.outcomes[0].not_modified
    assert [h.get("If-None-Match") for h in web_server.hits("/feed.xml")] == [None, '"v1"']


async def test_rate_limited_article_page_falls_back_without_waiting(
    tmp_path, web_server, pool
) -> None:
    import time

    page = web_server.add("/a/1", "", status=429, headers={"Retry-After": "3600"})
    page = page.replace("127.0.0.1", "localhost")
    second = web_server.url("/a/2").replace("127.0.0.1", "localhost")
    web_server.add("/a/2", article_html())
    feed = web_server.add(
        "/feed.xml",
        rss_of(
            {"title": "Un", "link": page, "description": "Résumé un SecNumCloud."},
            {"title": "Deux", "link": second, "description": "Résumé deux."},
        ),
        content_type="application/rss+xml",
    )
    clock = Clock(NOW)
    # The article pages are on localhost, not the feed's host: links need their own opt-in.
    sources = source(
        "news",
        feed,
        allow_private_networks=True,
        allow_private_links=True,
        interval="15m",
        robots=False,
    )
    started = time.monotonic()
    # One request at a time to the host, so that the second page is either answered
    # before the 429 or never sent; which comes first is up to the scheduler.
    one_at_a_time = FETCH.replace("per_host = 8", "per_host = 1")
    async with build(tmp_path, sources, pool, clock=clock, fetch=one_at_a_time) as svc:
        summary = await svc.run_pass()
        stored = await articles(svc)
        state = (await states(svc))["news"]
    assert time.monotonic() - started < 10
    (outcome,) = summary.outcomes
    flags = dict((r.title, r.flags) for r in stored)
    assert flags["Un"] == "extract-failed,rate-limited,short"
    assert web_server.hits("/a/1") and len(web_server.hits("/a/2")) <= 1
    if web_server.hits("/a/2"):  # asked before the 429: read as usual
        assert flags["Deux"] == "lead-added" and outcome.summary_fallbacks == 1
    else:  # after it: not even sent, the host said wait
        assert flags["Deux"] == "extract-failed,rate-limited,short"
        assert outcome.summary_fallbacks == 2
    assert outcome.new_articles == 2
    assert state.next_check_at == NOW + timedelta(hours=1)  # the pages' Retry-After
    assert SourceMemo.from_json(state.state).hold == "retry-after"
    assert "article page(s) not used" in (state.warning or "")


async def test_page_that_failed_for_a_passing_reason_is_retried_as_an_update(
    tmp_path, web_server, pool, db_url
) -> None:
    page = web_server.add("/a/1", "maintenance", status=503)
    feed = web_server.add(
        "/feed.xml",
        rss_of({"title": "Qualification", "link": page, "guid": "g1", "description": "Résumé."}),
        content_type="application/rss+xml",
        headers={"ETag": '"f1"'},
    )
    clock = Clock(NOW)
    sources = source("news", feed, allow_private_networks=True, interval="15m")
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        first = await svc.run_pass()
        memo = SourceMemo.from_json((await states(svc))["news"].state)
        web_server.add("/a/1", article_html())
        clock.advance(minutes=16)
        second = await svc.run_pass()
        stored = await articles(svc)
        memo_after = SourceMemo.from_json((await states(svc))["news"].state)
    assert (first.outcomes[0].new_articles, first.outcomes[0].alerts) == (1, 0)
    assert list(memo.retry.values()) == [1]
    assert (second.outcomes[0].new_articles, second.outcomes[0].updated_articles) == (0, 1)
    assert second.outcomes[0].alerts == 1  # the page's text is what mentions SecNumCloud
    (row,) = stored
    assert (row.extraction, row.flags) == ("page", "lead-added")
    assert memo_after.retry == {}
    # The retry asked for the whole feed again, not a 304.
    assert [h.get("If-None-Match") for h in web_server.hits("/feed.xml")] == [None, None]


async def test_changed_item_is_an_update_of_the_same_article(
    tmp_path, web_server, pool, db_url
) -> None:
    page = web_server.add("/a/1", article_html(body="Première version du texte, sans le mot."))
    item = {"title": "Version 1", "link": page, "guid": "g1", "description": "Résumé 1."}
    feed = web_server.add("/feed.xml", rss_of(item), content_type="application/rss+xml")
    clock = Clock(NOW)
    sources = source("news", feed, allow_private_networks=True)
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        first = await svc.run_pass()
        web_server.add(
            "/a/1", article_html(body="Mise à jour : l'offre est qualifiée SecNumCloud.")
        )
        web_server.add(
            "/feed.xml",
            rss_of({**item, "title": "Version 2", "description": "Résumé 2."}),
            content_type="application/rss+xml",
        )
        clock.advance(hours=1)
        second = await svc.run_pass()
        clock.advance(hours=1)
        third = await svc.run_pass()  # nothing changed: nothing fetched but the feed
        stored = await articles(svc)
    assert (first.outcomes[0].new_articles, second.outcomes[0].new_articles) == (1, 0)
    assert (second.outcomes[0].updated_articles, second.outcomes[0].alerts) == (1, 1)
    assert (third.outcomes[0].new_articles, third.outcomes[0].updated_articles) == (0, 0)
    (row,) = stored
    assert row.title == "Version 2" and "qualifiée SecNumCloud" in row.text
    assert len(web_server.hits("/a/1")) == 2


async def test_an_article_another_source_gave_is_a_sighting_not_read_again(
    tmp_path, web_server, pool, db_url
) -> None:
    page = web_server.add("/a/1", article_html(body="Le ministère signe avec l'éditeur."))
    item = {"title": "Le ministère signe", "link": page, "guid": "g1", "description": "Résumé."}
    kind = "application/rss+xml"
    first = web_server.add("/first.xml", rss_of(item), content_type=kind)
    second = web_server.add("/second.xml", rss_of(), content_type=kind)
    sources = source("first", first, allow_private_networks=True) + source(
        "second", second, allow_private_networks=True
    )
    clock = Clock(NOW)
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        await svc.run_pass()
        web_server.add("/second.xml", rss_of({**item, "guid": "other"}), content_type=kind)
        clock.advance(hours=1)
        later = await svc.run_pass()
        stored_articles = await articles(svc)
        async with svc.store.transaction() as session:
            seen = (await session.execute(select(SightingRow.source_id))).scalars().all()
    (row,) = stored_articles
    assert row.source_id == "first" and sorted(seen) == ["first", "second"]
    assert {o.source_id: o.new_articles for o in later.outcomes} == {"first": 0, "second": 0}
    assert len(web_server.hits("/a/1")) == 1


async def test_robots_txt_is_honoured_unless_switched_off(tmp_path, web_server, pool) -> None:
    web_server.add("/robots.txt", "User-agent: *\nDisallow: /prive/\n", content_type="text/plain")
    page = web_server.add("/prive/a", article_html())
    feed = web_server.add(
        "/feed.xml",
        rss_of({"title": "Privé", "link": page, "description": "Résumé du flux."}),
        content_type="application/rss+xml",
    )
    sources = source("polite", feed, allow_private_networks=True) + source(
        "rude",
        feed.replace("127.0.0.1", "localhost"),
        allow_private_networks=True,
        allow_private_links=True,  # the page is on 127.0.0.1, another host than the feed's
        robots=False,
    )
    async with build(tmp_path, sources, pool) as svc:
        polite = await svc.run_pass([svc.config.source("polite")])
        stored = await articles(svc)
    (row,) = stored
    assert (row.extraction, row.flags, row.text) == (
        "summary",
        "extract-failed,robots,short",
        "Résumé du flux.",
    )
    assert web_server.hits("/prive/a") == []
    assert f"{page}: robots.txt disallows it" in polite.outcomes[0].warnings[0]

    async with build(tmp_path / "rude", sources, pool) as svc:
        await svc.run_pass([svc.config.source("rude")])
        (row,) = await articles(svc)
    assert row.extraction == "page" and len(web_server.hits("/prive/a")) == 1


async def test_permanent_redirect_is_remembered_and_reported(tmp_path, web_server, pool) -> None:
    web_server.add("/old.xml", "", status=301, headers={"Location": "/new.xml"})
    new = web_server.add("/new.xml", rss_of(), content_type="application/rss+xml")
    clock = Clock(NOW)
    sources = source("moved", web_server.url("/old.xml"), allow_private_networks=True)
    async with build(tmp_path, sources, pool, clock=clock) as svc:
        first = await svc.run_pass()
        clock.advance(hours=1)
        second = await svc.run_pass()
        state = (await states(svc))["moved"]
    assert first.outcomes[0].moved_to == new and second.outcomes[0].moved_to == new
    assert state.moved_to == new
    assert f"moved permanently to {new}: update its url in sources.toml" in (state.warning or "")
    assert len(web_server.hits("/old.xml")) == 1 and len(web_server.hits("/new.xml")) == 2


async def test_extraction_flags_dates_and_lead(tmp_path, web_server, pool) -> None:
    paywalled = web_server.add(
        "/a/pay",
        article_html(
            title="Réservé",
            head='<script type="application/ld+json">{"@type":"NewsArticle",'
            '"isAccessibleForFree": false}</script>',
        ),
    )
    future = web_server.add("/a/future", article_html(title="Daté"))
    short = web_server.add("/a/short", "<html><body><p>Bref.</p></body></html>")
    feed = web_server.add(
        "/feed.xml",
        rss_of(
            {"title": "Réservé", "link": paywalled, "description": "Un chapô venu du flux, court."},
            {"title": "Daté", "link": future, "pubDate": "Fri, 20 Nov 2099 07:30:00 GMT"},
            {"title": "Bref", "link": short, "description": "Le flux donne tout le texte. " * 10},
        ),
        content_type="application/rss+xml",
    )
    sources = source("news", feed, allow_private_networks=True)
    async with build(tmp_path, sources, pool) as svc:
        await svc.run_pass()
        stored = {row.title: row for row in await articles(svc)}
    pay = stored["Réservé"]
    assert pay.flags == "lead-added,paywall" and pay.text.startswith(
        "Un chapô venu du flux, court.\n\n"
    )
    assert (pay.lang, pay.site_name, pay.extraction) == ("fr", "Le Journal", "page")
    dated = stored["Daté"]  # the feed's date is in 2099: the page's own date wins
    assert dated.published_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert dated.text.startswith("Le chapô qui dit l'essentiel")  # og:description as the lead
    # The page gave a scrap and the feed the whole text: the feed's text is kept.
    brief = stored["Bref"]
    assert (brief.flags, brief.extraction) == ("extract-failed", "summary")
    assert brief.text.startswith("Le flux donne tout le texte.") and len(brief.text) > 200


# -- the write phase: articles in batches -------------------------------------------------------


def three_articles(web_server) -> tuple[list[str], str]:
    """Three articles behind one feed (written in one batch, in URL order), and the feed."""
    offers = {
        "Alpha": "L'offre Alpha a obtenu lundi la qualification SecNumCloud de l'ANSSI.",
        "Beta": "Le prestataire Beta annonce mardi que son cloud est qualifié SecNumCloud.",
        "Gamma": "Gamma rejoint mercredi la liste des offres qualifiées SecNumCloud.",
    }
    pages = [
        web_server.add(f"/batch/{n}", article_html(title=f"Offre {name}", body=body))
        for n, (name, body) in enumerate(offers.items())
    ]
    items = [{"title": f"Offre {n}", "link": page, "guid": page} for n, page in enumerate(pages)]
    feed = web_server.add("/feed.xml", rss_of(*items), content_type="application/rss+xml")
    return pages, feed


def break_write_of(monkeypatch, url: str, error: Exception, before_raising=None) -> None:
    """Storing the article at `url` raises `error` once its rows are sent (after running
    the coroutine `before_raising()`, when given)."""
    write_article = stored.write_article

    def broken(session, write, *, domain):
        outcome = write_article(session, write, domain=domain)
        if write.article.url == url:
            if before_raising is not None:
                run_from_writes(before_raising)
            raise error
        return outcome

    monkeypatch.setattr(stored, "write_article", broken)


async def test_a_bug_in_one_article_loses_it_alone_not_its_batch(
    tmp_path, web_server, pool, db_url, monkeypatch
) -> None:
    pages, feed = three_articles(web_server)
    seen_by_others: list[int] = []

    async def count_from_another_connection() -> None:
        other = Store.open(db_url)
        try:
            seen_by_others.append(await other.count_articles(None))
        finally:
            await other.close()

    bug = RuntimeError("a bug in this article")
    break_write_of(monkeypatch, pages[1], bug, count_from_another_connection)
    clock = Clock(NOW)
    sources = source("news", feed, allow_private_networks=True, interval="15m")
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        with savepoints_sent() as savepoints:
            first = await svc.run_pass()
            after_first = [row.url for row in await articles(svc)]
            savepoints_first = len(savepoints)
            monkeypatch.undo()
            clock.advance(minutes=16)
            second = await svc.run_pass()
            after_second = [row.url for row in await articles(svc)]
    (outcome,) = first.outcomes
    assert outcome.ok and outcome.new_articles == 2
    assert [w for w in outcome.warnings if "failed" in w] == [
        f"item {pages[1]} failed: RuntimeError('a bug in this article')"
    ]
    # The batch is one transaction: its first article was not committed yet, neither
    # when written without savepoints nor when written again with one per article.
    assert seen_by_others == [0, 0]
    assert savepoints_first == 3
    # The broken article's rows went back with it; the next pass writes it, and a batch
    # without a failure takes no savepoint.
    assert after_first == [pages[0], pages[2]]
    assert (second.outcomes[0].new_articles, second.outcomes[0].warnings) == (1, ())
    assert after_second == [pages[0], pages[2], pages[1]]
    assert len(savepoints) == savepoints_first


def run_from_writes(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the coroutine `make()` from the store's plain-code writes: on the event loop
    (PostgreSQL: `run_sync`'s greenlet), or in the writes' thread (a SQLite file)."""
    if in_greenlet():
        await_only(make())
    else:
        asyncio.run(make())


@contextmanager
def savepoints_sent() -> Iterator[list[str]]:
    """The SAVEPOINT statements any engine runs in the block (a growing list): a SQLite
    file's article writes run on an engine of their own."""
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("SAVEPOINT"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


async def test_an_outage_mid_batch_fails_the_pass_and_the_next_one_writes_it_whole(
    tmp_path, web_server, pool, db_url, monkeypatch
) -> None:
    pages, feed = three_articles(web_server)
    outage = OperationalError("INSERT", {}, ConnectionResetError("connection reset by peer"))
    break_write_of(monkeypatch, pages[1], outage)
    clock = Clock(NOW)
    sources = source("news", feed, allow_private_networks=True, interval="15m")
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        with pytest.raises(OperationalError):
            await svc.run_pass()
        after_outage = await articles(svc)
        monkeypatch.undo()
        clock.advance(minutes=1)  # the source's poll was not recorded: it is still due
        second = await svc.run_pass()
        after_second = await articles(svc)
    assert after_outage == []
    (outcome,) = second.outcomes
    # The story index forgot what the rollback took back: no article joins a story that
    # was never committed.
    assert (outcome.new_articles, outcome.warnings) == (3, ())
    assert sorted(row.url for row in after_second) == pages
    assert all(row.story_id is not None for row in after_second)
