"""Log lines: JSON objects or human lines, both masked and free of control characters,
both timed in UTC with their offset; the ids of what is being worked on as JSON fields."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.cli import main
from monitor.log import log_context, log_time, setup_logging, use_log_format

from support import (
    DEMO,
    EVENT,
    MICROSOFT_RULE,
    allow_any_age,
    loopback_sources,
    rss,
    serve_articles,
    write,
)

SECRET_URL = "https://bot:hunter2@hooks.example.org/feed?token=abcdef"
UTC_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ")
log = logging.getLogger("monitor.test")


def json_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines()]


def test_a_json_line_is_one_masked_object_with_the_context(capsys: Any) -> None:
    setup_logging("INFO")
    use_log_format("json", "veille-a")
    with log_context(source_id="fil", article_id=12):
        try:
            raise ValueError(f"boom at {SECRET_URL}")
        except ValueError:
            log.exception("fetch of %s\x1b[31m failed\nsecond line", SECRET_URL)
        with log_context(rule_id="ministry-microsoft"):
            log.info("matched")
    log.warning("outside", extra={"delivery_id": 7})
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 3  # the newline and the traceback stay inside the JSON
    failed, matched, outside = json_lines(err)
    assert "hunter2" not in err and "abcdef" not in err and "\x1b" not in err
    assert failed["message"] == (
        "fetch of https://***@hooks.example.org/feed?token=*** failed\nsecond line"
    )
    assert failed["level"] == "ERROR" and failed["logger"] == "monitor.test"
    assert failed["source_id"] == "fil" and failed["article_id"] == "12"
    assert "rule_id" not in failed and failed["instance_id"] == "veille-a"
    assert "ValueError: boom at https://***@hooks.example.org" in failed["exception"]
    assert (matched["source_id"], matched["rule_id"]) == ("fil", "ministry-microsoft")
    # Out of the block the context is gone; `extra=` gives a field too.
    assert outside["delivery_id"] == "7" and "source_id" not in outside
    assert list(outside) == ["time", "level", "logger", "message", "delivery_id", "instance_id"]


async def test_each_task_logs_its_own_source(capsys: Any) -> None:
    setup_logging("INFO")
    use_log_format("json", "veille-a")

    async def poll(source_id: str, delay: float) -> None:
        with log_context(source_id=source_id):
            await asyncio.sleep(delay)
            log.info("polled %s", source_id)

    await asyncio.gather(poll("a", 0.05), poll("b", 0.0))
    lines = json_lines(capsys.readouterr().err)
    assert [(r["message"], r["source_id"]) for r in lines] == [("polled b", "b"), ("polled a", "a")]


def test_the_human_line_is_timed_in_utc_and_masked(capsys: Any) -> None:
    setup_logging("INFO")
    with log_context(source_id="fil"):
        log.warning("cannot reach %s\x07", SECRET_URL)
    (line,) = capsys.readouterr().err.splitlines()
    assert UTC_LINE.match(line), line
    assert line.endswith(
        "WARNING monitor.test: cannot reach https://***@hooks.example.org/feed?token=***"
    )


def test_times_in_messages_are_utc_with_their_offset() -> None:
    paris = datetime(2026, 3, 2, 8, 30, 15, 999, tzinfo=ZoneInfo("Europe/Paris"))
    assert log_time(paris) == "2026-03-02T07:30:15+00:00"
    with pytest.raises(ValueError, match="naive datetime"):
        log_time(datetime(2026, 3, 2, 8, 30))


@pytest.mark.parametrize("how", ["env", "monitor.toml", "option"])
async def test_run_once_writes_json_lines(
    how: str, tmp_path: Path, web_server: Any, monkeypatch: Any, capsys: Any
) -> None:
    pages = serve_articles(web_server, EVENT)
    feed = web_server.add("/feed.xml", rss([(EVENT, pages[EVENT])]))
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"fil": feed}))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    allow_any_age(root)
    json_key = 'log_format = "json"\n' if how == "monitor.toml" else ""
    write(root / "monitor.toml", f'[service]\ninstance = "veille-a"\n{json_key}')
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    if how == "env":
        monkeypatch.setenv("MONITOR_LOG_FORMAT", "JSON")
    option = ["--log-format", "json"] if how == "option" else []
    argv = ["--config", str(root), "run", "--once", "--no-send", *option]
    assert await asyncio.to_thread(main, argv) == 0
    captured = capsys.readouterr()
    assert "articles: 1 new" in captured.out  # the summary stays for people, on stdout
    lines = json_lines(captured.err)
    assert {r["instance_id"] for r in lines} == {"veille-a"}
    assert lines[0]["message"].startswith("instance veille-a, configuration version ")
    (matched,) = [r for r in lines if "matched" in r["message"]]
    assert matched["source_id"] == "fil" and matched["rule_id"] == "ministry-microsoft"
    assert DEMO[EVENT].title not in captured.err  # article text never reaches a log field


def test_a_bad_log_format_is_one_line(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("MONITOR_LOG_FORMAT", "xml")
    assert main(["--config", str(tmp_path), "run"]) == 2
    assert capsys.readouterr().err == "MONITOR_LOG_FORMAT is 'xml': use human or json\n"
