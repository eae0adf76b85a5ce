"""Several `monitor run` processes on one PostgreSQL share the work: each source is polled
by one of them, each story alerts once, each alert is sent once; a killed instance's
sources are taken over once its leases lapse; a database restart is waited out.

The database is a private PostgreSQL cluster of the test's own (initdb, pg_ctl on a
free port), never a shared server: the restart test stops and starts it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from monitor.preflight import load_checked

from support import DEMO, REPO, allow_any_age, free_port, loopback_sources, rss, service, write
from support.servers import SmtpServer

LEASE = 3.0  # seconds: `[service] lease` of the test configuration
RULE = """
[[rule]]
id = "watch"
title = "Cloud et administrations"
query = 'SecNumCloud OR Microsoft OR OVHcloud OR "Google Cloud"'
"""
FEEDS = 6  # the 18 demo articles, three per feed; the Armées-Microsoft story spans feeds


# -- a private PostgreSQL cluster ---------------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


@dataclass
class Cluster:
    root: Path
    port: int
    as_user: list[str]  # runuser prefix when the tests run as root (initdb refuses root)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        ctl = _pg_bin("pg_ctl")
        assert ctl is not None
        subprocess.run(
            [*self.as_user, ctl, "-D", str(self.data), "-w", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.root / "server.log"), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    async def create(self, database: str) -> str:
        connection = await asyncpg.connect(self.url("postgres"))
        try:
            await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()
        return self.url(database)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    initdb = _pg_bin("initdb")
    if initdb is None or _pg_bin("pg_ctl") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root, and no runuser to run initdb as another user")
        as_user = ["runuser", "-u", "nobody", "--"]
    root = Path(tempfile.mkdtemp(prefix="veille-pg-"))
    root.chmod(0o777)  # the server's user writes its data and socket there
    subprocess.run(
        [*as_user, initdb, "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = Cluster(root, free_port(), as_user)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- feeds, instances, and what they did ----------------------------------------------------------


class Pages:
    """The demo articles on the loopback server, three per feed, slow on demand."""

    def __init__(self, web_server: Any) -> None:
        self.delay = 0.0
        self.web_server = web_server
        slugs = list(DEMO)
        self.feeds: dict[str, str] = {}
        for index in range(FEEDS):
            chunk = slugs[index::FEEDS]
            items = [(slug, web_server.add(f"/a/{slug}", handler=self._page)) for slug in chunk]
            self.feeds[f"f{index}"] = web_server.add(
                f"/feed{index}.xml", rss(items), content_type="application/rss+xml"
            )

    async def _page(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        slug = request.path.rsplit("/", 1)[1]
        return web.Response(body=DEMO[slug].html, content_type="text/html")

    def feed_hits(self) -> dict[str, int]:
        return {sid: len(self.web_server.hits(f"/feed{sid[1:]}.xml")) for sid in self.feeds}


def configure(tmp_path: Path, pages: Pages, mail: str) -> Path:
    root = tmp_path / "config"
    # Two sources at once per instance: the others are left to the other instances.
    sources = loopback_sources(pages.feeds, 'interval = "1h"\n')
    write(root / "sources.toml", "[fetch]\nconcurrency = 2\n\n" + sources)
    write(root / "alerts" / "rules.toml", RULE)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\n',
    )
    write(root / "monitor.toml", f'[service]\nlease = "{LEASE:.0f}s"\n')
    allow_any_age(root)
    return root


async def expected_alerts(tmp_path: Path, root: Path, pool: Any) -> int:
    """How many alerts one instance raises on these feeds (SQLite, in this process)."""
    async with service(tmp_path / "reference", root, pool) as svc:
        summary = await svc.run_pass()
    alerts = sum(o.alerts for o in summary.outcomes)
    assert alerts >= 8, summary.lines()
    return alerts


@dataclass
class Setup:
    pages: Pages
    root: Path
    expected: int  # alerts
    url: str  # an empty database of the private cluster


async def prepare(
    tmp_path: Path, web_server: Any, mail: SmtpServer, pool: Any, database: Any, delay: float
) -> Setup:
    """Feeds, configuration, the alerts to expect, and a database; pages slowed by `delay`
    once the reference pass is done (and forgotten by the servers)."""
    pages = Pages(web_server)
    root = configure(tmp_path, pages, mail.url())
    expected = await expected_alerts(tmp_path, root, pool)
    web_server.requests.clear()
    mail.messages.clear()
    pages.delay = delay
    return Setup(pages, root, expected, await database)


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    log: Path

    @property
    def owner_suffix(self) -> str:
        return f"-{self.process.pid}"  # the instance id: hostname-pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")


def environment(tmp_path: Path, url: str, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_DATABASE_URL": url,
        "MONITOR_DATA_DIR": str(tmp_path / name),
        "PYTHONPATH": str(REPO),
    }


async def start(tmp_path: Path, root: Path, url: str, name: str) -> Instance:
    env = environment(tmp_path, url, name)
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--config", str(root), "run",
            env=env, cwd=str(REPO), stdout=asyncio.subprocess.DEVNULL, stderr=out,
        )  # fmt: skip
    return Instance(process, log)


async def stop(instances: list[Instance]) -> None:
    for instance in instances:
        if instance.process.returncode is None:
            instance.process.send_signal(signal.SIGTERM)
    for instance in instances:
        await asyncio.wait_for(instance.process.wait(), 60)


async def until(check: Callable[[], Any], what: str, seconds: float) -> float:
    """Wait for `check()` (awaited when it is a coroutine) to be true; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


