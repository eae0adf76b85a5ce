"""Delivery that loses nothing: outages, retries, rate limits, a killed process.

A clean stop of the service is tested with its other signals in
tests/system/test_service_process.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli import main

from support import DEMO, REPO, Clock, allow_any_age, rss, serve_articles, service, write
from support.servers import SmtpServer

BROAD_RULE = """
[[rule]]
id = "watch"
title = "Cloud et administrations"
query = 'SecNumCloud OR Microsoft OR OVHcloud OR "Google Cloud"'
channels = ["mail"]
mode = "immediate"
"""
NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def config(
    tmp_path: Path, feed: str, mail: str, *, channel_extra: str = "", service_toml: str = ""
) -> Path:
    root = tmp_path / "config"
    write(
        root / "sources.toml",
        f'[[source]]\nid = "fil"\nname = "Le Fil"\nurl = "{feed}"\nallow_private_networks = true\n',
    )
    write(root / "alerts" / "rules.toml", BROAD_RULE)
    write(root / "alerts" / "channels.toml", f'[channels.mail]\nurl = "{mail}"\n{channel_extra}')
    if service_toml:
        write(root / "monitor.toml", service_toml)
    allow_any_age(root)
    return root


def demo_feed(web_server: Any, count: int = 18) -> str:
    slugs = list(DEMO)[:count]
    pages = serve_articles(web_server, *slugs)
    return web_server.add("/feed.xml", rss(list(pages.items())), content_type="application/rss+xml")


def message_ids(server: SmtpServer) -> Counter[str]:
    return Counter(m["Message-ID"] for m in server.messages)


async def test_smtp_outage_queues_alerts_and_delivers_each_once(tmp_path, web_server, pool) -> None:
    mail = SmtpServer()  # not started: the mail server is down
    clock = Clock(NOON)
    root = config(tmp_path, demo_feed(web_server), mail.url())
    async with service(tmp_path, root, pool, clock=clock) as svc:
        first = await svc.run_pass()
        alerts = first.outcomes[0].alerts
        assert alerts >= 5 and first.dispatch.retrying == alerts and first.dispatch.sent == 0
        pending = await svc.store.deliveries("pending")
        assert len(pending) == alerts and all(d.attempts == 1 for d in pending)
        assert all(
            f"SMTP 127.0.0.1:{mail.port}: ConnectionRefusedError" in (d.last_error or "")
            for d in pending
        )
        assert (await svc.deliver()).sent == 0  # not yet due: back-off
        mail.start()
        try:
            clock.advance(minutes=5)
            summary = await svc.deliver()
            again = await svc.deliver()
        finally:
            mail.stop()
    assert summary.sent == alerts and again.sent == 0
    ids = message_ids(mail)
    assert len(ids) == alerts and set(ids.values()) == {1}


async def test_retries_stop_at_the_limit_and_failures_stay_visible(
    tmp_path, web_server, pool, capsys, monkeypatch
) -> None:
    mail = SmtpServer()
    clock = Clock(NOON)
    root = config(
        tmp_path,
        demo_feed(web_server, 3),
        mail.url(),
        service_toml='[delivery]\nmax_attempts = 3\nbackoff = "1m"\n',
    )
    async with service(tmp_path, root, pool, clock=clock) as svc:
        first = await svc.run_pass()
        for _ in range(4):
            clock.advance(hours=1)
            await svc.deliver()
        failed = await svc.store.deliveries("failed")
    assert len(failed) == first.outcomes[0].alerts >= 1
    assert all(d.attempts == 3 for d in failed)
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert await asyncio.to_thread(main, ["--config", str(root), "alerts", "--failed"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "ConnectionRefusedError" in out


async def test_failed_deliveries_are_sent_again_on_request_once_the_cause_is_fixed(
    tmp_path, web_server, pool, capsys, monkeypatch
) -> None:
    mail = SmtpServer()  # down until the operator fixes it
    clock = Clock(NOON)
    root = config(
        tmp_path,
        demo_feed(web_server, 3),
        mail.url(),
        service_toml='[delivery]\nmax_attempts = 2\nbackoff = "1m"\n',
    )
    db = tmp_path / "db.sqlite3"
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{db}")

    async def alerts(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["--config", str(root), "-q", "alerts", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    async with service(tmp_path, root, pool, clock=clock) as svc:
        await svc.run_pass()
        clock.advance(hours=1)
        last_try = await svc.deliver()
    failed_ids = {d.id for d in await svc.store.deliveries("failed")}
    failed_message_ids = _message_ids_by_status(db, "failed")
    assert last_try.failed == len(failed_ids) == len(failed_message_ids) >= 1

    code, out, err = await alerts("--retry", "999")
    assert code == 1 and "not failed, or unknown: 999" in err and "no failed delivery" in out
    code, out, _ = await alerts("--retry")
    assert code == 0 and f"{len(failed_ids)} failed deliveries queued again" in out
    assert (await alerts("--failed"))[0] == 0  # none left
    clock.now = datetime.now(UTC)  # the service runs on; the retry is due from now
    async with service(tmp_path, root, pool, clock=clock) as svc:
        # Retried too early, while the server is still down: a fresh round of attempts,
        # so this failure leads to a later retry, not straight back to "failed".
        early = await svc.deliver()
        mail.start()
        try:
            clock.advance(hours=1)
            resent = await svc.deliver()
            again = await svc.deliver()
            code, out, _ = await alerts("--retry")
        finally:
            mail.stop()
    assert (early.retrying, early.failed) == (len(failed_ids), 0)
    assert (resent.sent, again.sent) == (len(failed_ids), 0)
    # Each arrives once, under the Message-ID it had from the start.
    assert message_ids(mail) == Counter(failed_message_ids)
    assert code == 0 and "no failed delivery to send again" in out


def _message_ids_by_status(db: Path, status: str) -> set[str]:
    """The stored Message-IDs, as the mail server receives them: at the sender's domain."""
    with sqlite3.connect(db) as connection:
        query = "SELECT message_id FROM deliveries WHERE status = ?"
        rows = connection.execute(query, (status,))
        return {row[0].replace("@veille.localhost>", "@example.org>") for row in rows}


