"""The page, sitemap and watch kinds, each through `Service.run_pass()` end to end."""

from __future__ import annotations

import gzip
from datetime import timedelta

from monitor.records import SourceMemo

from support import Clock
from support.ingest import (
    FETCH,
    NOW,
    article_html,
    articles,
    build,
    second_host,
    source,
    states,
    urlset_of,
)

# -- page ---------------------------------------------------------------------------------------

LISTING = """<!DOCTYPE html><html lang="fr"><head><title>Actualités</title></head><body>
<nav><a href="/">Accueil</a><a href="/actualites">Toutes les actualités</a></nav>
<main>{cards}</main></body></html>"""
CARD = '<div class="fr-card"><h3 class="fr-card__title"><a href="{href}">{title}</a></h3></div>'


def listing(*cards: tuple[str, str]) -> str:
    return LISTING.format(cards="".join(CARD.format(href=h, title=t) for h, t in cards))


async def test_page_source_new_links_become_articles(tmp_path, web_server, pool, db_url) -> None:
    web_server.add("/actualites/qualif", article_html(title="Qualification d'une offre"))
    web_server.add("/actualites/rapport", article_html(title="Rapport", body="Le rapport annuel."))
    web_server.add("/actualites/nouvelle", article_html(title="Nouvelle"))
    cards = [("/actualites/qualif", "Qualification d'une offre"), ("rapport", "Rapport annuel")]
    page = web_server.add("/actualites/", listing(*cards))
    clock = Clock(NOW)
    sources = source(
        "anssi", page, kind="page", selector=".fr-card__title a", allow_private_networks=True
    )
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        first = await svc.run_pass()
        web_server.add("/actualites/", listing(("/actualites/nouvelle", "Nouvelle"), *cards))
        clock.advance(hours=1)
        second = await svc.run_pass()
        stored = await articles(svc)
    assert (first.outcomes[0].new_articles, first.outcomes[0].alerts) == (2, 1)
    assert (second.outcomes[0].new_articles, second.outcomes[0].updated_articles) == (1, 0)
    assert sorted((row.url.rsplit("/", 1)[1], row.title, row.extraction) for row in stored) == [
        ("nouvelle", "Nouvelle", "page"),
        ("qualif", "Qualification d'une offre", "page"),
        ("rapport", "Rapport annuel", "page"),
    ]
    assert all(row.published_at is not None for row in stored)  # the pages' own dates


async def test_page_source_whose_selector_broke_fails_clearly(tmp_path, web_server, pool) -> None:
    page = web_server.add("/actualites/", "<html><body><p>Nouveau site</p></body></html>")
    sources = source("anssi", page, kind="page", selector=".fr-card a", allow_private_networks=True)
    async with build(tmp_path, sources, pool) as svc:
        summary = await svc.run_pass()
        state = (await states(svc))["anssi"]
    (outcome,) = summary.outcomes
    assert (outcome.ok, outcome.error_kind) == (False, "parse")
    assert state.last_error == (
        f"the selector '.fr-card a' matches nothing on {page}: "
        "the page has probably changed; check the selector"
    )


# -- sitemap ------------------------------------------------------------------------------------


urlset = urlset_of