def distinct(mail: SmtpServer) -> int:
    return len({m["Message-ID"] for m in mail.messages})


def check_each_once(mail: SmtpServer, expected: int, *, in_flight: int = 0) -> Counter[str]:
    """Every alert arrived; at most `in_flight` arrived twice, under one Message-ID."""
    received = Counter(m["Message-ID"] for m in mail.messages)
    assert len(received) == expected, f"{len(received)} distinct alerts, {expected} expected"
    doubled = sum(received.values()) - len(received)
    assert doubled <= in_flight, received
    return received


async def check_database(url: str, expected: int, root: Path) -> None:
    alerts = await query(url, "SELECT story_id, rule_id, rule_version FROM alerts")
    assert len(alerts) == expected  # one per story, wherever its articles were polled
    (rule,) = load_checked(root, {}).rules
    assert {a["rule_version"] for a in alerts} == {rule.version}  # what fired them
    statuses = await query(url, "SELECT status, count(*) AS n FROM deliveries GROUP BY status")
    assert {r["status"]: r["n"] for r in statuses} == {"sent": expected}
    articles = await query(url, "SELECT count(*) AS n FROM articles")
    assert articles[0]["n"] == len(DEMO)  # every article, once


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3])
async def test_instances_share_the_sources_and_send_each_alert_once(
    count, tmp_path, web_server, smtp_server, pool, cluster
) -> None:
    # Slow pages: polls overlap, instances start while others hold leases.
    setup = await prepare(
        tmp_path, web_server, smtp_server, pool, cluster.create(f"share{count}"), 0.3
    )
    pages, root, expected, url = setup.pages, setup.root, setup.expected, setup.url
    instances = [await start(tmp_path, root, url, f"i{n}") for n in range(count)]
    try:
        waited = await until(
            lambda: len(smtp_server.messages) >= expected,
            f"{expected} alerts",
            120,
        )
        await asyncio.sleep(2 * LEASE)  # time for a second sending, if there were one
    finally:
        await stop(instances)
    logs = [i.text() for i in instances]
    assert all(i.process.returncode == 0 for i in instances), logs
    check_each_once(smtp_server, expected)
    await check_database(url, expected, root)
    # Each source was polled once, by one instance (its next poll is an hour away).
    assert pages.feed_hits() == dict.fromkeys(pages.feeds, 1), logs
    # The instances shared them: each polled some, and each sent some.
    owners = [log.count(" matched watch") for log in logs]
    print(f"\n{count} instances: {expected} alerts in {waited:.1f}s; matches by instance {owners}")
    latency = await query(
        url,
        "SELECT max(extract(epoch FROM d.sent_at - a.created_at)) AS s "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id",
    )
    print(f"longest wait from match to sent: {latency[0]['s']:.2f}s")


