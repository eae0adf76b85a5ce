"""Parsing of every source kind, extraction quirks, and the arithmetic of the next poll."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import ParseError
from monitor.extract.article import (
    FAST_TEXT_MIN,
    extract_page,
    is_paywalled,
    with_lead,
    without_headline,
)
from monitor.parse.feed import parse_feed
from monitor.parse.listing import parse_listing
from monitor.parse.sitemap import parse_sitemap
from monitor.parse.watch import change_text, change_title, compare, region_lines
from monitor.records import SourceMemo, WatchChange
from monitor.schedule.polling import backoff, next_poll

from support import corpus_path

RSS_TEMPLATE = (
    '<?xml version="1.0" encoding="{decl}"?><rss version="2.0"><channel><title>Flux</title>'
    "<item><title>Qualifiée SecNumCloud à 100 €</title><link>https://e.org/1</link></item>"
    "</channel></rss>"
)


# -- feeds: encodings and identities --------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "decl", "header"),
    [
        ("utf-8", "utf-8", "windows-1252"),  # header lies: Latin declared, UTF-8 sent
        ("utf-8", "utf-8", "windows-1251"),  # header lies with a Cyrillic charset
        ("cp1252", "utf-8", None),  # the XML declaration lies
        ("cp1252", "windows-1252", "utf-8"),  # header lies the other way
        ("iso-8859-15", "iso-8859-15", None),  # the truth, in a rarer charset
    ],
)
def test_feed_charset_lies_are_caught(encoding: str, decl: str, header: str | None) -> None:
    body = RSS_TEMPLATE.format(decl=decl).encode(encoding)
    feed = parse_feed(
        body, url="https://e.org/f", content_type="application/rss+xml", charset=header
    )
    assert [item.title for item in feed.items] == ["Qualifiée SecNumCloud à 100 €"]


def test_a_lying_header_is_reported_as_a_warning() -> None:
    body = RSS_TEMPLATE.format(decl="utf-8").encode()
    feed = parse_feed(
        body, url="https://e.org/f", content_type="application/rss+xml", charset="iso-8859-1"
    )
    assert feed.warnings == (
        "the server declares charset iso-8859-1 but the feed is utf-8: read as utf-8",
    )


def test_a_guid_shared_by_different_links_is_not_trusted() -> None:
    items = "".join(
        f"<item><title>Article {n}</title><link>https://e.org/{n}</link>"
        "<guid>https://e.org/</guid></item>"
        for n in range(3)
    )
    body = f"<rss version='2.0'><channel><title>x</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, url="https://e.org/f", content_type="application/rss+xml")
    assert [item.key for item in feed.items] == [f"url:https://e.org/{n}" for n in range(3)]
    assert feed.warnings == (
        "3 entries share an id with entries that link elsewhere; identified by their link instead",
    )


def test_html_instead_of_a_feed_names_the_advertised_feed() -> None:
    page = (
        b"<!DOCTYPE html><html><head><link rel='alternate' type='application/rss+xml' "
        b"href='/actualites/rss.xml'></head><body>Accueil</body></html>"
    )
    with pytest.raises(ParseError) as error:
        parse_feed(page, url="https://e.org/actualites", content_type="text/html", source_id="s")
    assert error.value.message == (
        "got an HTML page, not a feed, from https://e.org/actualites (content type text/html); "
        "the page advertises a feed at https://e.org/actualites/rss.xml"
    )


def test_truncated_feed_keeps_the_entries_before_the_break() -> None:
    body = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title>"
        b"<item><title>Un</title><link>https://e.org/1</link></item>"
        b"<item><title>Deux</title><link>https://e.org/2</link></item>"
        b"<item><title>Tro"
    )
    feed = parse_feed(body, url="https://e.org/f", content_type="application/rss+xml")
    assert [item.url for item in feed.items][:2] == ["https://e.org/1", "https://e.org/2"]
    assert feed.warnings[0].startswith("ill-formed feed, read as far as possible")


def test_empty_but_valid_feed_is_a_warning_not_an_error() -> None:
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>"
    feed = parse_feed(body, url="https://e.org/f", content_type="application/rss+xml")
    assert feed.items == () and feed.warnings == ("the feed has no items",)


# -- page sources -----------------------------------------------------------------------------

LISTING = """<!DOCTYPE html><html><head><title>Actualités | ANSSI</title>
<base href="https://cyber.gouv.fr/"></head><body>
<nav><a href="/">Accueil</a></nav>
<div class="views-row"><h3>La qualification SecNumCloud étendue</h3>
  <time datetime="2026-11-20T09:00:00+01:00">20 nov.</time>
  <a href="actualites/secnumcloud-etendue">Lire la suite</a></div>
