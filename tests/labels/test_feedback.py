"""`monitor feedback`: verdicts on alerts and missed articles, exported as labeled data
that `monitor rules eval` scores, and counted in the digest's health section."""

from __future__ import annotations

import asyncio
import json

import pytest

from monitor.cli import main

from support import DEMO, allow_any_age, rss, serve_articles, write

ON_TOPIC = "meteo-france-attribue-google-cloud-marche-ia"
OFF_TOPIC = "koral-k3-smartphone-durci-assemble-bretagne"
RULES = """
[[rule]]
id = "cloud-contract"
title = "Contrat cloud"
query = 'SENTENCE(("Google Cloud" OR Azure) AND (contrat OR marché))'
"""


@pytest.fixture
async def installed(tmp_path, web_server, smtp_server, monkeypatch):
    """A configuration whose first pass alerted once, by e-mail, and its `monitor` argv."""
    pages = serve_articles(web_server, ON_TOPIC, OFF_TOPIC)
    feed = web_server.add("/feed.xml", rss(list(pages.items())), content_type="application/rss+xml")
    root = tmp_path / "config"
    write(
        root / "sources.toml",
        f'[[source]]\nid = "src"\nname = "Source"\nurl = "{feed}"\nallow_private_networks = true\n',
    )
    write(root / "alerts" / "rules.toml", RULES)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{smtp_server.url()}"\n[routing]\nchannels = ["mail"]\n'
        '\n[digests.quotidien]\ncron = "0 7 * * *"\nchannels = ["mail"]\n',
    )
    allow_any_age(root)
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    argv = ["--config", str(root), "-q"]
    assert await asyncio.to_thread(main, [*argv, "run", "--once"]) == 0
    return argv, pages


def monitor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_verdicts_and_misses_become_labeled_data_that_rules_eval_scores(
    installed, smtp_server, tmp_path, capsys
) -> None:
    argv, pages = installed
    (alert,) = smtp_server.messages
    assert "Alerte n° 1" in alert.get_payload()[0].get_payload(decode=True).decode()
    capsys.readouterr()

    code, out, _ = await asyncio.to_thread(
        monitor, capsys, *argv, "feedback", "1", "wrong", "--note", "un marché de test"
    )
    assert code == 0
    assert out == f"alert 1 (cloud-contract) marked wrong: {DEMO[ON_TOPIC].title[:69]}…\n" or (
        out == f"alert 1 (cloud-contract) marked wrong: {DEMO[ON_TOPIC].title}\n"
    )
    code, out, _ = await asyncio.to_thread(
        monitor, capsys, *argv, "feedback", "--missed", pages[OFF_TOPIC], "--rule", "cloud-contract"
    )
    assert code == 0 and out.startswith("recorded as missed by cloud-contract: ")

    code, out, err = await asyncio.to_thread(monitor, capsys, *argv, "feedback", "export")
    assert code == 0 and err == "2 verdicts written\n"
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["url"], r["labels"], r["verdict"]) for r in records] == [
        (pages[ON_TOPIC], {"cloud-contract": False}, "wrong"),
        (pages[OFF_TOPIC], {"cloud-contract": True}, "missed"),
    ]
    assert records[0]["why"] == "feedback wrong: un marché de test"
    assert DEMO[OFF_TOPIC].title in records[1]["title"] and records[1]["text"]

    exported = tmp_path / "feedback.jsonl"
    exported.write_text(out, encoding="utf-8")
    code, out, err = await asyncio.to_thread(
        monitor, capsys, *argv, "rules", "eval", str(exported), "--min-precision", "0.5"
    )
    assert code == 1 and "below the minimum: cloud-contract" in err
    table = out.splitlines()[1].split()
    assert table[:2] == ["cloud-contract", "0.00"] and table[4:8] == ["0", "1", "1", "0"]
    assert "false alert feedback-1" in out and "missed      feedback-2" in out


async def test_the_digest_health_section_counts_wrong_verdicts(installed, tmp_path, capsys) -> None:
    argv, _ = installed
    await asyncio.to_thread(monitor, capsys, *argv, "feedback", "1", "wrong")
    await asyncio.to_thread(monitor, capsys, *argv, "feedback", "1", "right")  # changed mind
    await asyncio.to_thread(monitor, capsys, *argv, "feedback", "1", "wrong")
    preview = tmp_path / "digest.html"
    code, _, _ = await asyncio.to_thread(
        monitor, capsys, *argv, "digest", "--preview", str(preview)
    )
    assert code == 0
    html = preview.read_text(encoding="utf-8")
    assert "État du service" in html
    # Every verdict of the window counts: two "wrong" ones, whatever came in between.
    assert "Contrat cloud\u202f: 2 alertes jugées fausses en 30 jours" in html


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["feedback", "7", "wrong"], "no alert with id 7 (`monitor alerts` lists them)\n"),
        (["feedback", "1", "faux"], "usage: monitor feedback ALERT_ID wrong|right"),
        (["feedback", "--missed", "https://example.org/a"], "usage: monitor feedback --missed"),
        (["feedback", "export", "--rule", "nope"], "unknown or disabled rule: nope\n"),
    ],
)
async def test_feedback_mistakes_get_one_line(installed, capsys, words, message) -> None:
    argv, _ = installed
    code, out, err = await asyncio.to_thread(monitor, capsys, *argv, *words)
    assert code in (1, 2) and out == ""
    assert err.startswith(message) and len(err.splitlines()) == 1