async def test_rate_limit_defers_instead_of_dropping(
    tmp_path, web_server, smtp_server, pool
) -> None:
    clock = Clock(NOON)
    root = config(
        tmp_path, demo_feed(web_server), smtp_server.url(), channel_extra='rate_limit = "2/h"\n'
    )
    async with service(tmp_path, root, pool, clock=clock) as svc:
        first = await svc.run_pass()
        alerts = first.outcomes[0].alerts
        assert (first.dispatch.sent, first.dispatch.deferred) == (2, alerts - 2)
        sent = 2
        while sent < alerts:
            clock.advance(hours=1)
            sent += (await svc.deliver()).sent
    assert len(message_ids(smtp_server)) == alerts


async def _monitor(
    root: Path, env: dict[str, str], log: Path, *argv: str
) -> asyncio.subprocess.Process:
    # Output to a file, not a pipe: waiting on a pipe would also wait for any process that
    # inherited it, which is not what these tests measure.
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(root),
            "-q",
            *argv,
            env=env,
            cwd=str(REPO),
            stdout=out,
            stderr=out,
        )


async def test_killed_mid_pass_then_restarted_loses_nothing_and_resends_nothing_acknowledged(
    tmp_path, web_server
) -> None:
    mail = SmtpServer(delay=0.4)  # slow, so that the process can be killed while sending
    mail.start()
    db = tmp_path / "db.sqlite3"
    root = config(tmp_path, demo_feed(web_server), mail.url())
    env = {**os.environ, "MONITOR_DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(REPO)}
    try:
        log = tmp_path / "monitor.log"
        first = await _monitor(root, env, log, "run", "--once")
        for _ in range(1200):  # until the first alert is in the mailbox, at most 120 s
            if mail.messages:
                break
            await asyncio.sleep(0.1)
        assert mail.messages, "no alert was sent before the deadline"
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 30)
        acknowledged = _message_ids_by_status(db, "sent")
        received_before_restart = len(mail.messages)
        second = await _monitor(root, env, log, "run", "--once")
        assert await asyncio.wait_for(second.wait(), 120) == 0, log.read_text()
    finally:
        mail.stop()
    with sqlite3.connect(db) as connection:
        statuses = Counter(row[0] for row in connection.execute("SELECT status FROM deliveries"))
        alerts = connection.execute("SELECT count(*) FROM alerts").fetchone()[0]
    received = message_ids(mail)
    assert statuses == {"sent": alerts} and alerts >= 5
    assert len(received) == alerts  # nothing lost: every alert arrived
    assert received_before_restart < alerts  # the kill really happened mid-pass
    for message_id in acknowledged:
        assert received[message_id] == 1  # nothing recorded as sent went out twice
    # At most the one message in flight at the kill is resent, under the same Message-ID.
    assert sum(received.values()) - len(received) <= 1