<div class="views-row"><a href="/actualites/rapport-annuel#top"><img alt="Rapport annuel"></a></div>
<div class="views-row"><a href="javascript:void(0)">Rien</a></div>
<div class="views-row"><h3>Doublon</h3><a href="/actualites/secnumcloud-etendue">x</a></div>
</body></html>"""


def test_listing_page_links_titles_dates_and_base() -> None:
    feed = parse_listing(
        LISTING.encode(), url="https://cyber.gouv.fr/actualites", selector=".views-row"
    )
    assert feed.title == "Actualités | ANSSI"
    assert [(i.url, i.title) for i in feed.items] == [
        (
            "https://cyber.gouv.fr/actualites/secnumcloud-etendue",
            "La qualification SecNumCloud étendue",
        ),
        ("https://cyber.gouv.fr/actualites/rapport-annuel", "Rapport annuel"),
    ]
    assert feed.items[0].published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert feed.warnings == ("1 entries repeat an earlier entry's id; kept the first",)


def test_listing_selector_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(
        ParseError, match=r"the selector '\.gone' matches nothing on https://e\.org/"
    ):
        parse_listing(LISTING.encode(), url="https://e.org/", selector=".gone", source_id="s")


def test_invalid_selector_is_a_config_error(tmp_path) -> None:
    from monitor.config.sources import load_sources
    from monitor.config.toml import read_toml

    from support import write

    path = write(
        tmp_path / "sources.toml",
        """
        [[source]]
        id = "anssi"
        name = "ANSSI"
        url = "https://cyber.gouv.fr/actualites"
        kind = "page"
        selector = "div[["
        """,
    )
    _, sources, problems = load_sources(read_toml(path, "sources.toml"))
    assert sources == () and len(problems) == 1
    assert "invalid CSS selector 'div[['" in problems[0].message and problems[0].line == 6


# -- sitemaps ---------------------------------------------------------------------------------

NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://www.numerique.gouv.fr/actualites/ancienne/</loc>
    <news:news><news:publication><news:name>DINUM</news:name><news:language>fr</news:language>
    </news:publication><news:publication_date>2026-11-01</news:publication_date>
    <news:title>Ancienne</news:title></news:news></url>
  <url><loc>https://www.numerique.gouv.fr/actualites/suite-numerique/</loc>
    <news:news><news:publication_date>2026-11-20T10:00:00+01:00</news:publication_date>
    <news:title>La Suite numérique généralisée</news:title></news:news></url>
  <url><loc>/actualites/relative/</loc><lastmod>2026-11-10</lastmod></url>
  <url><loc>mailto:x@example.org</loc></url>
</urlset>"""


def test_news_sitemap_items_newest_first() -> None:
    feed = parse_sitemap(
        NEWS_SITEMAP.encode(), url="https://www.numerique.gouv.fr/sitemap-news.xml", max_items=2
    )
    assert [(i.url, i.title) for i in feed.items] == [
        (
            "https://www.numerique.gouv.fr/actualites/suite-numerique/",
            "La Suite numérique généralisée",
        ),
        ("https://www.numerique.gouv.fr/actualites/relative/", ""),
    ]
    assert feed.items[0].published == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert feed.warnings == ("1 entries beyond the 2-item limit were skipped",)


