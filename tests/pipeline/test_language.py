"""An article's language: its page's, else its source's, else what its text tells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import loopback_sources, rss_of, service, write

FRENCH = (
    "Le ministère a choisi une offre de cloud pour héberger les données de ses agents. "
    "Le contrat a été signé pour quatre ans et couvre aussi la messagerie des services."
)
ENGLISH = (
    "The ministry has chosen a cloud offer to host the data of its staff. The contract "
    "was signed for four years and also covers the email of the departments."
)
RULE = """
[[rule]]
id = "cloud-en"
title = "Cloud, in English"
query = "cloud"
languages = ["en"]
"""


async def test_a_summary_takes_the_language_its_text_tells_and_rules_see_it(
    tmp_path: Path, web_server: Any, pool: Any
) -> None:
    items = [
        {"title": title, "link": f"http://example.test/{n}", "guid": str(n), "description": text}
        for n, (title, text) in enumerate([("Un choix", FRENCH), ("A choice", ENGLISH)])
    ]
    feed = web_server.add("/f.xml", rss_of(*items), content_type="text/xml")
    other = {**items[1], "guid": "g", "link": "http://example.test/g"}
    told = web_server.add("/g.xml", rss_of(other), content_type="text/xml")
    root = tmp_path / "config"
    write(
        root / "sources.toml",
        loopback_sources({"fil": feed}, "extract = false\n")
        + loopback_sources({"dit": told}, 'extract = false\nlang = "fr"\n'),
    )
    write(root / "alerts" / "rules.toml", RULE)
    async with service(tmp_path, root, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}") as svc:
        summary = await svc.run_pass()
        stored = await svc.store.newest_articles(None, 10)

    langs = {(a.source_id, a.title): a.lang for a in stored}
    # The source that says its language is believed, even against its text.
    expected = {("fil", "Un choix"): "fr", ("fil", "A choice"): "en", ("dit", "A choice"): "fr"}
    assert langs == expected
    assert sum(o.matches for o in summary.outcomes) == 1  # the English summary of `fil`
