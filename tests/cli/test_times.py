"""One convention for times shown to people on the terminal: in the display zone, with
the zone named; and text cut with an ellipsis, never in the middle of a word unannounced."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli import main
from monitor.display import local_time, shorten

from support import REPO, allow_any_age, event_and_off_topic, write

LOCAL_TIME = re.compile(r"\b20\d\d-\d\d-\d\d \d\d:\d\d (CET|CEST)\b")
OTHER_TIME = re.compile(r"\d\d/\d\d/20\d\d|\d\d:\d\d:\d\d|\+00:00|UTC")


def test_a_time_is_shown_in_the_display_zone_with_its_name() -> None:
    assert local_time(datetime(2026, 12, 4, 15, 5, tzinfo=UTC)) == "2026-12-04 16:05 CET"
    assert local_time(datetime(2026, 7, 1, 7, 30, tzinfo=UTC)) == "2026-07-01 09:30 CEST"
    # SQLite hands back naive times: they are UTC, not the machine's zone.
    assert local_time(datetime(2026, 12, 4, 15, 5)) == "2026-12-04 16:05 CET"
    assert local_time(None) == ""


def test_text_is_cut_with_an_ellipsis_and_keeps_french_spaces() -> None:
    assert shorten("Cloud au centre\xa0: la circulaire", 40) == "Cloud au centre\xa0: la circulaire"
    assert shorten("un  titre\nsur deux lignes", 12) == "un titre…"
    assert shorten("un titre court", 14) == "un titre court"
    assert len(shorten("x" * 100, 78)) == 78


async def test_tables_show_times_with_their_zone(
    tmp_path: Path, web_server: Any, db_url: str, capsys: Any, monkeypatch: Any
) -> None:
    root = event_and_off_topic(tmp_path, web_server)
    write(root / "alerts" / "digests.toml", '[digests.matin]\nchannels = ["console"]\n')
    allow_any_age(root)
    # SQLite gives times back without their zone, PostgreSQL with it: shown the same.
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")

    async def shown(*argv: str) -> str:
        assert await asyncio.to_thread(main, ["--config", str(root), "-q", *argv]) == 0
        return capsys.readouterr().out

    await shown("run", "--once")
    preview = tmp_path / "digest.html"
    outputs = {
        "alerts": await shown("alerts"),
        "sources": await shown("sources"),
        "backtest": await shown("backtest", "--since", "all"),
        # Its first line is the subject of the message, dated as the recipients read it.
        "digest preview": (await shown("digest", "--preview", str(preview))).split("\n", 1)[1],
    }
    for command, out in outputs.items():
        assert LOCAL_TIME.search(out), (command, out)
        assert not OTHER_TIME.search(out), (command, out)
    # The alert was created and sent in this test, in December: 2 of them, 'created' and 'sent'.
    today = local_time(datetime.now(UTC), "%Y-%m-%d")
    assert len(re.findall(rf"{today} \d\d:\d\d CET", outputs["alerts"])) == 2
    assert re.search(r"^from 20\S+ \S+ CE\S*T to \S+ \S+ CE\S*T$", outputs["digest preview"], re.M)


def test_the_demo_cuts_long_titles_with_an_ellipsis(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(REPO)
    assert main(["--config", str(REPO), "demo"]) == 0
    out = capsys.readouterr().out
    verdicts = [line[4:] for line in out.splitlines() if line.startswith(("  ✔ ", "  ✘ "))]
    cut = [title for title in verdicts if title.endswith("…")]
    assert len(verdicts) == 18 and cut  # the bundled titles of more than 78 characters
    assert all(len(title) <= 78 for title in verdicts)
