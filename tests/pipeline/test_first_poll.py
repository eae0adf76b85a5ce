"""A first poll, or a source added later, alerts on fresh news only; --no-send alerts on nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from monitor.backtest import run_backtest
from monitor.cli import main

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    Clock,
    rss,
    rss_of,
    serve_articles,
    service,
    write,
)

RULE = MICROSOFT_RULE + 'channels = ["mail"]\n'


def config_with_rule(root: Path, feed: str, mail: str, rule: str = RULE) -> Path:
    write(
        root / "sources.toml",
        f'[[source]]\nid = "fil"\nname = "Fil"\nurl = "{feed}"\nallow_private_networks = true\n',
    )
    write(root / "alerts" / "rules.toml", rule)
    write(root / "alerts" / "channels.toml", f'[channels.mail]\nurl = "{mail}"\n')
    return root


def event_feed(web_server: Any) -> str:
    pages = serve_articles(web_server, EVENT)
    return str(web_server.add("/feed.xml", rss(list(pages.items())), content_type="text/xml"))


async def test_news_older_than_48_hours_is_stored_and_matched_but_not_sent(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    config = config_with_rule(tmp_path / "config", event_feed(web_server), smtp_server.url())
    clock = Clock(DEMO[EVENT].published + timedelta(hours=49))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        summary = await svc.run_pass()
    outcome = summary.outcomes[0]
    assert (outcome.new_articles, outcome.matches) == (1, 1)
    assert summary.dispatch.sent == 0 and smtp_server.messages == []


async def test_news_within_48_hours_is_sent(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    config = config_with_rule(tmp_path / "config", event_feed(web_server), smtp_server.url())
    clock = Clock(DEMO[EVENT].published + timedelta(hours=47))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        summary = await svc.run_pass()
    assert summary.dispatch.sent == 1 and len(smtp_server.messages) == 1


async def test_a_rule_max_age_overrides_the_default(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    rule = RULE + 'max_age = "30d"\n'
    config = config_with_rule(tmp_path / "c", event_feed(web_server), smtp_server.url(), rule)
    write(config / "alerts" / "age.toml", '[alerts]\nmax_age = "1h"\n')
    clock = Clock(DEMO[EVENT].published + timedelta(days=10))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        summary = await svc.run_pass()
    assert summary.dispatch.sent == 1


async def test_no_send_leaves_nothing_to_send_later(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    config = config_with_rule(tmp_path / "config", event_feed(web_server), smtp_server.url())
    clock = Clock(DEMO[EVENT].published + timedelta(hours=1))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        svc.pipeline.send = svc.send = False  # what `run --once --no-send` builds
        quiet = await svc.run_pass()
        svc.pipeline.send = svc.send = True
        later = await svc.deliver()
    assert quiet.outcomes[0].matches == 1 and quiet.outcomes[0].alerts == 1
    assert (quiet.dispatch.sent, later.sent) == (0, 0) and smtp_server.messages == []


def test_max_age_must_be_a_duration(tmp_path: Path, capsys: Any) -> None:
    config_with_rule(tmp_path, "https://example.org/feed", "mailto://a@b.example")
    write(tmp_path / "alerts" / "age.toml", '[alerts]\nmax_age = "soon"\n')
    assert main(["--config", str(tmp_path), "check"]) == 1
    assert "alerts/age.toml:2" in capsys.readouterr().err


def test_run_flags_without_once_are_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    for flag in ("--no-send", "--force", "--source=x"):
        assert main(["--config", str(tmp_path), "run", flag]) == 2
        assert "with --once" in capsys.readouterr().err


async def test_stale_news_is_left_to_the_digest(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    config = config_with_rule(tmp_path / "config", event_feed(web_server), smtp_server.url())
    write(
        config / "alerts" / "digests.toml",
        '[digests.matin]\nchannels = ["mail"]\ncron = "30 7 * * *"\ntimezone = "Europe/Paris"\n',
    )
    clock = Clock(DEMO[EVENT].published + timedelta(days=3))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        first = await svc.run_pass()
        clock.advance(days=1)  # past the next 07:30 in Paris: the digest is due
        digest = await svc.deliver()
    assert (first.dispatch.sent, digest.sent) == (0, 1)
    (message,) = smtp_server.messages
    assert DEMO[EVENT].title in message.get_body(("plain",)).get_content()


HISTORY_RULE = """
[[rule]]
id = "deal"
title = "Contrat"
query = 'SENTENCE(Microsoft AND conclu AND NOT EARLIER_YEAR)'
"""
HISTORY = (
    "<p>En 2009, le ministère de la Défense a conclu un accord-cadre avec Microsoft. "
    "L'accord couvrait tous les postes de travail du ministère pour quatre ans.</p>"
    "<p>Le ministère n'a pas souhaité commenter les conditions financières de ce contrat, "
    "que plusieurs associations jugent trop favorables à l'éditeur américain.</p>"
)


async def test_the_article_date_reaches_the_rules(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    """The same sentence is news in a 2009 article and history in a 2013 one."""
    items = []
    for year in (2009, 2013):
        page = f"<html><head><title>Défense {year}</title></head><body><article>{HISTORY}"
        url = web_server.add(f"/defense-{year}", page + "</article></body></html>")
        when = format_datetime(datetime(year, 4, 18, 8, tzinfo=UTC))
        items.append({"title": f"Défense {year}", "link": url, "guid": url, "pubDate": when})
    feed = web_server.add("/feed.xml", rss_of(*items), content_type="text/xml")
    config = config_with_rule(tmp_path / "config", str(feed), smtp_server.url(), HISTORY_RULE)
    clock = Clock(datetime(2013, 4, 19, tzinfo=UTC))
    async with service(tmp_path, config, pool, clock=clock) as svc:
        summary = await svc.run_pass()
        # A replay of the archive reads the stored dates: the same article fires again.
        replay = await run_backtest(svc.store, svc.config, ["deal"], None)
    outcome = summary.outcomes[0]
    assert (outcome.new_articles, outcome.matches) == (2, 1)
    assert [h.article.url.rsplit("/", 1)[1] for h in replay.reports["deal"].hits] == [
        "defense-2009"
    ]
    assert replay.reports["deal"].lost == []
