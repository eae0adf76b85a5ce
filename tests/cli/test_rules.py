"""`monitor rules test`, `monitor rules explain` and `monitor backtest`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.match import vocabulary

from support import DEMO, rss, serve_articles, write

SOURCES = '[[source]]\nid = "src"\nname = "Source"\nurl = "https://example.org/feed"\n'
RULES = """
[lists]
cloud = ["Azure", "AWS", '"Google Cloud"']

[[rule]]
id = "cloud-contract"
title = "Contrat cloud"
query = 'SENTENCE(@cloud AND (contrat OR marché) AND NOT annul*)'
should_match = [
    "Le ministère signe un contrat Azure.",
    { title = "Marché AWS", text = "Un marché de 3 M€ pour AWS." },
]
should_not_match = ["Le contrat Azure est annulé."]
"""


def config_dir(tmp_path: Path, rules: str = RULES) -> Path:
    write(tmp_path / "sources.toml", SOURCES)
    write(tmp_path / "alerts" / "rules.toml", rules)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_rules_test_passes_on_good_examples(tmp_path, capsys) -> None:
    code, out = run(capsys, "--config", str(config_dir(tmp_path)), "rules", "test")
    assert code == 0
    assert "ok   cloud-contract: 2 should match, 1 should not" in out
    assert "0 failing examples out of 3" in out


def test_rules_test_fails_with_a_readable_report(tmp_path, capsys) -> None:
    broken = RULES.replace(
        'should_not_match = ["Le contrat Azure est annulé."]',
        'should_not_match = ["Le contrat Azure est annulé.", "Un contrat AWS signé."]',
    )
    code, out = run(capsys, "--config", str(config_dir(tmp_path, broken)), "rules", "test")
    assert code == 1
    assert "FAIL cloud-contract: 2 should match, 2 should not" in out
    assert "✘ should not match but does: Un contrat AWS signé." in out
    assert "rule 'cloud-contract' matches" in out and "[[AWS]]" in out
    assert "1 failing example out of 4" in out


def test_shipped_rules_pass_their_examples(capsys) -> None:
    from support import REPO

    code, out = run(capsys, "--config", str(REPO), "rules", "test")
    assert code == 0, out


def test_explain_text_match_and_no_match(tmp_path, capsys) -> None:
    root = str(config_dir(tmp_path))
    code, out = run(
        capsys,
        "--config",
        root,
        "rules",
        "explain",
        "cloud-contract",
        "--text",
        "Bercy signe un marché avec AWS.",
    )
    assert code == 0 and "\nrule 'cloud-contract' matches" in out
    assert "[[AWS]]" in out and "[[marché]]" in out
    code, out = run(
        capsys,
        "--config",
        root,
        "rules",
        "explain",
        "cloud-contract",
        "--text",
        "Le marché AWS a été annulé.",
    )
    assert code == 1 and "\nrule 'cloud-contract' does not match" in out
    assert "[no] NOT annul*" in out


def test_explain_detects_the_language_for_rules_that_filter_on_it(tmp_path, capsys) -> None:
    rules = RULES.replace('title = "Contrat cloud"', 'title = "Contrat cloud"\nlanguages = ["fr"]')
    argv = ["--config", str(config_dir(tmp_path, rules)), "rules", "explain", "cloud-contract"]
    french = "Le ministère des Armées signe un contrat avec Azure pour héberger ses données."
    code, out = run(capsys, *argv, "--text", french)
    assert code == 0 and out.startswith("language: fr (detected; --lang to set it)\n")
    code, out = run(capsys, *argv, "--text", "The ministry signs an Azure contract for its data.")
    assert code == 1 and out.startswith("language: en (detected")
    assert "excluded by filter: language 'en' is not one of: fr" in out
    english = "The ministry signs an Azure contract."
    code, out = run(capsys, *argv, "--lang", "fr", "--text", english)
    assert code == 0 and out.startswith("language: fr (given)\n")


def test_explain_html_file_is_extracted(tmp_path, capsys) -> None:
    from monitor.demo.server import load_index

    article = next(
        a for a in load_index().articles if a.slug == "meteo-france-attribue-google-cloud-marche-ia"
    )
    page = tmp_path / "page.html"
    page.write_bytes(article.html)
    code, out = run(
        capsys,
        "--config",
        str(config_dir(tmp_path / "c")),
        "rules",
        "explain",
        "cloud-contract",
        "--file",
        str(page),
    )
    assert code == 0 and "[[Google Cloud]]" in out
    assert "Menu" not in out  # boilerplate was removed before matching


HISTORY_RULES = """
[[rule]]
id = "deal"
title = "Contrat"
query = 'SENTENCE(Microsoft AND (signe OR conclu) AND NOT EARLIER_YEAR)'
should_match = [{ text = "En 2009, le ministère a conclu avec Microsoft.", published = 2009-06-01 }]
[[rule.should_not_match]]
text = "En 2009, le ministère a conclu avec Microsoft."
published = 2013-04-18
"""
HISTORY = "En 2009, le ministère de la Défense a conclu un accord avec Microsoft."


def test_rule_examples_and_explain_take_the_article_date(tmp_path, capsys) -> None:
    root = str(config_dir(tmp_path, HISTORY_RULES))
    code, out = run(capsys, "--config", root, "rules", "test")
    assert code == 0 and "ok   deal: 1 should match, 1 should not" in out
    argv = ["--config", root, "rules", "explain", "deal", "--text", HISTORY]
    code, out = run(capsys, *argv, "--date", "2013-04-18")
    assert code == 1 and "names only years before 2012" in out
    code, out = run(capsys, *argv, "--date", "2010-01-08")
    assert code == 0
    code, out = run(capsys, *argv)
    assert code == 0 and "(the article has no date)" in out


def test_explain_reads_a_page_date(tmp_path, capsys) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Le contrat de la Défense</title>"
        '<meta property="article:published_time" content="2013-04-18T08:00:00+00:00">'
        "</head><body><article><h1>Le contrat de la Défense</h1>"
        f"<p>{HISTORY} L'accord courait sur quatre ans et couvrait tous les postes.</p>"
        "<p>Le ministère n'a pas voulu commenter les conditions de ce contrat.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    argv = ["--config", str(config_dir(tmp_path / "c", HISTORY_RULES)), "rules", "explain", "deal"]
    code, out = run(capsys, *argv, "--file", str(page))
    assert code == 1 and "names only years before 2012" in out
    code, out = run(capsys, *argv, "--file", str(page), "--date", "2009-06-01")
    assert code == 0


def test_explain_unknown_rule(tmp_path, capsys) -> None:
    code, out = run(
        capsys, "--config", str(config_dir(tmp_path)), "rules", "explain", "nope", "--text", "x"
    )
    assert code == 2 and "unknown or disabled rule: nope" in out


async def test_backtest_replays_the_archive_without_sending(
    tmp_path, web_server, smtp_server, capsys
) -> None:
    import asyncio

    pages = serve_articles(
        web_server,
        "meteo-france-attribue-google-cloud-marche-ia",
        "koral-k3-smartphone-durci-assemble-bretagne",
    )
    feed = web_server.add("/feed.xml", rss(list(pages.items())), content_type="application/rss+xml")
    root = tmp_path / "config"
    write(
        root / "sources.toml",
        f'[[source]]\nid = "src"\nname = "Source"\nurl = "{feed}"\nallow_private_networks = true\n',
    )
    write(root / "alerts" / "rules.toml", RULES.replace("'\"Google Cloud\"'", '"Oracle"'))
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{smtp_server.url()}"\n[routing]\nchannels = ["mail"]\n',
    )
    db = tmp_path / "db.sqlite3"
    argv = ["--config", str(root), "-q"]
    import os

    os.environ["MONITOR_DATABASE_URL"] = f"sqlite:///{db}"
    try:
        assert await asyncio.to_thread(main, [*argv, "run", "--once"]) == 0
        sent_before = len(smtp_server.messages)
        # The operator widens the rule: Google Cloud contracts now count. Its related
        # topic (the smartphone article) is digest matter, not a backtest hit.
        widened = RULES.replace("should_match", "related = 'smartphone'\nshould_match", 1)
        write(root / "alerts" / "rules.toml", widened)
        capsys.readouterr()
        code = await asyncio.to_thread(
            main, [*argv, "backtest", "cloud-contract", "--since", "all"]
        )
        out = capsys.readouterr().out
        # Without the stored vocabularies, or with those of another analysis, the replay
        # analyses the texts again, says the same, and stores the vocabularies anew.
        with sqlite3.connect(db) as database:
            stored = database.execute("select id, vocabulary_version from articles").fetchall()
            database.execute(
                "update articles set vocabulary = null where id = ?", stored[:1][0][:1]
            )
            database.execute("update articles set vocabulary_version = vocabulary_version + 1")
        await asyncio.to_thread(main, [*argv, "backtest", "cloud-contract", "--since", "all"])
        assert capsys.readouterr().out == out
        with sqlite3.connect(db) as database:
            again = database.execute("select id, vocabulary_version from articles").fetchall()
            blobs = database.execute("select count(*) from articles where vocabulary is null")
            assert again == stored and blobs.fetchone() == (0,)
        assert {version for _, version in stored} == {vocabulary.VERSION}
        # The default window (30 days) holds these articles of today; a second, later, does not.
        recent = await asyncio.to_thread(main, [*argv, "backtest", "cloud-contract"])
        assert (recent, capsys.readouterr().out.splitlines()[0]) == (
            0,
            "replayed 2 stored articles; nothing was sent",
        )
        await asyncio.sleep(1.1)
        await asyncio.to_thread(main, [*argv, "backtest", "cloud-contract", "--since", "1s"])
        assert capsys.readouterr().out.startswith("replayed 0 stored articles")
    finally:
        del os.environ["MONITOR_DATABASE_URL"]
    assert code == 0
    assert "replayed 2 stored articles; nothing was sent" in out
    assert "cloud-contract: 1 article in 1 story (1 new, 0 no longer matching)" in out
    assert " + " in out and DEMO["meteo-france-attribue-google-cloud-marche-ia"].title in out
    assert "[[Google Cloud]]" in out
    assert len(smtp_server.messages) == sent_before


async def test_explain_url_fetches_and_extracts_a_page(
    tmp_path, web_server, capsys, monkeypatch
) -> None:
    import asyncio

    slug = "meteo-france-attribue-google-cloud-marche-ia"
    (url,) = serve_articles(web_server, slug).values()
    argv = [
        "--config",
        str(config_dir(tmp_path)),
        "rules",
        "explain",
        "cloud-contract",
        "--url",
        url,
    ]
    # The page is on loopback: refused unless private networks are allowed explicitly.
    assert await asyncio.to_thread(main, argv) == 2
    assert "refusing non-public address 127.0.0.1" in capsys.readouterr().err
    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("language: fr (from the page; --lang to change it)\n")
    assert "\nrule 'cloud-contract' matches" in out and "[[Google Cloud]]" in out


def test_rules_eval_scores_the_rules_the_file_labels(tmp_path, capsys) -> None:
    other = '\n[[rule]]\nid = "other-rule"\ntitle = "Autre"\nquery = "AWS"\n'
    config = config_dir(tmp_path, RULES + other)
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text(
        '{"id": "a", "title": "", "text": "Le ministère signe un contrat Azure.", '
        '"cloud-contract": true}\n'
        '{"id": "b", "title": "", "text": "Le contrat Azure est annulé.", '
        '"cloud-contract": false}\n',
        encoding="utf-8",
    )
    code, out = run(capsys, "--config", str(config), "rules", "eval", str(labeled))
    assert code == 0
    # Only the rule the file has labels for is scored: precision and recall 1.00.
    assert "cloud-contract" in out and "other-rule" not in out
    assert "1.00" in out
    code, out = run(
        capsys, "--config", str(config), "rules", "eval", str(labeled), "--rule", "other-rule"
    )
    assert "other-rule" in out
    unlabeled = tmp_path / "none.jsonl"
    unlabeled.write_text('{"id": "c", "text": "x", "elsewhere": true}\n', encoding="utf-8")
    code, out = run(capsys, "--config", str(config), "rules", "eval", str(unlabeled))
    assert code == 2 and "no article is labeled for an enabled rule" in out
