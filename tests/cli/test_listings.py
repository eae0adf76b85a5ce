"""The commands that match and extract nothing load none of what matching, extraction,
fetching, migrating or notifying need: that is what keeps their start-up short (measured
by `python bench/run.py --rows startup`; no timing here). They read through
`monitor.listings`, which a whole `Monitor` shares: both answer alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.labels import LabeledArticle
from monitor.listings import AlertItem, Listings, SourceHealth, open_listings
from monitor.store import DeliveryRecord

from support import REPO
from support.console import RULE_ID, fill
from support.probe import probe, top_level

# What the listings must not import: the matcher's lemmatizer, the extractor, the HTTP
# client, migrations, the notifier and the scheduler, and what those pull in; nor, on
# SQLite, SQLAlchemy (monitor.store.sqlite_reads reads it).
HEAVY = (
    "sqlalchemy",
    "simplemma",
    "trafilatura",
    "htmldate",
    "lxml",
    "aiohttp",
    "alembic",
    "apprise",
    "apscheduler",
    "jinja2",
    "numpy",
    "datasketch",
    "feedparser",
)


def _run(
    args: list[str], data: Path, config: Path = REPO, database_url: str | None = None
) -> tuple[int, set[str], str]:
    """The exit status of `monitor ARGS`, the heavy modules it loaded and what it printed."""
    env = {**os.environ, "MONITOR_CONFIG_DIR": str(config), "MONITOR_DATA_DIR": str(data)}
    if database_url is not None:
        env["MONITOR_DATABASE_URL"] = database_url
    code, modules, printed = probe(args, env)
    return code, top_level(modules) & set(HEAVY), printed


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database, as the listings find it once the service has run."""
    folder = tmp_path_factory.mktemp("data")
    env = {**os.environ, "MONITOR_CONFIG_DIR": str(REPO), "MONITOR_DATA_DIR": str(folder)}
    subprocess.run(
        [sys.executable, "-m", "monitor", "db", "upgrade"], env=env, check=True, timeout=120
    )
    return folder


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["sources"], 0),
        (["alerts"], 0),
        (["alerts", "--failed"], 0),
        (["health"], 1),  # not running
        (["feedback", "export"], 0),
    ],
)
def test_a_listing_loads_nothing_heavy(args: list[str], code: int, data: Path) -> None:
    assert _run(args, data)[:2] == (code, set())


def test_the_probe_sees_what_a_command_loads(data: Path) -> None:
    # `check` compiles the rules, renders the templates and reads the digests' cron
    # schedules: the probe must see it. (Only a channel other than the console needs apprise.)
    code, heavy, _ = _run(["check"], data)
    assert code == 0 and {"simplemma", "jinja2", "apscheduler"} <= heavy


async def test_listings_of_a_filled_database_stay_light(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with filled.open(pool) as api:
        await api.feedback(1, "wrong", note="a renewal")
    shown = {
        " ".join(args): _run(args, tmp_path / "data", filled.config_dir, filled.database_url)
        for args in (["sources"], ["alerts"], ["feedback", "export"])
    }
    assert {what: heavy for what, (_, heavy, _) in shown.items()} == {what: set() for what in shown}
    assert "fil" in shown["sources"][2] and "panne" in shown["sources"][2]
    assert "mail" in shown["alerts"][2]  # the deliveries to the unreachable channel
    (verdict,) = [json.loads(line) for line in shown["feedback export"][2].splitlines()]
    assert verdict["labels"] == {RULE_ID: False} and verdict["why"] == "feedback wrong: a renewal"


Answers = tuple[
    list[SourceHealth],
    list[AlertItem],
    list[DeliveryRecord],
    list[LabeledArticle],
    dict[str, int],
    int,
]


async def _answers(reader: Listings) -> Answers:
    """What a `Listings` (a `Monitor` is one) answers on a filled database."""
    return (
        await reader.sources(),
        await reader.alerts(rule_id=RULE_ID),
        await reader.deliveries("failed"),
        await reader.verdicts(),
        await reader.wrong_counts(),
        await reader.archive_size(),
    )


async def test_the_listings_answer_as_the_monitor_does(tmp_path, web_server, pool, db_url) -> None:
    filled = await fill(tmp_path, web_server, pool, db_url)
    async with filled.open(pool) as api:
        await api.feedback(1, "right")
        whole = await _answers(api)
    async with open_listings(filled.config_dir, db_url, environ={}) as listings:
        sources, alerts, failed, verdicts, _, stored = light = await _answers(listings)
    assert [s.status for s in sources] == ["ok", "ok", "error"]
    assert len(alerts) == 2 and alerts[-1].verdict == "right"
    assert failed and verdicts and stored == 4
    assert light == whole


@pytest.mark.parametrize("args", [["alerts"], ["alerts", "--failed"], ["feedback", "export"]])
def test_a_listing_creates_no_database(args: list[str], tmp_path: Path) -> None:
    assert _run(args, tmp_path / "data")[0] == 0
    assert not (tmp_path / "data").exists()
