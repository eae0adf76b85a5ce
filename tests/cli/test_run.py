"""`monitor run` shows it is alive: a progress line on a terminal during `--once`, a
summary line every `[service] summary_every` while it serves, and a reload that says
it reloads and what changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Activity, Control
from monitor.cli import main
from monitor.records import SourceOutcome
from monitor.settings import Settings, database_file_known

from support import (
    EVENT,
    MICROSOFT_RULE,
    OFF_TOPIC,
    SILENT_RULE,
    config_dir,
    eventually,
    loopback_sources,
    rss,
    serve_articles,
    service,
    start_service,
    write,
)
from support.probe import probe, top_level

MONITOR = str(Path(sys.executable).parent / "monitor")


def two_feeds(tmp_path: Path, web_server: Any) -> Path:
    pages = serve_articles(web_server, EVENT, OFF_TOPIC)
    feeds = {
        sid: web_server.add(f"/{sid}.xml", rss([(slug, pages[slug])]), content_type="text/xml")
        for sid, slug in (("un", EVENT), ("deux", OFF_TOPIC))
    }
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources(feeds))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    return root


async def run_once(
    tmp_path: Path, root: Path, ends: tuple[int, int], *options: str
) -> tuple[int, bytes, str]:
    """`monitor run --once` with its standard error on the second of `ends` (a terminal,
    a pipe): its exit code, standard output, and what the first end received."""
    reader, writer = ends
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "120",
    }
    try:
        reading = asyncio.create_task(asyncio.to_thread(read_all, reader))
        process = await asyncio.create_subprocess_exec(
            MONITOR, "--config", str(root), *options, "run", "--once", "--no-send",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=writer,
        )  # fmt: skip
        os.close(writer)
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, out, (await reading).decode()
    finally:
        os.close(reader)


def read_all(fd: int) -> bytes:
    """What the terminal's other end received, until the process closed it."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: no process has the terminal open any more
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def test_run_once_draws_a_progress_line_on_a_terminal(
    tmp_path: Path, web_server: Any
) -> None:
    root = two_feeds(tmp_path, web_server)
    # -q: no log line in between
    code, out, shown = await run_once(tmp_path, root, pty.openpty(), "-q")
    assert code == 0 and b"articles: 2 new" in out
    # Written over in place (carriage return, erase line) from the first source read,
    # and erased at the end so that nothing of it is left above the shell's prompt.
    assert shown.startswith("\r\x1b[K1/2 sources · ") and "alert" in shown
    assert shown.endswith("\r\x1b[K")


async def test_log_lines_are_not_written_over_the_progress_line(
    tmp_path: Path, web_server: Any
) -> None:
    root = two_feeds(tmp_path, web_server)
    code, _, shown = await run_once(tmp_path, root, pty.openpty())
    logged = [line for line in shown.split("\r\n") if " INFO " in line]
    assert code == 0 and any("matched ministry-microsoft" in line for line in logged)
    # What the terminal shows of each line is what follows its last erasure: the log
    # line alone, from its time stamp, with no progress text before it.
    assert all(line.rsplit("\x1b[K", 1)[-1].startswith("20") for line in logged), logged


async def test_run_once_draws_nothing_when_standard_error_is_a_pipe(
    tmp_path: Path, web_server: Any
) -> None:
    root = two_feeds(tmp_path, web_server)
    code, out, err = await run_once(tmp_path, root, os.pipe())
    assert code == 0 and b"articles: 2 new" in out
    assert "\r" not in err and "\x1b" not in err and "sources ·" not in err
    assert "INFO" in err  # the log, alone


# What sends (apprise) and the long-running service's clock (APScheduler): a pass that
# sends nothing needs neither, nor the demo.
UNUSED_BY_A_PASS = {"apprise", "apscheduler"}


async def test_a_pass_that_sends_nothing_imports_only_what_it_uses(
    tmp_path: Path, web_server: Any
) -> None:
    root = two_feeds(tmp_path, web_server)
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
    }
    args = ["--config", str(root), "run", "--once", "--no-send"]
    code, modules, out = await asyncio.to_thread(probe, args, env)
    assert code == 0 and "articles: 2 new" in out  # read, extracted, matched and stored
    # The probe sees what a pass loads: the HTTP client, the database; a new database
    # gets the models' schema at once, without the migrations.
    assert {"aiohttp", "sqlalchemy"} <= top_level(modules)
    assert "alembic" not in top_level(modules)
    assert top_level(modules) & UNUSED_BY_A_PASS == set()
    assert "monitor.demo" not in modules


def descendants(pid: int) -> set[int]:
    """The processes below `pid` now (Linux's /proc)."""
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in map(int, children.read().split()):
                    found |= {child} | descendants(child)
    except OSError:  # it ended meanwhile
        pass
    return found