def test_gzipped_sitemap_and_index() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://e.org/s-2026-09.xml</loc><lastmod>2026-09-30</lastmod></sitemap>
      <sitemap><loc>https://e.org/s-2026-11.xml</loc><lastmod>2026-11-20</lastmod></sitemap>
      <sitemap><loc>https://e.org/s-2026-10.xml</loc><lastmod>2026-10-31</lastmod></sitemap>
      <sitemap><loc>https://e.org/s-2026-08.xml</loc><lastmod>2026-08-31</lastmod></sitemap>
    </sitemapindex>"""
    parsed = parse_sitemap(gzip.compress(index), url="https://e.org/sitemap.xml.gz")
    assert parsed.items == ()
    assert parsed.children == (
        "https://e.org/s-2026-11.xml",
        "https://e.org/s-2026-10.xml",
        "https://e.org/s-2026-09.xml",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response"),
        (
            b"<html><body>Not found</body></html>",
            "not a sitemap at https://e.org/s.xml (root element 'html')",
        ),
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzipped sitemap"),
    ],
)
def test_not_a_sitemap(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_sitemap(body, url="https://e.org/s.xml", source_id="s")


def test_sitemap_does_not_expand_entities() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>https://e.org/a</loc>
    <news:news xmlns:news="n"><news:title>&x;</news:title></news:news></url>
    </urlset>"""
    (item,) = parse_sitemap(body, url="https://e.org/s.xml").items
    assert "root:" not in item.title and item.url == "https://e.org/a"


# -- watched regions --------------------------------------------------------------------------

QUALIFIED = """<html><body><header>Menu</header>
<table id="offres"><tr><th>Prestataire</th><th>Offre</th></tr>
<tr><td>OVHcloud</td><td>Hosted Private Cloud</td></tr>
<tr><td>Outscale</td><td>Cloud souverain</td></tr>
{extra}</table><!-- commentaire --><footer>Mis à jour le {date}</footer></body></html>"""


def test_region_lines_are_rows_of_text() -> None:
    html = QUALIFIED.format(extra="", date="1er nov.").encode()
    lines = region_lines(html, url="https://e.org/", selector="#offres")
    assert lines == (
        "Prestataire | Offre",
        "OVHcloud | Hosted Private Cloud",
        "Outscale | Cloud souverain",
    )


def test_compare_reports_added_and_removed_lines_whatever_the_order() -> None:
    before = ("A", "B", "C")
    change = compare(before, ("C", "A", "D"))
    assert change == WatchChange(added=("D",), removed=("B",))
    assert not compare(before, ("C", "B", "A"))
    assert change_title("Offres qualifiées", WatchChange(("Altanis | IaaS",), ())) == (
        "Offres qualifiées : ajout de « Altanis | IaaS »"
    )
    assert change_title("X", change) == "X : 1 ajout(s), 1 retrait(s)"
    assert change_text(change) == "Ajouté :\n+ D\n\nRetiré :\n- B"


def test_source_memo_round_trip_and_garbage() -> None:
    memo = SourceMemo(watch=(), retry={"abc": 2}, hold="max-age", sitemaps={"u": ("e", None)})
    again = SourceMemo.from_json(memo.to_json())
    assert again == memo and again.watch == ()
    assert SourceMemo.from_json("not json") == SourceMemo()
    assert SourceMemo.from_json('["a list"]') == SourceMemo()
    assert SourceMemo.from_json('{"retry": {"k": "x"}, "watch": 3}') == SourceMemo()


# -- next poll --------------------------------------------------------------------------------


def test_backoff_doubles_up_to_a_cap_and_honours_retry_after() -> None:
    quarter = timedelta(minutes=15)
    assert [backoff(quarter, n) for n in (1, 2, 3, 6, 50)] == [
        quarter,
        2 * quarter,
        4 * quarter,
        timedelta(hours=6),
        timedelta(hours=6),
    ]
    assert backoff(timedelta(days=1), 5) == timedelta(days=1)  # cap: the interval when longer
    assert backoff(quarter, 1, retry_after=7200) == timedelta(hours=2)
    assert backoff(quarter, 1, retry_after=10 * 86400) == timedelta(days=1)


