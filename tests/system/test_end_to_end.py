"""From a feed on a loopback web server to an email in a loopback SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from monitor.store.tables import SightingRow

from support import DEMO, EVENT, OFF_TOPIC, mail_config, rss, serve_articles, service

RULE = """
[[rule]]
id = "ministry-microsoft"
title = "Un ministère signe avec Microsoft"
query = 'Microsoft AND (ministère OR Armées)'
channels = ["mail"]
"""


async def test_alert_reaches_the_mailbox_once(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    pages = serve_articles(web_server, EVENT, OFF_TOPIC)
    feed = web_server.add(
        "/feed.xml",
        rss(list(pages.items())),
        content_type="application/rss+xml",
        headers={"ETag": '"feed-v1"'},
    )
    config_dir = mail_config(tmp_path / "config", {"outlet": feed}, smtp_server.url(), RULE)
    async with service(tmp_path, config_dir, pool, db_url) as svc:
        first = await svc.run_pass()
        second = await svc.run_pass()

    (message,) = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # The news first, cut to fit an inbox, then the rule (its title is short: its label).
    assert message["Subject"] == (
        "Le ministère des Armées renouvelle son accord-cadre… — Un ministère signe avec Microsoft"
    )
    assert DEMO[EVENT].title.startswith("Le ministère des Armées renouvelle son accord-cadre ")
    assert message["To"] == "team@example.org"
    assert re.fullmatch(r"<veille\.[0-9a-f]{24}@example\.org>", message["Message-ID"])
    assert DEMO[EVENT].title in text and pages[EVENT] in text and "Outlet" in text
    assert "*Microsoft*" in text  # the matched passage, with the term marked
    assert f'href="{pages[EVENT]}"' in html and ">Microsoft</strong>" in html
    assert (first.outcomes[0].new_articles, first.outcomes[0].alerts, first.dispatch.sent) == (
        2,
        1,
        1,
    )
    assert second.outcomes[0].not_modified and second.dispatch.sent == 0


async def test_unchanged_feed_costs_a_304_and_no_parsing(
    tmp_path, web_server, smtp_server, pool
) -> None:
    pages = serve_articles(web_server, OFF_TOPIC)
    feed = web_server.add(
        "/feed.xml",
        rss(list(pages.items())),
        content_type="application/rss+xml",
        headers={"ETag": '"v7"'},
    )
    config_dir = mail_config(tmp_path / "config", {"outlet": feed}, smtp_server.url(), RULE)
    clock = lambda: DEMO[OFF_TOPIC].published + timedelta(hours=1)  # noqa: E731
    async with service(tmp_path, config_dir, pool, clock=clock) as svc:
        await svc.run_pass()
        remembered = len(svc.pipeline.stories)
    # The next run (a new process: `run --once` from cron) reads what it needs only.
    async with service(tmp_path, config_dir, pool, clock=clock) as svc:
        pool.calls.clear()
        second = await svc.run_pass()
        assert len(svc.pipeline.stories) == 0  # it wrote nothing: no story index read
    assert second.outcomes[0].not_modified
    assert remembered == len(pages)  # the first run's index held its articles
    assert pool.calls == []  # neither parse_feed nor extract_page ran
    requests = web_server.hits("/feed.xml")
    assert len(requests) == 2 and requests[1]["If-None-Match"] == '"v7"'
    assert (
        web_server.hits(f"/articles/{OFF_TOPIC}")
        and len(web_server.hits(f"/articles/{OFF_TOPIC}")) == 1
    )


async def test_same_article_in_two_feeds_is_one_article_and_one_alert(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    pages = serve_articles(web_server, EVENT)
    url = pages[EVENT]
    tracked = url + "?utm_source=rss&utm_medium=feed"
    feed_a = web_server.add("/a.xml", rss([(EVENT, url)]), content_type="application/rss+xml")
    feed_b = web_server.add("/b.xml", rss([(EVENT, tracked)]), content_type="application/rss+xml")
    config_dir = mail_config(
        tmp_path / "config", {"a": feed_a, "b": feed_b}, smtp_server.url(), RULE
    )
    async with service(tmp_path, config_dir, pool, db_url) as svc:
        summary = await svc.run_pass()
        fired = await svc.store.matched_rules()
        async with svc.store.transaction() as session:
            seen = (await session.execute(select(SightingRow.source_id))).scalars().all()
    assert sum(o.new_articles for o in summary.outcomes) == 1
    # The second feed's entry is a sighting of the article the first one gave, in the
    # same batch: no failure, no second article.
    assert sorted(seen) == ["a", "b"]
    assert not [w for o in summary.outcomes for w in o.warnings if "failed" in w]
    assert len(fired) == 1 and list(fired.values()) == [{"ministry-microsoft"}]
    assert len(smtp_server.messages) == 1


async def test_a_failing_source_does_not_stop_the_others(
    tmp_path, web_server, smtp_server, pool
) -> None:
    pages = serve_articles(web_server, EVENT)
    good = web_server.add("/good.xml", rss(list(pages.items())), content_type="application/rss+xml")
    broken = web_server.add(
        "/broken.xml", "<html><body>Maintenance</body></html>", content_type="text/html"
    )
    down = web_server.add("/down.xml", "", status=500)
    config_dir = mail_config(
        tmp_path / "config", {"good": good, "broken": broken, "down": down}, smtp_server.url(), RULE
    )
    async with service(tmp_path, config_dir, pool) as svc:
        summary = await svc.run_pass()
        states = {s.id: s for s in await svc.store.source_states()}
    by_id = {o.source_id: o for o in summary.outcomes}
    assert by_id["good"].ok and by_id["good"].alerts == 1
    assert (by_id["broken"].ok, by_id["broken"].error_kind) == (False, "parse")
    assert "got an HTML page, not a feed" in (by_id["broken"].error or "")
    assert (by_id["down"].error_kind, states["down"].consecutive_failures) == ("http", 1)
    assert states["down"].last_error and "HTTP 500" in states["down"].last_error
    assert len(smtp_server.messages) == 1


async def test_page_that_cannot_be_fetched_falls_back_to_the_summary(
    tmp_path, web_server, smtp_server, pool
) -> None:
    missing = web_server.url("/articles/removed")
    feed = web_server.add("/feed.xml", rss([(EVENT, missing)]), content_type="application/rss+xml")
    config_dir = mail_config(tmp_path / "config", {"outlet": feed}, smtp_server.url(), RULE)
    async with service(tmp_path, config_dir, pool) as svc:
        summary = await svc.run_pass()
    assert summary.outcomes[0].new_articles == 1
    (message,) = smtp_server.messages
    assert "résumé du flux" in message.get_body(("plain",)).get_content()


def test_run_once_command_prints_a_summary(tmp_path, capsys, monkeypatch) -> None:
    from monitor.cli import main

    config_dir = mail_config(
        tmp_path / "config",
        {"nowhere": "http://127.0.0.1:9/feed.xml"},
        "mailto://127.0.0.1:9?from=a@example.org&to=b@example.org",
        RULE,
    )
    data = tmp_path / "data"
    monkeypatch.setenv("MONITOR_DATA_DIR", str(data))
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    assert main(["--config", str(config_dir), "-q", "run", "--once"]) == 3  # all failed
    out = capsys.readouterr().out
    assert "sources: 0 ok (0 unchanged), 1 failed" in out
    assert "1 source failed: connection refused: nowhere" in out
    assert (data / "veille.sqlite3").exists()