async def test_sitemap_index_news_sitemaps_and_conditional_children(
    tmp_path, web_server, pool, db_url
) -> None:
    for slug in ("suite", "cloud", "vieux"):
        web_server.add(f"/actualites/{slug}", article_html(title=slug))
    fresh = urlset(
        (web_server.url("/actualites/suite"), "2026-11-22T10:00:00+01:00", "La Suite numérique"),
        (web_server.url("/actualites/vieux"), "2025-01-01", "Vieille page"),
    )
    web_server.add(
        "/sitemap-news.xml", fresh, content_type="application/xml", headers={"ETag": '"n1"'}
    )
    gz = gzip.compress(
        urlset((web_server.url("/actualites/cloud"), "2026-11-21", "Doctrine cloud")).encode()
    )
    web_server.add("/sitemap-2.xml.gz", gz, content_type="application/x-gzip")
    index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{web_server.url('/sitemap-news.xml')}</loc></sitemap>"
        f"<sitemap><loc>{web_server.url('/sitemap-2.xml.gz')}</loc></sitemap>"
        f"<sitemap><loc>{web_server.url('/missing.xml')}</loc></sitemap>"
        "</sitemapindex>"
    )
    root = web_server.add("/sitemap.xml", index, content_type="application/xml")
    clock = Clock(NOW)
    sources = source("dinum", root, kind="sitemap", allow_private_networks=True)
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        first = await svc.run_pass()
        memo = SourceMemo.from_json((await states(svc))["dinum"].state)
        clock.advance(hours=1)
        second = await svc.run_pass()
        stored = await articles(svc)
    (outcome,) = first.outcomes
    assert (outcome.ok, outcome.new_articles, outcome.alerts) == (True, 2, 2)
    assert outcome.warnings == (
        f"sitemap {web_server.url('/missing.xml')} skipped: "
        f"HTTP 404 from {web_server.url('/missing.xml')}",
    )
    assert sorted(row.title for row in stored) == ["Doctrine cloud", "La Suite numérique"]
    assert web_server.hits("/actualites/vieux") == []  # dated 2025: history, not news
    assert memo.sitemaps[web_server.url("/sitemap-news.xml")] == ('"n1"', None)
    assert second.outcomes[0].new_articles == 0
    news_hits = web_server.hits("/sitemap-news.xml")
    assert [h.get("If-None-Match") for h in news_hits] == [None, '"n1"']


async def test_sitemap_children_and_urls_go_through_the_guard(tmp_path, web_server, pool) -> None:
    async with second_host() as other_host:
        await sitemap_guard_case(tmp_path, web_server, other_host, pool)


async def sitemap_guard_case(tmp_path, web_server, other_host, pool) -> None:
    inner = web_server.add("/inner.xml", urlset((web_server.url("/a"), "2026-11-22", "Interne")))
    other_host.routes["/a"] = (article_html(), "text/html")
    other_host.routes["/news.xml"] = (
        urlset((other_host.url("/a"), "2026-11-22", "Publique")),
        "application/xml",
    )
    other_host.routes["/sitemap.xml"] = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{inner}</loc></sitemap>"
        f"<sitemap><loc>{other_host.url('/news.xml')}</loc></sitemap>"
        "<sitemap><loc>http://169.254.169.254/latest/sitemap.xml</loc></sitemap>"
        "</sitemapindex>",
        "application/xml",
    )
    sources = source("s", other_host.url("/sitemap.xml"), kind="sitemap")
    fetch = FETCH + 'allow_networks = ["127.0.0.2/32"]\n'
    async with build(tmp_path, sources, pool, fetch=fetch) as svc:
        summary = await svc.run_pass()
        stored = await articles(svc)
    (outcome,) = summary.outcomes
    assert outcome.ok and [row.title for row in stored] == ["Publique"]
    assert web_server.hits("/inner.xml") == []
    assert len(outcome.warnings) == 2
    said = " ".join(outcome.warnings)
    assert f"sitemap {inner} skipped: refusing non-public address 127.0.0.1" in said
    assert "refusing non-public address 169.254.169.254" in said


async def test_sitemap_that_is_not_one_fails(tmp_path, web_server, pool) -> None:
    url = web_server.add("/sitemap.xml", "<html><body>Plan du site</body></html>")
    sources = source("s", url, kind="sitemap", allow_private_networks=True)
    async with build(tmp_path, sources, pool) as svc:
        summary = await svc.run_pass()
    (outcome,) = summary.outcomes
    assert (outcome.error_kind, outcome.error) == (
        "parse",
        f"not a sitemap at {url} (root element 'html')",
    )


# -- watch --------------------------------------------------------------------------------------

QUALIFIED = """<!DOCTYPE html><html lang="fr"><body><header>Menu {stamp}</header><main>
<table class="offres">
<tr><th>Prestataire</th><th>Offre</th><th>Qualification</th></tr>{rows}</table>
</main></body></html>"""


