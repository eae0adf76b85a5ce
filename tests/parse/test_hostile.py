"""Hostile input on the parse and extract side: entity bombs, oversized fields, gzip bombs,
huge numbers and deep nesting, garbage; and extraction tasks that overrun their deadline.

Every parser must answer a ParseError or a normal, bounded result, never another exception.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import operator
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import FetchSettings, SourceConfig
from monitor.errors import ParseError
from monitor.extract import WorkerPool
from monitor.extract.pages import ArticleReader
from monitor.extract.pool import WorkerTaskFailed
from monitor.fetch import HttpClient
from monitor.parse.entities import REFUSED
from monitor.parse.feed import parse_feed
from monitor.parse.jsonapi import Paging, RecordMapping, parse_page
from monitor.parse.jsonfeed import parse_json_feed
from monitor.parse.limits import (
    DOCTYPE_SCAN,
    MAX_ITEMS,
    MAX_JSON_DEPTH,
    MAX_SITEMAP_INFLATED,
    MAX_SITEMAP_URLS,
    MAX_SUMMARY,
    MAX_TEXT,
    MAX_TITLE,
    POISON_AFTER,
)
from monitor.parse.listing import parse_listing
from monitor.parse.sitemap import parse_sitemap
from monitor.records import Extraction, FeedItem

URL = "https://hostile.example/feed"


def rss(items: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{prolog}<rss version="2.0"><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()


def item(n: int, title: str = "Titre", description: str = "Texte") -> str:
    return (
        f"<item><title>{title}</title><link>https://hostile.example/{n}</link>"
        f"<description>{description}</description></item>"
    )


# -- 1. entity bombs -------------------------------------------------------------------------

ENTITY_BOMB = rss(
    item(1, description="&a;" * 40_000),
    prolog=f'<!DOCTYPE rss [\n<!ENTITY a "{"A" * 1000}">\n]>\n',
)


def test_an_entity_bomb_is_read_with_its_declarations_removed_in_bounded_time() -> None:
    # Unprotected, feedparser's loose parser expands this 160 KB feed into 40 MB of "A".
    started = time.perf_counter()
    feed = parse_feed(ENTITY_BOMB, url=URL, source_id="bomb")
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    (entry,) = feed.items
    assert len(entry.summary) <= MAX_SUMMARY
    assert "AAAA" not in entry.summary  # the entity was never expanded
    assert entry.summary.startswith("&a")  # the undefined reference stays as text


def test_an_entity_bomb_summary_is_read_without_resolving_its_links() -> None:
    # feedparser's resolving of relative links in HTML summaries re-parses each one, and
    # on these 40,000 references its peak was some 55 times the feed's size.
    tracemalloc.start()
    try:
        feed = parse_feed(ENTITY_BOMB, url=URL, source_id="bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 45 * len(ENTITY_BOMB)
    assert len(feed.items[0].summary) <= MAX_SUMMARY


async def test_an_entity_bomb_served_over_http_gives_a_bounded_feed(
    web_server: Any, pool: WorkerPool
) -> None:
    url = web_server.add("/bomb.xml", ENTITY_BOMB, content_type="application/rss+xml")
    http = HttpClient(FetchSettings(), allow_private=True)
    try:
        fetched = await http.get(url, source_id="bomb")
    finally:
        await http.close()
    await pool.run(operator.add, 0, 0)  # the workers' start is not the feed's time
    started = time.perf_counter()
    feed = await pool.run(parse_feed, fetched.body, url=fetched.url, source_id="bomb")
    assert time.perf_counter() - started < 2.0
    assert sum(len(i.summary) + len(i.title) for i in feed.items) <= MAX_SUMMARY + MAX_TITLE


def test_a_prolog_too_long_to_clean_is_refused() -> None:
    padding = "<!-- " + "x" * DOCTYPE_SCAN + " -->"
    body = rss(item(1), prolog=f'<!DOCTYPE rss [<!ENTITY a "b">]>{padding}')
    with pytest.raises(ParseError, match=REFUSED):
        parse_feed(body, url=URL, source_id="bomb")


def test_entity_declarations_past_the_scanned_bytes_are_refused() -> None:
    body = rss(
        item(1), prolog=" " * (2 * DOCTYPE_SCAN) + f'<!DOCTYPE rss [<!ENTITY a "{"A" * 9}">]>'
    )
    with pytest.raises(ParseError, match=REFUSED):
        parse_feed(body, url=URL, source_id="bomb")


def test_entity_declarations_outside_a_doctype_are_refused() -> None:
    with pytest.raises(ParseError, match=REFUSED) as caught:
        parse_feed(rss(item(1), prolog='<!ENTITY a "b">\n'), url=URL, source_id="bomb")
    assert "bomb" in str(caught.value) and URL in str(caught.value)


def test_a_doctype_without_entities_is_left_alone() -> None:
    body = rss(item(1, title="R&amp;D"), prolog="<!DOCTYPE rss>\n")
    assert parse_feed(body, url=URL).items[0].title == "R&D"


# -- 2. caps after parsing --------------------------------------------------------------------


def test_titles_and_summaries_are_cut_to_their_caps() -> None:
    feed = parse_feed(rss(item(1, "T" * 5_000, "S" * 50_000)), url=URL)
    (entry,) = feed.items
    assert (len(entry.title), len(entry.summary)) == (MAX_TITLE, MAX_SUMMARY)
    assert any("cut there" in w for w in feed.warnings)


def test_items_per_feed_are_capped_whatever_the_source_asks() -> None:
    body = rss("".join(item(n) for n in range(MAX_ITEMS + 100)))
    feed = parse_feed(body, url=URL, max_items=10_000)
    assert len(feed.items) == MAX_ITEMS
    assert any(f"beyond the {MAX_ITEMS}-item limit" in w for w in feed.warnings)


def sitemap(count: int) -> bytes:
    urls = "".join(f"<url><loc>https://hostile.example/{n}</loc></url>" for n in range(count))
    return (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()


def test_a_gzip_bomb_sitemap_is_refused_past_the_inflated_cap() -> None:
    bomb = gzip.compress(b" " * (MAX_SITEMAP_INFLATED + 1_000_000), compresslevel=9)
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(ParseError, match="gzipped sitemap"):
        parse_sitemap(bomb, url=URL, max_size=10**10, source_id="bomb")
    assert time.perf_counter() - started < 2.0


def test_a_gzip_bomb_sitemap_is_refused_before_it_is_inflated_past_its_cap() -> None:
    # Not even a sitemap: the size is checked before any parsing (which, on a bomb of
    # <url> entries, would parse all of them up to the cap).
    bomb = gzip.compress(b"<html>" + b" " * (MAX_SITEMAP_INFLATED * 2), compresslevel=9)
    tracemalloc.start()
    try:
        with pytest.raises(ParseError) as caught:
            parse_sitemap(bomb, url=URL, max_size=10**10, source_id="bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # a few chunks at a time, never the capped content whole
    assert f"past the {MAX_SITEMAP_INFLATED:,}-byte cap" in caught.value.message


# The parse's growth of the resident set, in a process of its own (lxml's tree is not
# Python memory: tracemalloc does not see it).
MEASURE_SITEMAP = """
import resource, sys
from monitor.parse.sitemap import parse_sitemap
body = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
feed = parse_sitemap(body, url="https://hostile.example/s.xml", max_size=10**9)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, len(feed.items), *feed.warnings, sep="\\n")
"""


def test_a_sitemap_of_a_million_repeated_urls_is_read_as_a_stream() -> None:
    entries = b"<url><loc>https://hostile.example/same</loc></url>" * 1_000_000  # 50 MB
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + entries + b"</urlset>"
    run = subprocess.run(
        [sys.executable, "-c", MEASURE_SITEMAP], input=body, capture_output=True, check=True
    )
    grown_kb, count, *warnings = run.stdout.decode().splitlines()
    # As a whole tree, these 2 million elements took about 300 MB.
    assert int(grown_kb) < 30_000
    assert int(count) == 1
    assert f"{1_000_000 - MAX_SITEMAP_URLS:,} URLs beyond the first" in warnings[0]
    repeats = MAX_SITEMAP_URLS - 1  # of the entries read
    assert warnings[1] == f"{repeats} entries repeat an earlier entry's id; kept the first"


def test_a_billion_laughs_sitemap_stays_small() -> None:
    # Nested entities, 1,000 x 10^8 characters if expanded; lxml is told not to resolve them.
    levels = "".join(
        f'<!ENTITY b{i} "{("&a;" if i == 0 else f"&b{i - 1};") * 10}">' for i in range(8)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "{"A" * 1000}">{levels}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://hostile.example/&b7;</loc></url></urlset>"
    ).encode()
    started = time.perf_counter()
    feed = parse_sitemap(body, url=URL)
    assert time.perf_counter() - started < 2.0
    assert all(len(i.url or "") < 1_000 for i in feed.items)


def test_a_sitemap_is_read_up_to_its_url_cap() -> None:
    feed = parse_sitemap(sitemap(MAX_SITEMAP_URLS + 5), url=URL, max_items=10)
    assert len(feed.items) == 10
    assert any(f"first {MAX_SITEMAP_URLS:,}" in w for w in feed.warnings)


MAPPING = RecordMapping(records="data", id="id", title="title")


def parse_api(body: bytes) -> object:
    return parse_page(body, url=URL, mapping=MAPPING, paging=Paging(style="none"), source_id="api")


def parse_jsonfeed(body: bytes) -> object:
    return parse_json_feed(body, URL, "jf")


JSON_PARSERS: list[Callable[[bytes], object]] = [parse_api, parse_jsonfeed]


@pytest.mark.parametrize("parse", JSON_PARSERS)
def test_a_5000_digit_number_is_a_parse_error(parse: Callable[[bytes], object]) -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "data": [{"id": ' + b"9" * 5000
    with pytest.raises(ParseError, match="invalid JSON"):
        parse(body + b"}]}")


@pytest.mark.parametrize("parse", JSON_PARSERS)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 200_000])
def test_deep_nesting_is_a_parse_error(parse: Callable[[bytes], object], depth: int) -> None:
    with pytest.raises(ParseError, match="nested"):
        parse(b"[" * depth + b"]" * depth)


def test_a_json_feed_with_members_of_the_wrong_type_is_read_without_them() -> None:
    # Found by bench/fuzz_parse.py: these raised TypeError before.
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "home_page_url": {"not": "a string"},
            "title": ["x"],
            "items": [
                {"id": 7, "url": "/a", "authors": True, "title": "Titre"},
                {"id": True, "url": [1], "summary": [1, "x"], "authors": 1474},
            ],
        }
    ).encode()
    title, items, _ = parse_json_feed(body, URL, "jf")
    assert title == ""
    assert [(i.guid, i.url, i.title, i.author) for i in items] == [
        ("7", "https://hostile.example/a", "Titre", None),
        (None, None, "", None),
    ]


def test_nesting_within_the_cap_is_read() -> None:
    inner = "[" * (MAX_JSON_DEPTH - 3) + "]" * (MAX_JSON_DEPTH - 3)
    body = json.dumps({"data": [{"id": "1", "title": "Titre", "x": json.loads(inner)}]})
    assert len(parse_page(body.encode(), url=URL, mapping=MAPPING, paging=Paging()).items) == 1


# -- 3. garbage gives ParseError or a normal result, for every parser --------------------------


def parse_xml_feed(body: bytes) -> object:
    return parse_feed(body, url=URL, source_id="fuzz")


def parse_a_sitemap(body: bytes) -> object:
    return parse_sitemap(body, url=URL, source_id="fuzz")


def parse_a_listing(body: bytes) -> object:
    return parse_listing(body, url=URL, selector="article a", source_id="fuzz")


PARSERS: list[Callable[[bytes], object]] = [
    parse_xml_feed,
    parse_jsonfeed,
    parse_api,
    parse_a_sitemap,
    parse_a_listing,
]

GARBAGE = [
    b"",
    b"\x00\x00\x00",
    b"\xff\xfe\x00<",
    b"\x1f\x8b\x08\x00garbage",
    b"{",
    b'{"version": "https://jsonfeed.org/version/1", "items": [1, "x", null, {"id": []}]}',
    b'{"data": {"id": 1}}',
    b'{"data": [{"id": 1e999, "title": [[[]]]}]}',
    b"<" * 10_000,
    b"<rss><channel><item>" * 2_000,
    b"<?xml version='1.0' encoding='bogus'?><urlset><url><loc>x</loc></url></urlset>",
    b"<urlset><url><loc>https://a.example/\x00</loc><lastmod>2026-13-45</lastmod></url>",
    b"<html><body><article><a href='javascript:alert(1)'>x</a></article>" * 100,
    b"<html>" + b"<div>" * 20_000,
    b"\xef\xbb\xbf" + b"[" * 100_000,
    "\u202e\ud7ff\ufffd".encode() * 1000,
    b"<E:",  # a tag name etree.QName refuses, kept by the recovering parser: found by fuzzing
]


def assert_parse_error_or_result(parse: Callable[[bytes], object], body: bytes) -> None:
    try:
        result = parse(body)
    except ParseError as exc:
        assert exc.message and "\n" not in exc.message.strip()
    else:
        assert result is not None


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gives_a_parse_error_or_a_result(
    parse: Callable[[bytes], object], body: bytes
) -> None:
    assert_parse_error_or_result(parse, body)


# -- 5. hypothesis: short in the suite; bench/fuzz_parse.py runs it for minutes ---------------

FUZZ = settings(max_examples=200, deadline=2_000, suppress_health_check=[HealthCheck.too_slow])
FRAGMENTS = [
    b"<?xml version='1.0'?>",
    b"<!DOCTYPE rss [",
    b'<!ENTITY a "AAAA">',
    b"]>",
    b"&a;",
    b"<rss version='2.0'>",
    b"<channel>",
    b"<item>",
    b"<title>",
    b"</title>",
    b"<link>",
    b"https://a.example/x",
    b"</item>",
    b"<urlset>",
    b"<url><loc>",
    b"</loc></url>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'>",
    b"<entry>",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"version": "https://jsonfeed.org/version/1.1"',
    b'"items":',
    b'"data":',
    b'"id":',
    b"9" * 4400,
    b",",
    b":",
    b"\x1f\x8b",
    b"<![CDATA[",
    b"\xff",
    b"<html><article><a href='/a'>",
]
BODIES = st.one_of(
    st.binary(max_size=2_000),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join),
)

# Raw bytes are almost never valid JSON: JSON documents shaped like a JSON Feed or an API
# page (their keys, any values, huge integers included) reach the parsers' own code.
JSON_KEYS = [
    "version",
    "items",
    "data",
    "id",
    "title",
    "url",
    "content_html",
    "summary",
    "date_published",
    "authors",
    "name",
    "home_page_url",
    "error_code",
    "message",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.just("https://jsonfeed.org/version/1.1")
    | st.integers(min_value=10**4000),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=40,
)
JSON_RECORDS = st.lists(st.dictionaries(st.sampled_from(JSON_KEYS), JSON_VALUES), max_size=5)
JSON_DOCUMENTS = (
    JSON_VALUES
    | st.fixed_dictionaries(
        {"version": st.just("https://jsonfeed.org/version/1.1"), "items": JSON_RECORDS},
        optional={"title": JSON_VALUES, "home_page_url": JSON_VALUES},
    )
    | st.fixed_dictionaries({"data": JSON_RECORDS})
)
JSON_BODIES = BODIES | JSON_DOCUMENTS.map(lambda doc: json.dumps(doc).encode())


@FUZZ
@given(body=BODIES)
def test_fuzz_parse_feed(body: bytes) -> None:
    assert_parse_error_or_result(parse_xml_feed, body)


@FUZZ
@given(body=BODIES)
def test_fuzz_sitemap(body: bytes) -> None:
    assert_parse_error_or_result(parse_a_sitemap, body)


@FUZZ
@given(body=JSON_BODIES)
def test_fuzz_json_parsers(body: bytes) -> None:
    assert_parse_error_or_result(parse_jsonfeed, body)
    assert_parse_error_or_result(parse_api, body)


# -- 4. a deadline on every worker task -------------------------------------------------------


@pytest.mark.slow
async def test_a_task_past_its_deadline_is_stopped_and_the_pool_recovers() -> None:
    # A fresh pool's start (forkserver, trafilatura's import) counts in the deadline: not 1 s.
    workers = WorkerPool(2, deadline=5.0)
    try:
        assert await workers.run(operator.add, 1, 2) == 3  # workers started and warm
        started = time.perf_counter()
        sleeper = asyncio.ensure_future(workers.run(time.sleep, 120))
        neighbour = asyncio.ensure_future(workers.run(time.sleep, 0.3))
        with pytest.raises(WorkerTaskFailed, match="sleep took longer than 5 s") as caught:
            await sleeper
        assert caught.value.seconds == 5.0
        assert time.perf_counter() - started < 15.0  # not the 120 s the task asked for
        assert await neighbour is None  # killed with the pool, run again on the fresh one
        assert await workers.run(operator.mul, 6, 7) == 42
    finally:
        workers.close()


def slow_article(paragraphs: int) -> str:
    words = "Le ministère publie un marché de services numériques souverains. " * 8
    body = "".join(f"<p>{n}. {words}</p>" for n in range(paragraphs))  # distinct: none deduped
    return f"<html><body><article>{body}</article></body></html>"


@pytest.mark.slow
async def test_a_page_whose_extraction_overruns_is_failed_then_skipped(web_server: Any) -> None:
    # About 6.7 MB: a warm worker takes over twice the deadline below to extract it.
    slow = web_server.add("/slow", slow_article(12_000))
    quick = web_server.add("/quick", slow_article(5))
    workers = WorkerPool(1)
    http = HttpClient(FetchSettings(max_body=10_000_000), allow_private=True)
    reader = ArticleReader(http, workers, 2, lambda: datetime.now(UTC))
    source = SourceConfig(
        id="slow", name="Slow", url=slow, robots=False, allow_private_networks=True
    )
    try:
        # A fresh worker's start is not the page's time: warm it under the default deadline.
        await workers.run(operator.add, 0, 0)
        workers.deadline = 0.5
        problems = []
        for _ in range(POISON_AFTER + 1):
            _, problem = await reader._page(source, slow, True)
            problems.append(problem)
        assert [p.message if p else None for p in problems[:POISON_AFTER]] == [
            f"{slow}: extraction took longer than 0.5 s"
        ] * POISON_AFTER
        assert all(p is not None and not p.transient for p in problems)
        assert "not extracted" in problems[-1].message  # type: ignore[union-attr]
        assert len(web_server.hits("/slow")) == POISON_AFTER  # the poison URL is not fetched
        workers.deadline = 30.0
        await workers.run(operator.add, 0, 0)
        page, problem = await reader._page(source, quick, True)
        assert problem is None and page is not None and "souverains" in page.text
    finally:
        await http.close()
        workers.close()


async def test_an_article_text_is_cut_to_its_cap(web_server: Any, pool: WorkerPool) -> None:
    url = web_server.add("/long", slow_article(600))  # about 330,000 characters of text
    http = HttpClient(FetchSettings(), allow_private=True)
    reader = ArticleReader(http, pool, 2, lambda: datetime.now(UTC))
    source = SourceConfig(
        id="long", name="Long", url=url, robots=False, allow_private_networks=True
    )
    try:
        article, problem = await reader.read(source, FeedItem("url:" + url, url, "Titre", ""), url)
    finally:
        await http.close()
    assert problem is None and article.extraction is Extraction.PAGE
    assert len(article.text) == MAX_TEXT


@pytest.mark.slow
async def test_a_poison_page_is_remembered_across_restarts_and_shown_in_sources(
    tmp_path: Any, web_server: Any
) -> None:
    from support import rss_of
    from support.ingest import FETCH, build, source

    # About 13 MB: a warm worker takes over twice the deadline below to extract it, so
    # that the overrun does not depend on the machine's load.
    slow = web_server.add("/slow", slow_article(24_000))
    item = {"title": "Marché lent", "link": slow, "description": "Le résumé du flux."}
    feed = web_server.add("/feed.xml", rss_of(item), content_type="application/rss+xml")
    sources = source("lent", feed, allow_private_networks=True, robots=False)
    workers = WorkerPool(1)
    try:
        # Long enough for a fresh worker's start (after a replacement, the next task pays it).
        workers.deadline = 3.0
        fetch = FETCH.replace('max_body = "1MB"', 'max_body = "20MB"')
        async with build(tmp_path, sources, workers, fetch=fetch) as svc:
            (outcome,) = (await svc.run_pass()).outcomes
            assert outcome.ok and outcome.new_articles == 1  # the feed summary stands in
            assert svc.pipeline.reader.poisoned[slow] == 1, outcome.warnings
        async with build(tmp_path, sources, workers, fetch=fetch) as restarted:
            # What the first process learnt is there after a restart: one more failure
            # and the page is not fetched again.
            assert restarted.pipeline.reader.poisoned[slow] == 1
            source_config = restarted.config.sources[0]
            _, problem = await restarted.pipeline.reader._page(source_config, slow, False)
            assert problem is not None and problem.poisoned
            fetched = len(web_server.hits("/slow"))
            _, skipped = await restarted.pipeline.reader._page(source_config, slow, False)
            assert skipped is not None and "not extracted" in skipped.message
            assert len(web_server.hits("/slow")) == fetched
    finally:
        workers.close()
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "monitor", "--config", str(tmp_path / "config"), "sources"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "COLUMNS": "300",
        },
    )
    assert listed.returncode == 0, listed.stderr
    assert "1 page too slow to extract or crashing a worker" in listed.stdout


def test_an_item_whose_worker_task_overran_is_told_in_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from monitor.pipeline import _item_failed, _Tally

    tally = _Tally()
    source = SourceConfig(id="lent", name="Lent", url="https://example.org/feed")
    item = FeedItem("k", "https://example.org/a", "Titre", "")
    overran = WorkerTaskFailed("", "fingerprint took longer than 30 s; its worker was replaced", 30)
    with caplog.at_level("WARNING"):
        _item_failed(source, item, overran, tally)
    expected = (
        "item https://example.org/a not stored: "
        "fingerprint took longer than 30 s; its worker was replaced"
    )
    assert tally.warnings == [expected]
    assert [r.exc_info for r in caplog.records] == [None]  # expected: no traceback
    assert "WorkerTaskFailed(" not in caplog.text
