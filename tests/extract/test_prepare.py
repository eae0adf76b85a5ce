"""Matching in the worker pool (`monitor.extract.prepare`): the workers match with the
rules of the configuration that runs, reloaded or not, and find what matching in the
process finds, to the passage."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import select

from monitor.cluster import fingerprint
from monitor.extract.article import extract_page
from monitor.extract.prepare import Rules, match_document, prepare_in
from monitor.match import Document, RuleSpec, compile_rules
from monitor.preflight import load_checked
from monitor.store.tables import ArticleRow, MatchRow

from support import REPO, Clock, corpus_path, rss_of, service, write
from support.ingest import FETCH, NOW, article_html, source

RULE = """
[[rule]]
id = "watch"
title = "Watch"
query = '{query}'
"""


async def _matched(svc) -> dict[str, set[str]]:
    """The rules stored for each article, by the last part of its URL."""
    async with svc.store.transaction() as session:
        rows = await session.execute(
            select(ArticleRow.url, MatchRow.rule_id).join(
                MatchRow, MatchRow.article_id == ArticleRow.id, isouter=True
            )
        )
        found: dict[str, set[str]] = {}
        for url, rule_id in rows:
            found.setdefault(url.rsplit("/", 1)[1], set()).update([rule_id] if rule_id else [])
        return found


async def test_a_reloaded_rule_is_what_the_workers_match_with(
    tmp_path: Path, web_server, pool
) -> None:
    qualified = article_html(title="Un hébergeur qualifié")
    migrated = article_html(
        title="Le ministère quitte Microsoft",
        body="Le ministère remplace Microsoft Office par une suite libre dans ses services.",
    )
    items = [
        {"title": "Un hébergeur qualifié", "link": web_server.add("/a/qualified", qualified)},
        {"title": "Le ministère quitte Microsoft", "link": web_server.add("/a/migrated", migrated)},
    ]
    feed = web_server.add("/feed.xml", rss_of(items[0]), content_type="application/rss+xml")
    config_dir = tmp_path / "config"
    write(config_dir / "sources.toml", FETCH + source("s", feed, allow_private_networks=True))
    write(config_dir / "alerts" / "rules.toml", RULE.format(query="SecNumCloud"))

    # The same workers throughout: the first service's rules are compiled in them.
    async with service(tmp_path, config_dir, pool, clock=Clock(NOW)) as first:
        await first.run_pass()
        assert await _matched(first) == {"qualified": {"watch"}}
    # The rule changes its query under the same id (what a SIGHUP reads), and the
    # feed brings an article only the new query finds.
    write(config_dir / "alerts" / "rules.toml", RULE.format(query="Microsoft"))
    web_server.add("/feed.xml", rss_of(*items), content_type="application/rss+xml")
    async with service(tmp_path, config_dir, pool, clock=Clock(NOW)) as second:
        await second.run_pass()
        assert await _matched(second) == {"qualified": {"watch"}, "migrated": {"watch"}}


# Rules that fire on general French news (the shipped pack watches the public cloud, which
# the corpus hardly mentions), with passages, NEAR, related tiers, filters and actors.
NEWS_RULES = (
    RuleSpec("government", "gouvernement AND (loi OR ministre OR décret)"),
    RuleSpec("internet", '"données personnelles" OR (internet NEAR/6 surveillance)'),
    RuleSpec("money", "millions OR milliards", related="euros OR dollars"),
    RuleSpec("english", "government OR minister", languages=("en",)),
    RuleSpec("ministry", "ministère OR ministre", actors=("public_body",)),
)


def _corpus_pages(count: int) -> list[tuple[str, bytes]]:
    folder = corpus_path("articles")
    pages = []
    for record in json.loads((folder / "index.json").read_text())[:count]:
        body = (folder / record["file"]).read_bytes()
        pages.append(
            (record["url"], gzip.decompress(body) if record["file"].endswith(".gz") else body)
        )
    return pages


async def test_the_workers_match_real_articles_as_the_process_does(pool) -> None:
    shipped = load_checked(REPO, {}).ruleset
    recipe = shipped.recipe
    ruleset = compile_rules(
        (*recipe.rules, *NEWS_RULES), recipe.lists, actor_kinds=recipe.actor_kinds
    )
    rules = Rules.of(ruleset)
    documents = []
    for url, body in _corpus_pages(60):
        page = await pool.run(extract_page, body, url=url)
        if page is not None:
            lang = page.lang
            documents.append(Document(page.title or "", page.text, "corpus", "Corpus", lang))
    assert len(documents) >= 50

    fired = 0
    for document in documents:
        prepared = await prepare_in(pool, rules, document)
        matches, words = match_document(ruleset, document)
        assert prepared.matches == matches, document.title
        assert [m.to_dict() for m in prepared.matches] == [m.to_dict() for m in matches]
        assert prepared.vocabulary == words
        assert prepared.print_ == fingerprint(document.title, document.text, document.lang)
        fired += bool(matches)
    assert fired >= 20  # the comparison saw passages, not only empty lists
