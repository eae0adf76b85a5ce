"""Real feeds and real French article pages from the shared corpus, served on loopback and run
through whole passes. Skipped when the corpus is absent."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.parse.feed import parse_feed

from support import CORPUS, corpus_path, rss_of
from support.ingest import articles, build, source, states

FRENCH_FEEDS = ["next_inpact_full.xml", "pcinpact.xml", "univers_freebox.xml"]


@pytest.mark.parametrize("name", FRENCH_FEEDS)
async def test_real_french_feed_through_a_pass(tmp_path, web_server, pool, name: str) -> None:
    body = corpus_path("feeds", "picofeed", "fr", name).read_bytes()
    expected = parse_feed(body, url="https://corpus.example/feed", max_items=50)
    url = web_server.add("/feed.xml", body, content_type="application/rss+xml")
    sources = source("real", url, allow_private_networks=True, extract=False, max_items=50)
    async with build(tmp_path, sources, pool) as svc:
        summary = await svc.run_pass()
        stored = await articles(svc)
    (outcome,) = summary.outcomes
    assert outcome.ok and outcome.new_articles == len(stored)
    # Items that point at the same canonical URL are one article (sightings), so stored
    # articles are the distinct canonical links of the feed.
    assert {row.title for row in stored} <= {item.title for item in expected.items}
    assert len(stored) >= len(expected.items) * 0.9
    assert all(row.extraction == "summary" for row in stored)


async def test_latin1_feed_without_declaration_served_with_a_lying_header(
    tmp_path, web_server, pool
) -> None:
    body = corpus_path("feeds", "miniflux", "no_encoding_ISO-8859-1.xml").read_bytes()
    assert not body.isascii()
    honest = parse_feed(body, url="https://corpus.example/f")
    url = web_server.add(
        "/feed.xml", body, content_type="application/rss+xml; charset=utf-8"
    )  # the header says UTF-8; the bytes are Latin-1
    sources = source("psy", url, allow_private_networks=True, extract=False)
    async with build(tmp_path, sources, pool) as svc:
        await svc.run_pass()
        stored = await articles(svc)
    titles = sorted(row.title for row in stored)
    assert titles == sorted({item.title or "(sans titre)" for item in honest.items})
    assert any("é" in title for title in titles) and not any("\ufffd" in t for t in titles)


FUNDUS = ["LeMonde_2023_09_01", "LesEchos_2024_07_18", "LeFigaro_2024_11_22"]


async def test_real_french_articles_extracted_with_lead_date_and_paywall(
    tmp_path, web_server, pool
) -> None:
    folder = corpus_path("articles", "fundus")
    gold = {name: json.loads((folder / f"{name}.json").read_text()) for name in FUNDUS}
    items = []
    for name in FUNDUS:
        html = gzip.decompress((folder / f"{name}.html.gz").read_bytes())
        link = web_server.add(f"/articles/{name}", html)
        items.append({"title": gold[name]["expected"]["title"], "link": link, "guid": name})
    feed = web_server.add("/feed.xml", rss_of(*items), content_type="application/rss+xml")
    sources = source("presse", feed, allow_private_networks=True)
    async with build(tmp_path, sources, pool) as svc:
        summary = await svc.run_pass()
        rows = await articles(svc)
        stored = {row.url.rsplit("/", 1)[1]: row for row in rows}
        state = (await states(svc))["presse"]
    assert summary.outcomes[0].new_articles == 3 and state.warning is None
    for name in FUNDUS:
        row = stored[name]
        expected = gold[name]["expected"]
        chapo = " ".join(" ".join(expected["body"]["summary"]).split())
        assert (row.extraction, row.lang) == ("page", "fr")
        assert chapo[:80] in " ".join(row.text.split()), name
        published = datetime.fromisoformat(expected["publishing_date"]).astimezone(UTC)
        assert row.published_at is not None
        assert row.published_at.date() == published.date(), name
    assert set(stored["LeMonde_2023_09_01"].flags.split(",")) == {"lead-added", "paywall"}
    assert stored["LesEchos_2024_07_18"].flags == "lead-added"
    assert stored["LeFigaro_2024_11_22"].flags == ""


def test_corpus_location_is_where_the_manifest_says() -> None:
    manifest = corpus_path("MANIFEST.md").read_text(encoding="utf-8")
    assert manifest.startswith("# Shared test corpus") and CORPUS.name == "corpus"


def corpus_records() -> list[dict[str, str]]:
    """The corpus's article pages as its index lists them."""
    return json.loads(corpus_path("articles", "index.json").read_text())


