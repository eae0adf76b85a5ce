"""`monitor run` as a process: SIGTERM lets the running jobs finish, SIGHUP reloads the
configuration (and keeps the running one when the new one is broken), and its heartbeat
tells `monitor health` whether it is alive."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from datetime import UTC, datetime, timedelta

from aiohttp import web

from monitor.cli import main
from monitor.schedule.heartbeat import Heartbeat, write_heartbeat

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    OFF_TOPIC,
    SILENT_RULE,
    config_dir,
    eventually,
    rss,
    serve_articles,
    start_service,
    write,
)


async def test_sigterm_lets_a_running_poll_finish(tmp_path, web_server, smtp_server) -> None:
    async def slow_page(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(body=DEMO[EVENT].html, content_type="text/html")

    page = web_server.add(f"/articles/{EVENT}", handler=slow_page)
    feed = web_server.add("/feed.xml", rss([(EVENT, page)]), content_type="application/rss+xml")
    root = config_dir(tmp_path, feed, smtp_server.url(), MICROSOFT_RULE)
    process = await start_service(tmp_path, root)
    try:
        await eventually(lambda: bool(web_server.hits(f"/articles/{EVENT}")), "the page fetch")
    finally:
        process.send_signal(signal.SIGTERM)  # while the page is still on its way
        await asyncio.wait_for(process.wait(), 60)
    log = (tmp_path / "monitor.log").read_text(encoding="utf-8")
    assert process.returncode == 0, log
    assert "stopping: waiting for running jobs" in log
    assert "raised an exception" not in log and "CancelledError" not in log
    # The poll ran to its end: the article was stored, matched, and its alert sent.
    with sqlite3.connect(tmp_path / "db.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (1,)
    (message,) = smtp_server.messages
    assert DEMO[EVENT].title in message.get_body(("plain",)).get_content()


async def test_sighup_reloads_the_rules_and_a_broken_file_keeps_the_running_ones(
    tmp_path, web_server, smtp_server
) -> None:
    pages = serve_articles(web_server, OFF_TOPIC, EVENT)
    feed = web_server.add(
        "/feed.xml", rss([(OFF_TOPIC, pages[OFF_TOPIC])]), content_type="application/rss+xml"
    )
    root = config_dir(tmp_path, feed, smtp_server.url(), SILENT_RULE)
    rules = root / "alerts" / "rules.toml"
    log = tmp_path / "monitor.log"
    process = await start_service(tmp_path, root)
    logged = lambda text: text in log.read_text(encoding="utf-8")  # noqa: E731
    try:
        await eventually(lambda: len(web_server.hits("/feed.xml")) == 1, "the first poll")

        # A typo: the service says where, and runs on with the rules it has.
        write(rules, SILENT_RULE + "severty = 'high'\n")
        process.send_signal(signal.SIGHUP)
        await eventually(lambda: logged("configuration not reloaded"), "the reload refused")
        assert logged("alerts/rules.toml:5: [rule.0.severty] rule 'watch': unknown key")
        assert process.returncode is None

        # Fixed: the new rule applies to what arrives next.
        write(rules, MICROSOFT_RULE)
        web_server.add(
            "/feed.xml",
            rss([(OFF_TOPIC, pages[OFF_TOPIC]), (EVENT, pages[EVENT])]),
            content_type="application/rss+xml",
        )
        process.send_signal(signal.SIGHUP)
        await eventually(lambda: bool(smtp_server.messages), "an alert under the new rule")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    text = log.read_text(encoding="utf-8")
    assert process.returncode == 0, text
    assert text.count("veille running: 1 sources, 1 rules") == 2  # started, then restarted
    assert "configuration reloaded from" in text
    (message,) = smtp_server.messages
    assert DEMO[EVENT].title in message.get_body(("plain",)).get_content()


async def test_health_follows_the_service_heartbeat(
    tmp_path, web_server, smtp_server, monkeypatch, capsys
) -> None:
    feed = web_server.add("/feed.xml", rss([]), content_type="application/rss+xml")
    root = config_dir(tmp_path, feed, smtp_server.url(), SILENT_RULE)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    heartbeat = tmp_path / "data" / "heartbeat.json"

    async def health(*argv: str) -> tuple[int, str]:
        code = await asyncio.to_thread(main, ["--config", str(root), "health", *argv])
        return code, capsys.readouterr().out

    assert await health() == (1, f"not running: no heartbeat at {heartbeat}\n")
    process = await start_service(tmp_path, root)
    try:
        await eventually(heartbeat.exists, "the first heartbeat")
        code, out = await health()
        assert code == 0 and out.startswith(f"running: pid {process.pid}, last heartbeat ")
        assert out.endswith("1 sources, 1 rules\n")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    assert process.returncode == 0
    assert (await health())[0] == 1  # a clean stop takes its heartbeat away
    # A killed or hung service leaves a beat that only grows old.
    old = datetime.now(UTC) - timedelta(minutes=10)
    write_heartbeat(heartbeat, Heartbeat(old, 4242, 1, 1))
    code, out = await health()
    assert code == 1 and re.match(r"unhealthy: pid 4242, last heartbeat 6\d\ds ago", out)
    assert (await health("--max-age", "1h"))[0] == 0
    heartbeat.write_text("{not json", encoding="utf-8")
    code, out = await health()
    assert code == 1 and out.startswith(f"unhealthy: unreadable heartbeat file {heartbeat}")
