"""The daily digest: due periods, content, MIME parts, never twice, caught up after downtime."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.preflight import load_checked

from support import (
    DEMO,
    EVENT,
    OFF_TOPIC,
    OTHER_OUTLET,
    Clock,
    allow_any_age,
    loopback_sources,
    rss,
    serve_articles,
    service,
    write,
)
from support.servers import SmtpServer

RULES = """
[[rule]]
id = "ministry-microsoft"
title = "Un ministère signe avec Microsoft"
description = "Une administration choisit Microsoft."
query = 'Microsoft AND (ministère OR Armées)'
mode = "digest"

[[rule]]
id = "secnumcloud"
title = "Qualification SecNumCloud"
query = 'SecNumCloud AND qualification'
mode = "digest"
"""

# Monday 23 November 2026, 10:00 in Paris
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def config(tmp_path: Path, feeds: dict[str, str], mail: str, send_empty: bool = False) -> Path:
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources(feeds))
    write(root / "alerts" / "rules.toml", RULES)
    write(root / "alerts" / "channels.toml", f'[channels.mail]\nurl = "{mail}"\n')
    write(
        root / "alerts" / "digests.toml",
        f"""
        [digests.matin]
        channels = ["mail"]
        cron = "30 7 * * *"
        timezone = "Europe/Paris"
        title = "Synthèse du matin"
        send_empty = {str(send_empty).lower()}
        """,
    )
    write(root / "monitor.toml", '[health]\nnotice_channels = ["mail"]\n')
    return root


def feeds(web_server: Any) -> dict[str, str]:
    pages = serve_articles(
        web_server, EVENT, OTHER_OUTLET, OFF_TOPIC, "altanis-obtient-qualification-secnumcloud"
    )
    first = [
        (EVENT, pages[EVENT]),
        (OFF_TOPIC, pages[OFF_TOPIC]),
        (
            "altanis-obtient-qualification-secnumcloud",
            pages["altanis-obtient-qualification-secnumcloud"],
        ),
    ]
    return {
        "fil": web_server.add("/fil.xml", rss(first), content_type="application/rss+xml"),
        "hebdo": web_server.add(
            "/hebdo.xml",
            rss([(OTHER_OUTLET, pages[OTHER_OUTLET])]),
            content_type="application/rss+xml",
        ),
    }


async def test_digest_is_sent_once_per_period_with_both_parts(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    clock = Clock(MONDAY)
    root = config(tmp_path, feeds(web_server), smtp_server.url())
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        first = await svc.run_pass()
        assert first.dispatch.sent == 0  # digest-only rules: no immediate alert
        clock.advance(hours=20)  # Tuesday 06:00 in Paris: the digest is not due yet
        assert (await svc.deliver()).sent == 0
        clock.advance(hours=1, minutes=45)  # 07:45: due
        assert (await svc.deliver()).sent == 1
        assert (await svc.deliver()).sent == 0  # never the same period twice
        await svc.run_pass()
        assert (await svc.deliver()).sent == 0

    (message,) = smtp_server.messages
    assert message["Subject"] == "Synthèse du matin · 24/11/2026 · 2 sujets"
    assert message["Message-ID"].startswith("<veille.")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Du 23/11/2026 07:30 au 24/11/2026 07:30" in text
    assert "2 sujets, 3 articles" in text
    assert (
        "== Un ministère signe avec Microsoft ==" in text
        and "== Qualification SecNumCloud ==" in text
    )
    # One story, two outlets: reported once, with both names.
    assert text.count(DEMO[EVENT].title) + text.count(DEMO[OTHER_OUTLET].title) == 1
    assert "Fil, Hebdo" in text or "Hebdo, Fil" in text
    assert DEMO[OFF_TOPIC].title not in text
    assert "*Microsoft*" in text  # the best passage, terms marked
    assert html.lstrip().lower().startswith("<!doctype html>") and 'style="' in html
    # Each outlet links to its article; which comes first depends on which feed answered first.
    assert ">Fil</a> · <a" in html or ">Hebdo</a> · <a" in html
    assert ">Fil</a>" in html and ">Hebdo</a>" in html
    assert "<strong>2 sujets</strong>" in html and ">Microsoft</strong>" in html


async def test_missed_digest_is_caught_up_in_one_message(
    tmp_path, web_server, smtp_server, pool
) -> None:
    clock = Clock(MONDAY)
    root = config(tmp_path, feeds(web_server), smtp_server.url())
    async with service(tmp_path, root, pool, clock=clock) as svc:
        await svc.run_pass()
        clock.advance(days=1)
        assert (await svc.deliver()).sent == 1  # Tuesday's
    # The service is down from Tuesday to Friday; news arrives meanwhile? Not here: nothing new.
    clock.advance(days=3)
    async with service(tmp_path, root, pool, clock=clock) as svc:
        assert (await svc.deliver()).sent == 0  # three empty mornings: recorded, not sent
        runs = await svc.store.last_digest_run("matin")
    assert runs is not None and runs.items == 0
    assert runs.period_start == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    assert runs.period_end == datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
    assert len(smtp_server.messages) == 1


async def test_missed_digest_with_news_is_sent_on_restart(
    tmp_path, web_server, smtp_server, pool
) -> None:
    clock = Clock(MONDAY)
    root = config(tmp_path, feeds(web_server), smtp_server.url())
    async with service(tmp_path, root, pool, clock=clock) as svc:
        # News on Monday at 10:00 (after that morning's digest time); the service then stops
        # before Tuesday 07:30 and comes back on Wednesday.
        await svc.run_pass()
    clock.advance(days=2)
    async with service(tmp_path, root, pool, clock=clock) as svc:
        assert (await svc.deliver()).sent == 1
    (message,) = smtp_server.messages
    assert "Du 23/11/2026 07:30 au 25/11/2026 07:30" in message.get_body(("plain",)).get_content()


async def test_health_section_lists_failing_sources_and_failed_deliveries(
    tmp_path, web_server, smtp_server, pool
) -> None:
    clock = Clock(MONDAY)
    broken = web_server.add("/broken.xml", "", status=503)
    root = config(tmp_path, {"panne": broken}, smtp_server.url(), send_empty=True)
    async with service(tmp_path, root, pool, clock=clock) as svc:
        await svc.run_pass()
        clock.advance(days=1, hours=2)
        await svc.run_pass()
        await svc.deliver()
    digests = [m for m in smtp_server.messages if m["Subject"].startswith("Synthèse")]
    notices = [
        m for m in smtp_server.messages if m["Subject"].startswith("[veille] source en échec")
    ]
    assert len(digests) == 2  # Monday's (empty, sent anyway) and Tuesday's
    text = digests[-1].get_body(("plain",)).get_content()
    assert "Aucune alerte sur la période." in text
    assert "source Panne en échec depuis le 23/11/2026 10:00 (2 essais)" in text
    assert "HTTP 503" in text
    # A source failing for more than a day also raises one operator notice, not one per failure.
    (notice,) = notices
    assert notice["Subject"] == "[veille] source en échec\u202f: Panne"
    assert "La source « Panne » (panne" in notice.get_body(("plain",)).get_content()


async def test_preview_writes_the_next_digest(
    tmp_path, web_server, smtp_server, monkeypatch, capsys
) -> None:
    root = config(tmp_path, feeds(web_server), smtp_server.url())
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")

    async def monitor(*argv: str) -> int:
        # The command runs its own event loop: in a thread, while this loop serves the pages.
        return await asyncio.to_thread(main, ["--config", str(root), "-q", *argv])

    assert await monitor("run", "--once") == 0
    out = tmp_path / "preview.html"
    assert await monitor("digest", "--preview", str(out)) == 0
    html = out.read_text()
    assert "Synthèse du matin" in html
    assert DEMO["altanis-obtient-qualification-secnumcloud"].title in html
    assert smtp_server.messages == []  # a preview sends nothing
    assert await monitor("digest", "--send") == 0
    assert len(smtp_server.messages) == 1
    assert "1 sent" in capsys.readouterr().out


async def test_identical_failed_alerts_are_one_line_of_the_health_section(
    tmp_path, web_server, smtp_server, pool
) -> None:
    clock = Clock(MONDAY)
    root = config(tmp_path, feeds(web_server), smtp_server.url())
    # Alerts go at once to a mail server that is down, and fail at the first attempt.
    down = SmtpServer()
    write(root / "alerts" / "rules.toml", RULES.replace('mode = "digest"', 'mode = "both"'))
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{smtp_server.url()}"\n\n'
        f'[channels.panne]\nurl = "{down.url()}"\n\n[routing]\nchannels = ["panne"]\n',
    )
    write(root / "monitor.toml", "[delivery]\nmax_attempts = 1\n")
    allow_any_age(root)
    async with service(tmp_path, root, pool, clock=clock) as svc:
        first = await svc.run_pass()
        clock.advance(days=1)
        await svc.deliver()

    assert first.dispatch.failed == 2  # one story per rule
    (digest,) = smtp_server.messages
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    (line,) = [line for line in text.splitlines() if "abandonné" in line]
    assert line.startswith(
        "  - envoi vers «\u00a0panne\u00a0» abandonné après 1 essai (2 alertes)\u202f: "
        "SMTP 127.0.0.1:"
    )
    assert "ConnectionRefusedError" in line
    assert html.count("abandonné après 1 essai (2 alertes)") == 1
    # Rule titles, not ids; the digest's title, not its key.
    assert "ministry-microsoft" not in text and "« matin »" not in text


@pytest.mark.parametrize(
    ("cron", "title"),
    [
        ("30 7 * * *", "Veille : synthèse quotidienne"),
        ("0 9 * * 1", "Veille : synthèse hebdomadaire"),
        ("0 9 1 * *", "Veille : synthèse mensuelle"),
        ("0 8,18 * * *", "Veille : synthèse"),
    ],
)
def test_a_digest_without_a_title_is_named_for_readers_not_by_its_key(
    tmp_path: Path, cron: str, title: str
) -> None:
    mail = "mailto://127.0.0.1:25?from=v@example.org&to=t@example.org"
    root = config(tmp_path, {"fil": "https://example.org/feed.xml"}, mail)
    digests = f'[digests.matin]\nchannels = ["mail"]\ncron = "{cron}"\n'
    write(root / "alerts" / "digests.toml", digests)
    assert load_checked(root, {}).digests["matin"].title == title