def test_next_poll_uses_max_age_and_retry_after_as_floors() -> None:
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    quarter = timedelta(minutes=15)
    assert next_poll(quarter, now, None, None) == (now + quarter, None)
    assert next_poll(quarter, now, 60, None) == (now + quarter, None)
    assert next_poll(quarter, now, 3600, None) == (now + timedelta(hours=1), "max-age")
    assert next_poll(quarter, now, 3600, 7200) == (now + timedelta(hours=2), "retry-after")
    assert next_poll(quarter, now, 10**9, None) == (now + timedelta(days=1), "max-age")


# -- extraction -------------------------------------------------------------------------------

ARTICLE = """<html lang="fr"><head><title>Titre</title>
<meta property="og:description"
 content="L'État confie ses données de santé à un cloud qualifié SecNumCloud.">
<meta property="og:site_name" content="Le Site">{extra}</head><body>
<p class="chapo">L'État confie ses données de santé à un cloud qualifié SecNumCloud.</p>
<article><h1>Titre</h1>
<p>Le ministère a annoncé le transfert de la plateforme vers un hébergeur français. {body}</p>
<p>Les premières bases seront migrées au printemps, a précisé la direction du numérique.</p>
</article></body></html>"""


def test_lead_outside_the_body_is_put_back() -> None:
    html = ARTICLE.format(extra="", body="Le calendrier reste serré. " * 12)
    page = extract_page(html.encode(), url="https://e.org/a")
    assert page is not None and page.description and page.site_name == "Le Site"
    lead = "L'État confie ses données de santé à un cloud qualifié SecNumCloud."
    assert lead not in page.text  # the chapô sits outside <article>: the extractor drops it
    assert with_lead(page.text, page.description) == f"{lead}\n\n{page.text}"
    assert with_lead(f"{lead}\n\n{page.text}", lead + " […]") is None  # already there
    assert with_lead(page.text, "x" * 2000) is None  # a whole article is not a lead
    assert with_lead("Le texte.", "L’État confie ses données… Lire la suite") == (
        "L’État confie ses données\n\nLe texte."
    )


def test_a_headline_repeated_atop_the_text_is_not_its_lead() -> None:
    body = (
        "<html><head><title>S3NS obtient SecNumCloud | Le Site</title></head><body><article>"
        "<h1>S3NS obtient SecNumCloud</h1><p>C'est une première pour le cloud en France. "
        "Le 17 décembre, S3NS a reçu la qualification SecNumCloud de l'ANSSI.</p>"
        + "<p>Un paragraphe de contexte, assez long pour être retenu.</p>" * 3
        + "</article></body></html>"
    ).encode()
    page = extract_page(body, url="https://e.org/a")
    assert page is not None and page.text.startswith("C'est une première")
    # Only a line that is the title (or its start) goes; text that merely begins alike stays.
    assert without_headline("S3NS obtient SecNumCloud\nLe texte.", "S3NS obtient…") == (
        "S3NS obtient SecNumCloud\nLe texte."
    )
    assert without_headline("Cloud\nLe texte.", "Cloud") == "Cloud\nLe texte."


def test_a_date_only_in_the_text_is_searched_for_when_nothing_else_dates_the_page() -> None:
    # A real French page whose markup carries no date: only its text does.
    body = corpus_path("articles", "trafilatura", "arteradio.com-nuls.html").read_bytes()
    searched = extract_page(body, url="https://www.arteradio.com/son/nuls")
    assert searched is not None and searched.published is not None
    assert searched.published.date().isoformat() == "2019-05-23"
    # The feed dated the item: the slow search through the text is not run.
    quick = extract_page(body, url="https://www.arteradio.com/son/nuls", date_known=True)
    assert quick is not None and quick.published is None


def test_a_year_alone_in_the_text_does_not_date_the_page() -> None:
    def page(sentence: str) -> bytes:
        return (
            "<html><head><title>Le CHU passe à Microsoft 365</title></head><body><article>"
            "<h1>Le CHU passe à Microsoft 365</h1>"
            f"<p>{sentence} Le centre hospitalier a signé avec l'éditeur américain.</p>"
            + "<p>Un paragraphe de contexte, assez long pour être retenu par l'extracteur.</p>" * 4
            + "</article></body></html>"
        ).encode()

    # « depuis 2019 » would read as 1 January 2019: years old, no immediate alert.
    undated = extract_page(page("Le projet est à l'étude depuis 2019."), url="https://e.org/a")
    assert undated is not None and undated.published is None
    dated = extract_page(page("Publié le 14 mars 2025."), url="https://e.org/b")
    assert dated is not None and dated.published is not None
    assert dated.published.date().isoformat() == "2025-03-14"


