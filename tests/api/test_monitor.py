"""monitor.open_monitor on a database filled by a real pass over loopback feeds, and the
example of docs/api.md run as it is written."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import replace

import pytest

import monitor
from monitor.api import BadLabels, BadQuery, UnknownName
from monitor.app import Control
from monitor.errors import ConfigError
from monitor.labels import LabeledArticle
from monitor.store.feedback import UnknownAlert

from support import DEMO, EVENT, OFF_TOPIC, OTHER_OUTLET, REPO
from support.console import MARKED, MARKUP_TITLE, RULE_ID, fill

DOC = REPO / "docs" / "api.md"
LABELED = [
    LabeledArticle(id="a", title=DEMO[EVENT].title, text="", labels={RULE_ID: True}),
    LabeledArticle(id="b", title=DEMO[OFF_TOPIC].title, text="", labels={RULE_ID: False}),
]


def documented_example() -> str:
    (block,) = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    return block


async def test_the_documented_example_runs(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    script = tmp_path / "example.py"
    script.write_text(documented_example(), encoding="utf-8")
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": filled.database_url,
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(filled.config_dir), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == "sources: 2 ok (0 unchanged), 0 failed, 1 waiting (back-off or cache)"
    assert "fil: ok, 3.0 items a day" in lines and "panne: error, 0.0 items a day" in lines
    assert lines[8:10] == [
        f"alert 2 ({RULE_ID}): {MARKUP_TITLE}",
        f"alert 1 ({RULE_ID}): {DEMO[EVENT].title}",
    ]
    assert f"rule '{RULE_ID}' matches" in "\n".join(lines)
    # "Microsoft" alone also fires on the Agriculture ministry's article, already matched:
    # three hits (the two outlets of one story, and that article), nothing new or lost.
    assert "edited query: 3 hits, 0 new, 0 lost" in lines
    assert "query = 'Microsoft'" in lines


async def test_sources_alerts_and_feedback(tmp_path, web_server, pool, db_url) -> None:
    filled = await fill(tmp_path, web_server, pool, db_url)
    async with filled.open(pool) as api:
        health = {s.config.id: s for s in await api.sources()}
        alerts = await api.alerts()
        first = alerts[-1]
        await api.feedback(first.view.alert_id, "wrong", note="a renewal, not news")
        judged = await api.alerts(rule_id=RULE_ID)
        wrong = await api.wrong_counts()
        with pytest.raises(UnknownAlert, match="no alert with id 999"):
            await api.feedback(999, "right")
        with pytest.raises(UnknownName, match="unknown or disabled rule 'nope'"):
            await api.alerts(rule_id="nope")
    assert (health["fil"].status, health["fil"].state and health["fil"].state.items_seen) == (
        "ok",
        3,
    )
    assert health["panne"].status == "error" and health["panne"].state
    assert "HTTP 500" in (health["panne"].state.last_error or "")
    assert [a.view.article.title for a in alerts] == [MARKUP_TITLE, DEMO[EVENT].title]
    assert [o.url for o in first.view.also] == [filled.pages[OTHER_OUTLET]]
    assert first.verdict is None and judged[-1].verdict == "wrong" and judged[0].verdict is None
    assert wrong == {RULE_ID: 1}


async def test_deliveries_and_retry(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with filled.open(pool) as api:
        failed = await api.deliveries("failed")
        sent = await api.deliveries("sent")
        queued = await api.retry([failed[0].id])
        pending = await api.deliveries("pending")
    assert {d.channel for d in failed} == {"mail"} and len(failed) == 2
    assert {d.channel for d in sent} == {"console"} and len(sent) == 2
    assert queued == [failed[0].id] and [d.id for d in pending] == queued


async def test_query_trial_shows_new_and_lost_hits(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with filled.open(pool) as api:
        unjudged = await api.try_query(RULE_ID, "smartphone OR Agriculture", days=36500)
        await api.feedback(1, "right")
        await api.feedback(2, "wrong")
        trial = await api.try_query(RULE_ID, "smartphone OR Agriculture", days=36500)
        deployed = await api.backtest([RULE_ID], since=None)
        with pytest.raises(BadQuery) as bad:
            await api.try_query(RULE_ID, "Microsoft AND (", days=30)
        on_file = api.score_query(RULE_ID, "smartphone", LABELED)
        with pytest.raises(BadLabels, match="no article is labeled for 'ministry-microsoft'"):
            api.score_query(RULE_ID, "smartphone", [replace(LABELED[0], labels={"other": True})])
    hits = {h.article.url: h.new for h in trial.hits}
    assert hits == {filled.pages[OFF_TOPIC]: True, filled.pages[MARKED]: False}
    assert {a.url for a in trial.lost} == {filled.pages[EVENT], filled.pages[OTHER_OUTLET]}
    assert len(deployed.reports[RULE_ID].hits) == 3
    assert trial.toml.endswith(
        "[[rule]]\nid = \"ministry-microsoft\"\nquery = 'smartphone OR Agriculture'\n"
    )
    assert "alerts/rules.toml" in trial.toml
    scored = (on_file.deployed.precision, on_file.deployed.recall, on_file.edited.precision)
    assert on_file.articles == 2 and scored == (1, 1, 0) and on_file.edited.recall == 0
    assert unjudged.feedback is None and trial.feedback and trial.feedback.articles == 2
    before, after = trial.feedback.deployed, trial.feedback.edited
    assert (before.precision, before.recall, after.precision, after.recall) == (0.5, 1, 0, 0)
    assert str(bad.value) == (
        "the query ends where a word was expected\n  query: Microsoft AND (\n" + " " * 24 + "^"
    )


async def test_explain_evaluate_and_digest_preview(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    labeled = [
        LabeledArticle(id="a", title=DEMO[EVENT].title, text="", labels={RULE_ID: True}),
        LabeledArticle(id="b", title=DEMO[OFF_TOPIC].title, text="", labels={RULE_ID: True}),
    ]
    async with filled.open(pool, allow_private=True) as api:
        yes = await api.explain(RULE_ID, "Le ministère des Armées signe avec Microsoft.")
        no = await api.explain(RULE_ID, "Microsoft publie ses résultats.")
        extractions = pool.calls.count("extract_page")
        page = await api.explain(RULE_ID, url=filled.pages[EVENT])
        assert pool.calls.count("extract_page") == extractions + 1  # off the event loop
        (score,) = api.evaluate(labeled)
        preview = await api.digest_preview()
        text = await api.digest_preview("matin", fmt="text")
        with pytest.raises(UnknownName, match="'soir' is not one of: matin"):
            await api.digest_preview("soir")
    assert yes.matched and not no.matched and page.matched
    assert (score.precision, score.recall) == (1.0, 0.5)
    assert "Synthèse du matin" in preview.subject and "&lt;script&gt;" in preview.body
    assert DEMO[EVENT].title in text.body and "<script>" in text.body


async def test_serve_installs_no_signal_handler_and_stops_on_request(
    tmp_path, web_server, pool
) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    before = signal.getsignal(signal.SIGTERM)
    control = Control()
    async with filled.open(pool) as api:
        task = asyncio.create_task(api.serve(control))
        for _ in range(100):
            if api.service.scheduler is not None:
                break
            await asyncio.sleep(0.05)
        assert api.service.scheduler is not None and signal.getsignal(signal.SIGTERM) is before
        control.stop.set()
        await asyncio.wait_for(task, 30)
    assert api.service.scheduler is None


def test_configuration_errors_and_exports(tmp_path) -> None:
    with pytest.raises(ConfigError, match="configuration directory not found"):
        monitor.open_monitor(tmp_path / "nowhere")
    assert (
        monitor.open_monitor.__module__ == "monitor.api" and monitor.Monitor.__name__ == "Monitor"
    )
    with pytest.raises(AttributeError):
        _ = monitor.nothing_here  # type: ignore[attr-defined]