def is_pool_process(pid: int) -> bool:
    """A forkserver or one of its workers (not, say, a one-off helper command)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"multiprocessing" in cmdline.read()
    except OSError:
        return False


async def processes_of_a_pass(root: Path, env: dict[str, str]) -> set[int]:
    """The pool processes that `monitor run --once` started, sampled every 10 ms."""
    process = await asyncio.create_subprocess_exec(
        MONITOR, "--config", str(root), "-q", "run", "--once", "--no-send",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    seen: set[int] = set()
    while process.returncode is None:
        seen |= {pid for pid in descendants(process.pid) if is_pool_process(pid)}
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 0.01)
    assert process.returncode == 0
    return seen


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_a_pass_whose_feeds_all_answer_304_starts_no_worker(
    tmp_path: Path, web_server: Any
) -> None:
    pages = serve_articles(web_server, EVENT)
    feed = web_server.add(
        "/feed.xml", rss(list(pages.items())), content_type="text/xml", headers={"ETag": '"1"'}
    )
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"un": feed}))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
    }
    assert len(await processes_of_a_pass(root, env)) >= 2  # the forkserver and a worker
    assert await processes_of_a_pass(root, env) == set()
    assert web_server.hits("/feed.xml")[-1]["If-None-Match"] == '"1"'


def test_a_database_file_is_known_before_the_configuration_only_where_it_is(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    named = tmp_path / "named.sqlite3"
    known = lambda **env: database_file_known(  # noqa: E731
        Settings.from_env({"MONITOR_DATA_DIR": str(data), **env})
    )
    assert not known()  # a first run: no file yet, the workers start at once
    write(data / "veille.sqlite3", "")
    assert known()
    assert not known(MONITOR_DATABASE_URL=f"sqlite:///{named}")
    write(named, "")
    assert known(MONITOR_DATABASE_URL=f"sqlite:///{named}")
    # A server database: nothing is known before it is reached.
    assert not known(MONITOR_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")


@pytest.mark.parametrize(
    ("outcomes", "span", "line"),
    [
        ([], timedelta(minutes=15), "last 15 min: 0 polls, 0 new articles, 0 alerts, 0 failures"),
        (
            [SourceOutcome("a", ok=True, new_articles=1, alerts=1)],
            timedelta(hours=1),
            "last 1 h: 1 poll, 1 new article, 1 alert, 0 failures",
        ),
        (
            [
                SourceOutcome("a", ok=True, new_articles=3, alerts=2),
                SourceOutcome("b", ok=False, error_kind="http"),
                SourceOutcome("c", ok=True, skipped="backoff"),  # no request: no poll
            ],
            timedelta(minutes=90),
            "last 1 h 30 min: 2 polls, 3 new articles, 2 alerts, 1 failure",
        ),
    ],
)
def test_the_summary_line_counts_with_plurals(
    outcomes: list[SourceOutcome], span: timedelta, line: str
) -> None:
    activity = Activity()
    activity.add(outcomes)
    assert activity.line(span) == line


async def test_the_service_logs_a_summary_every_period(
    tmp_path: Path, web_server: Any, pool: Any, caplog: Any
) -> None:
    root = two_feeds(tmp_path, web_server)
    write(root / "monitor.toml", '[service]\nsummary_every = "1s"\n')
    caplog.set_level(logging.INFO, logger="monitor.app")
    summaries = lambda: [r.getMessage() for r in caplog.records if r.msg == "%s"]  # noqa: E731
    async with service(tmp_path, root, pool) as svc:
        control = Control()
        serving = asyncio.create_task(svc.serve(control))
        try:
            # Both sources are polled once at start (their interval is 30 min): the
            # summaries count them once, then say that nothing happened since.
            await eventually(lambda: polls(summaries()) == 2, "both polls counted")
            counted = len(summaries())
            await eventually(lambda: len(summaries()) > counted, "a quiet summary")
        finally:
            control.stop.set()
            await asyncio.wait_for(serving, 30)
    assert summaries()[-1] == "last 1 s: 0 polls, 0 new articles, 0 alerts, 0 failures"
    assert (polls(summaries()), polls(summaries(), 1), polls(summaries(), 2)) == (2, 2, 1)
    assert all(s.startswith("last 1 s: ") and s.endswith(" 0 failures") for s in summaries())


def polls(summaries: list[str], which: int = 0) -> int:
    """The sum of one count (0: polls, 1: new articles, 2: alerts) over summary lines."""
    return sum(int(s.split(": ")[1].split(", ")[which].split()[0]) for s in summaries)


@pytest.mark.parametrize("value", ['"0s"', '"soon"'])
def test_a_bad_summary_period_is_a_config_error_at_its_line(
    tmp_path: Path, value: str, capsys: Any
) -> None:
    write(tmp_path / "sources.toml", loopback_sources({"s": "http://127.0.0.1:9/f.xml"}))
    write(tmp_path / "alerts" / "rules.toml", MICROSOFT_RULE)
    write(tmp_path / "monitor.toml", f"\n[service]\nsummary_every = {value}\n")
    assert main(["--config", str(tmp_path), "check"]) == 1
    (problem,) = capsys.readouterr().err.splitlines()[1:]
    assert problem.startswith("  monitor.toml:2: [service.summary_every] ")


async def test_sighup_says_it_reloads_and_what_changed(
    tmp_path: Path, web_server: Any, smtp_server: Any
) -> None:
    feed = web_server.add("/feed.xml", rss([]), content_type="application/rss+xml")
    root = config_dir(tmp_path, feed, smtp_server.url(), SILENT_RULE)
    log = tmp_path / "monitor.log"
    process = await start_service(tmp_path, root)
    try:
        await eventually(lambda: bool(web_server.hits("/feed.xml")), "the first poll")
        write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
        process.send_signal(signal.SIGHUP)
        await eventually(
            lambda: log.read_text(encoding="utf-8").count("veille running") == 2, "the restart"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    lines = log.read_text(encoding="utf-8").splitlines()
    said = [line.split(": ", 1)[1] for line in lines if " INFO " in line]
    reloaded = said.index(f"configuration reloaded from {root}: rules: +ministry-microsoft, -watch")
    assert said[reloaded + 1] == "reloading: waiting for running jobs"
    assert said[reloaded + 2 :].count("veille running: 1 sources, 1 rules; Ctrl-C to stop") == 1
    assert said.count("stopping: waiting for running jobs") == 1  # at SIGTERM only
