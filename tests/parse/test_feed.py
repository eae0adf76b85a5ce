"""Feeds into items: formats, identities, quirks; and decoding of lying pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.parse.encoding import decode
from monitor.parse.feed import parse_feed
from monitor.parse.identity import content_hash, entry_key
from monitor.parse.text import html_to_text

from support import corpus_path

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Le Fil</title>
<item><title>Le ministère signe avec Microsoft</title><link>/articles/1</link>
<guid isPermaLink="false">a-1</guid><pubDate>Fri, 20 Nov 2026 07:30:00 GMT</pubDate>
<description>&lt;p&gt;Un accord-cadre &lt;b&gt;de 4 ans&lt;/b&gt;.&lt;/p&gt;</description></item>
<item><title>Sans guid</title><link>https://example.org/articles/2</link><description>texte</description></item>
<item><title>Doublon</title><link>https://example.org/articles/2</link>
<description>texte</description></item>
</channel></rss>"""


def test_rss_items_with_relative_links_dates_and_text() -> None:
    feed = parse_feed(
        RSS.encode(), url="https://example.org/feed.xml", content_type="application/rss+xml"
    )
    assert feed.title == "Le Fil"
    first, second = feed.items
    assert first.key == "guid:a-1" and first.url == "https://example.org/articles/1"
    assert first.summary == "Un accord-cadre de 4 ans."
    assert first.published == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert second.key == "url:https://example.org/articles/2" and second.guid is None
    assert feed.warnings == ("1 entries repeat an earlier entry's id; kept the first",)


def test_item_limit_is_applied_and_reported() -> None:
    items = "".join(
        f"<item><title>t{n}</title><link>https://e.org/{n}</link></item>" for n in range(10)
    )
    body = f"<rss version='2.0'><channel><title>x</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, url="https://e.org/f", content_type="application/rss+xml", max_items=3)
    assert [i.title for i in feed.items] == ["t0", "t1", "t2"]
    assert "7 entries beyond the 3-item limit were skipped" in feed.warnings


def test_json_feed() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "JF",
            "home_page_url": "https://jf.org/",
            "items": [
                {
                    "id": "1",
                    "url": "/a",
                    "title": "A",
                    "content_html": "<p>Bonjour</p>",
                    "date_published": "2026-11-20T08:00:00+01:00",
                    "authors": [{"name": "Ana"}],
                }
            ],
        }
    ).encode()
    feed = parse_feed(body, url="https://jf.org/feed.json", content_type="application/feed+json")
    (item,) = feed.items
    assert (item.key, item.url, item.summary, item.author) == (
        "guid:1",
        "https://jf.org/a",
        "Bonjour",
        "Ana",
    )
    assert item.published == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/rss+xml", "empty response"),
        (
            b"<!DOCTYPE html><html><body>Accueil</body></html>",
            "text/html",
            "got an HTML page, not a feed",
        ),
        (
            b"<rss><channel><title>x</ti",
            "application/xml",
            "not a recognizable RSS, Atom or JSON feed",
        ),
        (b'{"hello": 1}', "application/json", "is not a JSON Feed"),
    ],
)
def test_not_a_feed(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as error:
        parse_feed(body, url="https://e.org/f", content_type=content_type, source_id="src")
    assert error.value.source_id == "src"


def test_ill_formed_feed_is_read_with_a_warning() -> None:
    body = b"<rss version='2.0'><channel><title>x</title><item><title>A &amp B</title><link>https://e.org/1</link></item></channel></rss>"
    feed = parse_feed(body, url="https://e.org/f", content_type="application/rss+xml")
    assert [i.url for i in feed.items] == ["https://e.org/1"]
    assert feed.warnings and feed.warnings[0].startswith("ill-formed feed, read as far as possible")


def test_identity_fallbacks_and_content_hash() -> None:
    assert entry_key(" g ", "https://e.org/a", "t", "s") == "guid:g"
    assert entry_key(None, "https://e.org/a", "t", "s") == "url:https://e.org/a"
    assert entry_key(None, None, "t", "s").startswith("hash:")
    assert content_hash("Titre", "un  texte\n") == content_hash("Titre ", "un texte")
    assert content_hash("Titre", "un texte") != content_hash("Titre", "un autre texte")


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = "<p>Un&nbsp;paragraphe</p><script>alert(1)</script><p>Deux\u200b</p>"
    assert html_to_text(html) == "Un\u00a0paragraphe\nDeux\u200b"


def test_html_to_text_keeps_french_no_break_spaces_and_collapses_padding() -> None:
    assert html_to_text("Armées&nbsp;: «\u202fcloud\u202f»") == "Armées\u00a0: «\u202fcloud\u202f»"
    assert html_to_text("Microsoft&nbsp;&nbsp; \t 365&nbsp;") == "Microsoft 365"


@pytest.mark.parametrize(
    ("body", "header", "text", "charset"),
    [
        ("Ministère".encode("cp1252"), "iso-8859-1", "Ministère", "cp1252"),
        # declared Latin-1 but really UTF-8: the common lie
        ("Ministère".encode(), "iso-8859-1", "Ministère", "utf-8"),
        # declared UTF-8 but really Windows-1252: the declaration cannot decode it
        (
            '<meta charset="utf-8">Qualifiée'.encode("cp1252"),
            None,
            '<meta charset="utf-8">Qualifiée',
            "cp1252",
        ),
        (
            "<?xml version='1.0' encoding='iso-8859-15'?><a>€</a>".encode("iso-8859-15"),
            None,
            "<?xml version='1.0' encoding='iso-8859-15'?><a>€</a>",
            "iso8859-15",
        ),
        (b"\xef\xbb\xbfl\xc3\xa9", "cp1252", "lé", "utf-8"),
    ],
)
def test_decode_trusts_in_order_and_catches_lies(
    body: bytes, header: str | None, text: str, charset: str
) -> None:
    assert decode(body, header) == (text, charset)


def test_corpus_french_feeds_parse() -> None:
    folder = corpus_path("feeds", "picofeed", "fr")
    parsed = {
        path.name: parse_feed(
            path.read_bytes(), url="https://example.org/feed", content_type="application/xml"
        )
        for path in sorted(folder.glob("*.xml"))
    }
    assert len(parsed) >= 10
    assert all(feed.items for feed in parsed.values())
    latin = parsed["univers_freebox.xml"]
    assert any("é" in item.title for item in latin.items)


def test_source_errors_survive_the_trip_from_a_worker_process() -> None:
    import pickle

    from monitor.errors import RateLimited

    for error in (ParseError("src", "bad feed"), RateLimited("src", 429, "https://e.org/f", 30.0)):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.source_id, copy.kind) == (
            type(error),
            str(error),
            error.source_id,
            error.kind,
        )
    assert pickle.loads(pickle.dumps(RateLimited("s", 429, "u", 5.0))).retry_after == 5.0
