"""Source health: back-off between passes, forced polls, the `monitor sources` table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from monitor.cli import main
from monitor.notify.dispatch import article_note
from monitor.store.views import ArticleView

from support import Clock, loopback_sources, rss, serve_articles, service, write

NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def config(tmp_path, feeds: dict[str, str]):
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources(feeds, 'interval = "5m"\n'))
    write(
        root / "alerts" / "rules.toml", '[[rule]]\nid = "r"\ntitle = "R"\nquery = "SecNumCloud"\n'
    )
    return root


async def test_a_rate_limited_source_waits_and_force_overrides(tmp_path, web_server, pool) -> None:
    limited = web_server.add("/limited.xml", "", status=503, headers={"Retry-After": "3600"})
    clock = Clock(NOON)
    async with service(tmp_path, config(tmp_path, {"busy": limited}), pool, clock=clock) as svc:
        first = await svc.run_pass()
        clock.advance(minutes=10)  # past the 5-minute interval, not past the Retry-After
        second = await svc.run_pass()
        forced = await svc.run_pass(force=True)
        state = await svc.store.source_state("busy")
    assert (first.outcomes[0].ok, first.outcomes[0].error_kind) == (False, "rate-limited")
    assert second.outcomes[0].skipped == "retry-after"
    assert "sources: 0 ok (0 unchanged), 0 failed, 1 waiting (back-off or cache)" in second.lines()
    # Forced, the source is polled, but the host's own Retry-After still holds the request.
    assert forced.outcomes[0].error_kind == "rate-limited" and state.consecutive_failures == 2
    assert "asked us to wait" in (forced.outcomes[0].error or "")
    assert len(web_server.hits("/limited.xml")) == 1
    assert state.next_check_at is not None and state.next_check_at >= NOON.replace(hour=12)


async def test_sources_command_shows_each_status(
    tmp_path, web_server, pool, capsys, monkeypatch
) -> None:
    slug = "altanis-obtient-qualification-secnumcloud"
    pages = serve_articles(web_server, slug)
    good = web_server.add("/good.xml", rss(list(pages.items())), content_type="application/rss+xml")
    down = web_server.add("/down.xml", "", status=500)
    root = config(tmp_path, {"bonne": good, "panne": down})
    db = tmp_path / "db.sqlite3"
    async with service(tmp_path, root, pool, db_url=f"sqlite:///{db}") as svc:
        await svc.run_pass()
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{db}")
    assert await asyncio.to_thread(main, ["--config", str(root), "sources"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert "ok" in rows["bonne"] and "HTTP 500" in rows["panne"] and "error" in rows["panne"]
    cells = [cell.strip() for cell in rows["bonne"].split("│")]
    assert cells[6:8] == ["0", "1"]  # no failure, one item seen


def test_article_notes_say_where_the_text_came_from() -> None:
    def view(extraction: str, *flags: str) -> ArticleView:
        return ArticleView(
            1, "https://e.org/a", "t", "s", "S", None, NOON, "fr", "", extraction, flags
        )

    assert article_note(view("page")) == ""
    assert article_note(view("page", "paywall")) == "article réservé aux abonnés"
    assert article_note(view("summary", "extract-failed", "robots")) == (
        "résumé du flux seulement\u202f; robots.txt interdit la lecture de la page"
    )
    assert article_note(view("watch")) == "changement détecté sur la page surveillée"