def qualified(*rows: tuple[str, str], stamp: str = "") -> str:
    cells = "".join(f"<tr><td>{p}</td><td>{o}</td><td>SecNumCloud 3.2</td></tr>" for p, o in rows)
    return QUALIFIED.format(rows=cells, stamp=stamp)


async def test_watch_raises_one_article_per_change_of_the_region(
    tmp_path, web_server, pool, db_url
) -> None:
    base = [("OVHcloud", "Hosted Private Cloud"), ("Outscale", "Cloud souverain")]
    page = web_server.add("/qualifies", qualified(*base))
    clock = Clock(NOW)
    sources = source(
        "secnumcloud",
        page,
        kind="watch",
        selector="table.offres",
        allow_private_networks=True,
        interval="1h",
    )
    async with build(tmp_path, sources, pool, db_url=db_url, clock=clock) as svc:
        baseline = await svc.run_pass()
        memo = SourceMemo.from_json((await states(svc))["secnumcloud"].state)
        web_server.add("/qualifies", qualified(*base, stamp="12:00"))  # outside the region
        clock.advance(hours=1)
        unchanged = await svc.run_pass()
        web_server.add(
            "/qualifies", qualified(("OVHcloud", "Hosted Private Cloud"), ("Altanis", "IaaS"))
        )
        clock.advance(hours=1)
        changed = await svc.run_pass()
        clock.advance(hours=1)
        again = await svc.run_pass()
        stored = await articles(svc)

    assert (baseline.outcomes[0].ok, baseline.outcomes[0].new_articles) == (True, 0)
    assert memo.watch == (
        "Prestataire | Offre | Qualification",
        "OVHcloud | Hosted Private Cloud | SecNumCloud 3.2",
        "Outscale | Cloud souverain | SecNumCloud 3.2",
    )
    assert (unchanged.outcomes[0].new_articles, unchanged.outcomes[0].changes) == (0, 0)
    assert (changed.outcomes[0].changes, changed.outcomes[0].alerts) == (1, 1)
    assert again.outcomes[0].changes == 0
    (row,) = stored
    assert row.title == "Source secnumcloud : 1 ajout(s), 1 retrait(s)"
    assert row.text == (
        "Ajouté :\n+ Altanis | IaaS | SecNumCloud 3.2\n\n"
        "Retiré :\n- Outscale | Cloud souverain | SecNumCloud 3.2"
    )
    assert (row.extraction, row.url, row.published_at) == ("watch", page, NOW + timedelta(hours=2))


async def test_watch_with_etag_costs_a_304(tmp_path, web_server, pool) -> None:
    page = web_server.add("/qualifies", qualified(("OVHcloud", "HPC")), headers={"ETag": '"q1"'})
    clock = Clock(NOW)
    sources = source("w", page, kind="watch", selector="table.offres", allow_private_networks=True)
    async with build(tmp_path, sources, pool, clock=clock) as svc:
        await svc.run_pass()
        clock.advance(hours=1)
        second = await svc.run_pass()
        memo = SourceMemo.from_json((await states(svc))["w"].state)
    assert second.outcomes[0].not_modified
    assert memo.watch == ("Prestataire | Offre | Qualification", "OVHcloud | HPC | SecNumCloud 3.2")


# -- the shipped configuration -----------------------------------------------------------------


def test_shipped_sources_have_every_kind_with_valid_selectors() -> None:
    from pathlib import Path

    from monitor.config.sources import load_sources
    from monitor.config.toml import read_toml

    root = Path(__file__).resolve().parents[2]
    fetch, sources, problems = load_sources(read_toml(root / "sources.toml", "sources.toml"))
    assert problems == []
    kinds = {s.id: s.kind for s in sources}
    assert kinds["anssi-actualites"] == "page" and kinds["anssi-secnumcloud"] == "watch"
    assert kinds["cnil-sitemap"] == "sitemap" and kinds["dinum-actualites-page"] == "page"
    assert all(s.selector for s in sources if s.kind in ("page", "watch"))
    assert not any(s.allow_private_networks for s in sources)
    assert fetch.contact.startswith("https://")