async def test_a_killed_instance_is_taken_over_within_the_lease(
    tmp_path, web_server, pool, cluster
) -> None:
    mail = SmtpServer(delay=0.4)  # slow, so that a message may be in flight at the kill
    mail.start()
    try:
        # A pass takes seconds: the kill falls in the middle of one.
        setup = await prepare(tmp_path, web_server, mail, pool, cluster.create("kill"), 1.5)
        root, expected, url = setup.root, setup.expected, setup.url
        instances = [await start(tmp_path, root, url, f"i{n}") for n in range(2)]
        victim, survivor = instances
        leased = "SELECT id FROM sources WHERE lease_owner LIKE '%{}'"

        async def victim_polls() -> bool:
            try:
                return bool(await query(url, leased.format(victim.owner_suffix)))
            except asyncpg.UndefinedTableError:
                return False  # not migrated yet

        await until(victim_polls, "the victim holding a lease", 60)
        taken = {r["id"] for r in await query(url, leased.format(victim.owner_suffix))}
        sent_ids = "SELECT message_id FROM deliveries WHERE status = 'sent'"
        acknowledged = {r["message_id"] for r in await query(url, sent_ids)}
        victim.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await victim.process.wait()
        (killed,) = await query(url, "SELECT now() AS at")

        async def survivor_took_them() -> bool:
            rows = await query(
                url,
                f"SELECT id FROM sources WHERE lease_owner LIKE '%{survivor.owner_suffix}' "
                "OR last_success_at > $1",
                killed["at"],
            )
            return taken <= {r["id"] for r in rows}

        await until(survivor_took_them, "the survivor taking the sources over", 60)
        hand_off = time.monotonic() - killed_at
        sent = await until(
            lambda: distinct(mail) >= expected,
            f"{expected} alerts",
            120,
        )
        await asyncio.sleep(2 * LEASE)
        await stop([survivor])
    finally:
        mail.stop()
    assert survivor.process.returncode == 0, survivor.text()
    received = check_each_once(mail, expected, in_flight=1)
    for message_id in acknowledged:
        assert received[message_id] == 1  # nothing recorded as sent went out again
    await check_database(url, expected, root)
    doubled = sum(received.values()) - len(received)
    print(
        f"\nkill: {len(taken)} sources of the killed instance taken over {hand_off:.1f}s after "
        f"the kill (lease {LEASE:.0f}s); all alerts {sent:.1f}s later; lost 0, doubled {doubled}"
    )
    # Taken over once the lease lapsed, plus a look or two of the survivor.
    assert hand_off <= LEASE + 3, hand_off


async def test_a_database_restart_mid_pass_is_waited_out(
    tmp_path, web_server, smtp_server, pool, cluster
) -> None:
    setup = await prepare(tmp_path, web_server, smtp_server, pool, cluster.create("restart"), 1.0)
    root, expected, url = setup.root, setup.expected, setup.url
    instances = [await start(tmp_path, root, url, f"i{n}") for n in range(2)]
    try:
        await until(
            lambda: any(" matched watch" in i.text() for i in instances),
            "a first match",
            60,
        )
        await asyncio.to_thread(cluster.stop)  # mid-pass: pages are still on their way
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster.start)
        recovered = await until(
            lambda: distinct(smtp_server) >= expected,
            f"{expected} alerts after the restart",
            180,
        )
        await asyncio.sleep(2 * LEASE)
        alive = [i.process.returncode is None for i in instances]
    finally:
        await stop(instances)
    logs = [i.text() for i in instances]
    assert alive == [True, True], logs
    assert all("database unreachable" in log for log in logs), logs
    assert not any("Traceback" in log for log in logs), logs
    received = check_each_once(smtp_server, expected, in_flight=2)
    await check_database(url, expected, root)
    doubled = sum(received.values()) - len(received)
    print(f"\nrestart: {expected} alerts {recovered:.1f}s after the restart; doubled {doubled}")


async def test_sqlite_refuses_a_second_instance_in_one_line(
    tmp_path, web_server, smtp_server
) -> None:
    root = configure(tmp_path, Pages(web_server), smtp_server.url())
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"

    def second(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "-q", "--config", str(root), *argv],
            env=environment(tmp_path, url, "second"),
            cwd=str(REPO),
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = await start(tmp_path, root, url, "first")
    try:
        await until((tmp_path / "first" / "heartbeat.json").exists, "the first instance", 60)
        for argv in (["run"], ["run", "--once"]):
            refused = await asyncio.to_thread(second, *argv)
            assert refused.returncode == 2, refused.stderr
            (line,) = refused.stderr.splitlines()
            assert line.startswith(f"error: database sqlite+aiosqlite:///{tmp_path}/db.sqlite3 ")
            assert f"in use by another `monitor run` (pid {first.process.pid}" in line
            assert "use PostgreSQL to run several" in line
    finally:
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()
    # Killed, it holds nothing: the lock went with the process, its leases are taken back.
    again = await asyncio.to_thread(second, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert "sources: 6 ok" in again.stdout