def page_bodies(records: Iterable[dict[str, str]]) -> list[bytes]:
    """The HTML of these corpus pages, decompressed."""
    bodies = []
    for record in records:
        body = corpus_path("articles", record["file"]).read_bytes()
        bodies.append(gzip.decompress(body) if record["file"].endswith(".gz") else body)
    return bodies


def _fallback_stopwords() -> int:
    import trafilatura.external

    return len(trafilatura.external.JT_STOPLIST or ())


async def test_workers_hold_french_and_english_fallback_stopwords_only(pool) -> None:
    from justext.utils import get_stoplist

    # Unnarrowed, the first fallback extraction would load every language's stopwords.
    expected = len(set(get_stoplist("French")) | set(get_stoplist("English")))
    assert await pool.run(_fallback_stopwords) == expected


def test_narrowed_fallback_stopwords_keep_french_and_english_text() -> None:
    """The same text on the corpus's French and English pages with the two lists as with
    all of them (a page whose extraction falls back to jusText included)."""
    import trafilatura.external

    from monitor.extract.article import extract_page, narrow_fallback_stopwords

    pages = page_bodies(r for r in corpus_records() if r["lang"] in ("fr", "en"))

    def texts() -> list[str | None]:
        extracted = (extract_page(body, url="https://corpus.example/a") for body in pages[::4])
        return [page.text if page else None for page in extracted]

    saved = trafilatura.external.JT_STOPLIST
    try:
        trafilatura.external.JT_STOPLIST = None  # type: ignore[assignment]
        wide = texts()
        narrow_fallback_stopwords()
        assert texts() == wide
    finally:
        trafilatura.external.JT_STOPLIST = saved  # type: ignore[assignment]


def _metadata_readers() -> tuple[str, str, str]:
    import trafilatura.metadata

    return (
        trafilatura.metadata.extract_catstags.__name__,
        trafilatura.metadata.extract_license.__name__,
        trafilatura.metadata.extract_author.__name__,
    )


async def test_workers_skip_the_metadata_nothing_reads(pool) -> None:
    assert await pool.run(_metadata_readers) == ("_no_categories", "_no_license", "_no_byline")


def test_skipping_unread_metadata_changes_no_extracted_field_but_markup_bylines(
    monkeypatch,
) -> None:
    """Text, title, date, site, language, description and paywall flag of the corpus's
    French and English pages are the same with and without categories, tags, licence
    and byline search; an author read from meta tags stays, one found only by searching
    the markup is not looked for."""
    import trafilatura.metadata

    from monitor.extract.article import extract_page, skip_unused_metadata

    pages = page_bodies(r for r in corpus_records()[::3] if r["lang"] in ("fr", "en"))
    for name in ("extract_catstags", "extract_license", "extract_author"):  # restored after
        monkeypatch.setattr(trafilatura.metadata, name, getattr(trafilatura.metadata, name))
    complete = [extract_page(body, url="https://corpus.example/a") for body in pages]
    skip_unused_metadata()
    skip_unused_metadata()  # idempotent
    assert trafilatura.metadata.extract_license.__name__ == "_no_license"
    skipped = [extract_page(body, url="https://corpus.example/a") for body in pages]
    assert [replace(p, author=None) if p else None for p in skipped] == [
        replace(p, author=None) if p else None for p in complete
    ]
    pairs = [(c.author, s.author) for c, s in zip(complete, skipped, strict=True) if c and s]
    assert all(s in (c, None) for c, s in pairs)
    assert any(c and s is None for c, s in pairs) and any(s for _, s in pairs)
