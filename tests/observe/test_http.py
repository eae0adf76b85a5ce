"""`monitor run --http`: /healthz, /readyz and /metrics of a real service process, polling
a loopback feed and mailing to a loopback SMTP server; its JSON log lines."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from monitor.config.version import config_version

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    OFF_TOPIC,
    PG_URL,
    REPO,
    SILENT_RULE,
    config_dir,
    eventually,
    free_port,
    rss,
    serve_articles,
    start_service,
    write,
)

UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Endpoints:
    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text()

    async def json(self, path: str) -> tuple[int, dict[str, Any]]:
        status, text = await self.get(path)
        return status, json.loads(text)

    async def metrics(self) -> Samples:
        status, text = await self.get("/metrics")
        assert status == 200, text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    async def metrics_when(self, check: Callable[[Samples], bool], what: str) -> Samples:
        """The first scrape for which `check` holds."""
        found: Samples = {}

        async def scraped() -> bool:
            nonlocal found
            found = await self.metrics()
            return check(found)

        await eventually(scraped, what)
        return found

    async def up(self) -> bool:
        try:
            return (await self.get("/healthz"))[0] == 200
        except aiohttp.ClientConnectionError:
            return False

    async def ready(self) -> bool:
        return (await self.get("/readyz"))[0] == 200


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@asynccontextmanager
async def service_with_http(
    tmp_path: Path, root: Path, *argv: str, database_url: str | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Endpoints]]:
    """`monitor run --http 127.0.0.1:PORT [argv]`, stopped by SIGTERM at the end."""
    port = free_port()
    process = await start_service(
        tmp_path, root, "--http", f"127.0.0.1:{port}", *argv, database_url=database_url
    )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            endpoints = Endpoints(session, port)
            await eventually(endpoints.up, "the HTTP endpoints")
            yield process, endpoints
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)


async def test_metrics_count_what_the_passes_did(tmp_path, web_server, smtp_server) -> None:
    pages = serve_articles(web_server, EVENT, OFF_TOPIC)
    feed = web_server.add(
        "/feed.xml",
        rss([(EVENT, pages[EVENT]), (OFF_TOPIC, pages[OFF_TOPIC])]),
        content_type="application/rss+xml",
        headers={"ETag": '"v1"'},
    )
    root = config_dir(tmp_path, feed, smtp_server.url(), MICROSOFT_RULE)
    async with service_with_http(tmp_path, root, "--log-format", "json") as (process, http):
        await http.metrics_when(
            lambda s: bool(value(s, "monitor_deliveries_total", channel="mail", outcome="sent")),
            "the alert's delivery in the metrics",
        )
        (message,) = smtp_server.messages
        assert DEMO[EVENT].title in message.get_body(("plain",)).get_content()

        status, health = await http.json("/healthz")
        instance = f"{socket.gethostname()}-{process.pid}"
        assert status == 200 and health["instance_id"] == instance
        status, ready = await http.json("/readyz")
        assert (status, ready["checks"]) == (
            200,
            {"configuration": "ok", "database": "ok", "scheduler": "ok"},
        )

        # A new configuration: the service starts anew, polls at once and gets a 304;
        # the counters go on from where they were. [service] waits for a restart.
        version = config_version(root)
        write(root / "alerts" / "rules.toml", MICROSOFT_RULE + "# reloaded\n")
        write(root / "monitor.toml", '[service]\ninstance = "renamed"\n')
        process.send_signal(signal.SIGHUP)

        await eventually(http.ready, "ready again after the reload")
        samples = await http.metrics_when(
            lambda s: bool(value(s, "monitor_fetches_total", source="fil", outcome="not_modified")),
            "the second poll, answered 304",
        )

    assert process.returncode == 0
    assert len(web_server.hits("/feed.xml")) == 2
    assert value(samples, "monitor_fetches_total", source="fil", outcome="ok") == 1
    assert value(samples, "monitor_articles_total", source="fil", kind="new") == 2
    assert value(samples, "monitor_articles_total", source="fil", kind="updated") == 0
    assert value(samples, "monitor_matches_total", rule="ministry-microsoft") == 1
    assert value(samples, "monitor_alerts_total") == 1
    assert value(samples, "monitor_deliveries_total", channel="mail", outcome="sent") == 1
    assert value(samples, "monitor_outbox_pending") == 0
    assert value(samples, "monitor_outbox_oldest_pending_age_seconds") == 0
    assert value(samples, "monitor_source_up", source="fil") == 1
    assert value(samples, "monitor_source_consecutive_failures", source="fil") == 0
    # Two article pages read, two feeds fetched (one parsed), one message sent.
    assert value(samples, "monitor_stage_duration_seconds_count", stage="extract") == 2
    assert value(samples, "monitor_stage_duration_seconds_count", stage="fetch") == 2
    assert value(samples, "monitor_stage_duration_seconds_count", stage="parse") == 1
    assert value(samples, "monitor_stage_duration_seconds_count", stage="send") == 1
    assert value(samples, "monitor_lease_handoffs_total") == 0
    # Only the configuration running now labels the instance.
    new_version = config_version(root)
    assert new_version != version
    info = {k: v for k, v in samples.items() if k[0] == "monitor_instance_info"}
    labels = frozenset({"instance_id": instance, "config_version": new_version}.items())
    assert info == {("monitor_instance_info", labels): 1}

    lines = (tmp_path / "monitor.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(UTC_TIME.fullmatch(r["time"]) for r in records)
    assert all(r["instance_id"] == instance for r in records)
    (changed,) = [r for r in records if r["message"].startswith("[service] changed")]
    assert changed["level"] == "WARNING"
    (matched,) = [r for r in records if "matched" in r["message"]]
    assert matched["source_id"] == "fil" and matched["rule_id"] == "ministry-microsoft"
    assert matched["article_id"].isdigit() and pages[EVENT] in matched["message"]
    (delivered_line,) = [r for r in records if r["message"].startswith("delivered alert")]
    assert delivered_line["delivery_id"].isdigit() and "source_id" not in delivered_line
    starts = [r for r in records if r["message"].startswith(f"instance {instance}, config")]
    assert [r["message"].rsplit(" ", 1)[1] for r in starts] == [version, new_version]


# -- readiness follows the database -------------------------------------------------------------


async def _admin(statement: str, *args: Any) -> None:
    assert PG_URL is not None
    connection = await asyncpg.connect(PG_URL)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def _take_away(name: str, new_name: str) -> None:
    """Rename a database its clients use: cut them off first (they reconnect fast)."""
    for _ in range(50):
        await _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        try:
            await _admin(f'ALTER DATABASE "{name}" RENAME TO "{new_name}"')
            return
        except asyncpg.ObjectInUseError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"database {name} could not be renamed")


@pytest.mark.postgres
async def test_readyz_is_503_while_the_database_is_gone(tmp_path, web_server, smtp_server) -> None:
    if not PG_URL:
        pytest.skip("needs MONITOR_TEST_DATABASE_URL (PostgreSQL)")
    base = make_url(PG_URL)
    name = f"{base.database}_readyz_{os.getpid()}"
    url = base.set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}"')
    await _admin(f'DROP DATABASE IF EXISTS "{name}_gone"')
    await _admin(f'CREATE DATABASE "{name}"')
    feed = web_server.add("/feed.xml", rss([]), content_type="application/rss+xml")
    root = config_dir(tmp_path, feed, smtp_server.url(), SILENT_RULE)
    try:
        async with service_with_http(tmp_path, root, database_url=url) as (process, http):
            await eventually(http.ready, "ready")

            await _take_away(name, f"{name}_gone")
            status, ready = await http.json("/readyz")
            assert status == 503 and not ready["ready"]
            assert ready["checks"]["database"].startswith("unreachable: ")
            assert name in ready["checks"]["database"]  # "database ... does not exist"
            assert ready["checks"]["scheduler"] == "ok"
            assert (await http.get("/healthz"))[0] == 200  # alive all the same
            assert (await http.get("/metrics"))[0] == 200  # the counters still go out

            await _admin(f'ALTER DATABASE "{name}_gone" RENAME TO "{name}"')
            await eventually(http.ready, "ready once the database is back")
        assert process.returncode == 0
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(f'DROP DATABASE IF EXISTS "{name}_gone" WITH (FORCE)')


async def test_monitor_health_asks_healthz_when_the_service_serves_it(
    tmp_path, web_server, smtp_server
) -> None:
    """The image's health check (`monitor health`) reads the heartbeat and, with `--http`
    on, asks /healthz as well: a frozen event loop fails it before its heartbeat is old."""
    feed = web_server.add("/feed.xml", rss([]), content_type="application/rss+xml")
    root = config_dir(tmp_path, feed, smtp_server.url(), SILENT_RULE)
    env = {**os.environ, "MONITOR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}

    async def health() -> tuple[int, str]:
        checked = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--config", str(root), "health",
            env=env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await checked.communicate()
        return checked.returncode or 0, out.decode()

    async with service_with_http(tmp_path, root) as (process, _endpoints):
        await eventually(lambda: (tmp_path / "data" / "heartbeat.json").exists(), "a heartbeat")
        code, said = await health()
        assert code == 0 and said.startswith("running: ") and "/healthz answered" in said, said
        process.send_signal(signal.SIGSTOP)  # alive, its heartbeat fresh, its loop frozen
        try:
            code, said = await health()
        finally:
            process.send_signal(signal.SIGCONT)
        assert code == 1 and said.startswith("unhealthy: ") and "did not answer" in said, said