def test_paywall_signals() -> None:
    assert is_paywalled(b'{"@type":"NewsArticle","isAccessibleForFree": false}', "texte")
    assert is_paywalled(b'{"isAccessibleForFree":"False"}', "texte")
    assert is_paywalled(b'<meta property="article:content_tier" content="locked">', "texte")
    assert is_paywalled(b"", "Le début. Il vous reste 72 % de cet article à lire.")
    assert not is_paywalled(b'{"isAccessibleForFree": true}', "Un article libre.")


@pytest.mark.parametrize(
    "name", ["LeMonde_2023_09_01", "LesEchos_2024_07_18", "LeFigaro_2024_11_22"]
)
def test_corpus_chapo_ends_up_in_the_text(name: str) -> None:
    path = corpus_path("articles", "fundus", f"{name}.html.gz")
    gold = json.loads(path.with_name(f"{name}.json").read_text())
    page = extract_page(gzip.decompress(path.read_bytes()), url=gold["url"])
    assert page is not None and page.lang == "fr"
    chapo = " ".join(gold["expected"]["body"]["summary"])
    text = with_lead(page.text, page.description) or page.text
    assert " ".join(chapo.split())[:80] in " ".join(text.split())
    assert " ".join(gold["expected"]["title"].split())[:40] in " ".join((page.title or "").split())


def _fast_flags(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `fast` flag of every call to trafilatura, as the extractor makes them."""
    import trafilatura

    calls: list[bool] = []
    real = trafilatura.bare_extraction

    def spy(*args: object, fast: bool = False, **kwargs: object) -> object:
        calls.append(fast)
        return real(*args, fast=fast, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    return calls


def test_a_long_article_is_extracted_once_without_the_comparison(monkeypatch) -> None:
    calls = _fast_flags(monkeypatch)
    path = corpus_path("articles", "fundus", "LesEchos_2024_07_18.html.gz")
    page = extract_page(gzip.decompress(path.read_bytes()), url="https://www.lesechos.fr/x")
    assert page is not None and len(page.text) > FAST_TEXT_MIN
    assert calls == [True]


PANARMENIAN = "d90bda7ed14df19574f4ca8b1ccde5752a78f40058af1393e81cc99adb3e8756"


@pytest.mark.parametrize(
    ("folder", "name", "sentence"),
    [
        # Without the comparison, trafilatura takes 335 characters of this page's
        # navigation for its text; jusText finds the 2,000-character report.
        (
            "scrapinghub-aeb",
            f"{PANARMENIAN}.html.gz",
            "reveal a harrowing pattern of unlawful killings by Iranian security forces",
        ),
        # Here it finds no text at all; readability's scoring recovers the article.
        (
            "readability",
            "webmd-1.source.html",
            "a groundbreaking new study may offer a way to stem that rise",
        ),
    ],
)
def test_a_page_whose_quick_text_is_short_is_extracted_again_with_the_comparison(
    monkeypatch, folder: str, name: str, sentence: str
) -> None:
    calls = _fast_flags(monkeypatch)
    body = corpus_path("articles", folder, name).read_bytes()
    page = extract_page(
        gzip.decompress(body) if name.endswith(".gz") else body, url="https://e.org/x"
    )
    assert calls == [True, False]
    assert page is not None
    assert sentence in " ".join(page.text.split())


def test_corpus_paywalled_le_monde_page_is_flagged() -> None:
    path = corpus_path("articles", "fundus", "LeMonde_2023_09_01.html.gz")
    page = extract_page(gzip.decompress(path.read_bytes()), url="https://www.lemonde.fr/x")
    assert page is not None and page.paywalled
    free = corpus_path("articles", "fundus", "EuronewsFR_2024_04_30.html.gz")
    other = extract_page(gzip.decompress(free.read_bytes()), url="https://fr.euronews.com/x")
    assert other is not None and not other.paywalled
