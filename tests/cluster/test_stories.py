"""One alert per story: other outlets attach to it, updates alert only for new rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    OTHER_OUTLET,
    Clock,
    loopback_sources,
    rss,
    serve_articles,
    service,
    write,
)

RULES = (
    MICROSOFT_RULE
    + """
[[rule]]
id = "secnumcloud"
title = "SecNumCloud"
query = 'SecNumCloud'
"""
)


def config(tmp_path: Path, feeds: dict[str, str], mail: str) -> Path:
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources(feeds))
    write(root / "alerts" / "rules.toml", RULES)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\nmode = "immediate"\n',
    )
    return root


def two_outlets(tmp_path: Path, web_server, mail: str) -> tuple[dict[str, str], Path]:
    """A wire's feed with the event's article, a weekly's feed still empty, and their
    configuration: the pages served and the configuration folder."""
    pages = serve_articles(web_server, EVENT, OTHER_OUTLET)
    fil = web_server.add(
        "/fil.xml", rss([(EVENT, pages[EVENT])]), content_type="application/rss+xml"
    )
    hebdo = web_server.add("/hebdo.xml", rss([]), content_type="application/rss+xml")
    return pages, config(tmp_path, {"fil": fil, "hebdo": hebdo}, mail)


async def test_another_outlet_joins_the_story_without_a_new_ping(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    pages, root = two_outlets(tmp_path, web_server, smtp_server.url())
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        first = await svc.run_pass()
        # Two hours later the other outlet publishes its own article on the same deal.
        web_server.add(
            "/hebdo.xml",
            rss([(OTHER_OUTLET, pages[OTHER_OUTLET])]),
            content_type="application/rss+xml",
        )
        clock.advance(hours=2)
        second = await svc.run_pass()
        fired = await svc.store.matched_rules()
        view = await svc.store.alert_view(1)
        assert len(svc.pipeline.stories) == 2
        clock.advance(days=10)  # past the story window: the index lets go of old articles
        await svc.run_pass()
        assert len(svc.pipeline.stories) == 0
    assert first.dispatch.sent == 1 and second.dispatch.sent == 0
    assert (
        sum(o.new_articles for o in second.outcomes) == 1
        and sum(o.alerts for o in second.outcomes) == 0
    )
    # Both articles matched the rule; they are one story, and the alert lists the other outlet.
    assert fired[pages[EVENT]] >= {"ministry-microsoft"} and fired[pages[OTHER_OUTLET]] >= {
        "ministry-microsoft"
    }
    assert [a.source_name for a in view.also] == ["Hebdo"] and view.also[0].url == pages[
        OTHER_OUTLET
    ]
    (message,) = smtp_server.messages
    assert DEMO[EVENT].title in message.get_body(("plain",)).get_content()


def page(body: str) -> str:
    return (
        f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Cloud</title></head>"
        f"<body><article><h1>Cloud public</h1>{body}</article></body></html>"
    )


FIRST = (
    "<p>Le ministère de l'Intérieur a signé mardi un accord avec Microsoft pour sa "
    "messagerie. Le contrat porte sur trois ans et sur quarante mille postes de travail.</p>"
    "<p>La direction du numérique du ministère précise que les données resteront en "
    "France, dans des centres de données dédiés, sous le contrôle de ses équipes.</p>"
) * 2
UPDATE = FIRST + (
    "<p>Mise à jour : l'offre retenue a entre-temps obtenu la qualification "
    "SecNumCloud, a précisé le ministère dans la soirée.</p>"
)


def item_feed(url: str, summary: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>L'Intérieur signe avec Microsoft</title><link>{url}</link>"
        f"<guid>{url}</guid><description>{summary}</description></item></channel></rss>"
    )


async def test_an_updated_article_alerts_only_for_a_rule_that_now_matches(
    tmp_path, web_server, smtp_server, pool
) -> None:
    url = web_server.add("/article", page(FIRST))
    feed = web_server.add(
        "/feed.xml", item_feed(url, "Un accord de trois ans."), content_type="application/rss+xml"
    )
    root = config(tmp_path, {"fil": feed}, smtp_server.url())
    async with service(tmp_path, root, pool) as svc:
        first = await svc.run_pass()
        web_server.add("/article", page(UPDATE))
        web_server.add(
            "/feed.xml",
            item_feed(url, "Un accord de trois ans, mis à jour."),
            content_type="application/rss+xml",
        )
        second = await svc.run_pass()
        third = await svc.run_pass()
        fired = await svc.store.matched_rules()
    assert (first.outcomes[0].new_articles, first.dispatch.sent) == (1, 1)
    assert (second.outcomes[0].updated_articles, second.outcomes[0].new_articles) == (1, 0)
    assert second.dispatch.sent == 1 and third.dispatch.sent == 0
    assert fired == {url: {"ministry-microsoft", "secnumcloud"}}
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects[0].endswith(" — Un ministère signe avec Microsoft")
    assert subjects[1].endswith(" — SecNumCloud")


ACTORS_RULE = """
[actors.public_body]
heads = ["ministère"]

[actors.public_body.names]
armees = ["Armées", "ministère des Armées"]

[[rule]]
id = "ministry-microsoft"
title = "Un ministère signe avec Microsoft"
query = 'Microsoft AND (ministère OR Armées)'
actors = ["public_body"]
max_age = "60d"  # the late article may still alert, when it is a story of its own
"""


@pytest.mark.parametrize(("window", "joined"), [('event_window = "30d"', True), ("", False)])
async def test_a_rule_s_event_window_keeps_its_story_open_across_a_restart(
    tmp_path, web_server, smtp_server, pool, db_url, window: str, joined: bool
) -> None:
    pages, root = two_outlets(tmp_path, web_server, smtp_server.url())
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    write(root / "alerts" / "rules.toml", ACTORS_RULE + window)
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        await svc.run_pass()
    # Thirteen days later, after a restart, a weekly's article on the same deal comes
    # out: the story index is read back from the database as far back as the longest
    # window, so the story is still there to join (its articles are dated alike).
    web_server.add(
        "/hebdo.xml", rss([(OTHER_OUTLET, pages[OTHER_OUTLET])]), content_type="application/rss+xml"
    )
    clock.advance(days=13)
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        late = await svc.run_pass()
        view = await svc.store.alert_view(1)
    assert sum(o.new_articles for o in late.outcomes) == 1
    assert late.dispatch.sent == (0 if joined else 1)
    assert [a.url for a in view.also] == ([pages[OTHER_OUTLET]] if joined else [])
    assert len(smtp_server.messages) == (1 if joined else 2)
