"""JSON API sources polled end to end: a notice API on loopback that pages by offset
and filters by date as the Opendatasoft Explore API does, the cursor across passes, a
corrected notice as an update, an API error with back-off, and an alert from a notice
by the shipped procurement rule.

The records are the invented ones of tests/data/json (see its README)."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from monitor.notify.typography import french
from monitor.records import SourceMemo

from support import REPO, Clock, service, write

DATA = REPO / "tests" / "data" / "json"
NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
_SINCE = re.compile(r"dateparution >= date'([0-9-]+)'")


def records(*names: str) -> list[dict[str, Any]]:
    return [r for name in names for r in json.loads((DATA / name).read_text())["results"]]


class NoticeApi:
    """The records in date order, filtered by the `where` date, paged by offset/limit;
    a later record of the same idweb replaces the earlier one (a rectificatif)."""

    def __init__(self) -> None:
        self.notices: dict[str, dict[str, Any]] = {}
        self.asked: list[dict[str, str]] = []
        self.error: tuple[int, bytes] | None = None

    def publish(self, *found: dict[str, Any]) -> None:
        for record in found:
            self.notices[record["idweb"]] = record

    async def answer(self, request: web.Request) -> web.Response:
        self.asked.append(dict(request.query))
        if self.error is not None:
            status, body = self.error
            return web.Response(status=status, body=body, content_type="application/json")
        since = _SINCE.search(request.query.get("where", ""))
        rows = sorted(
            (r for r in self.notices.values() if not since or r["dateparution"] >= since[1]),
            key=lambda r: (r["dateparution"], r["idweb"]),
        )
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        page = {"total_count": len(rows), "results": rows[offset : offset + limit]}
        return web.json_response(page)


MAPPING = """
[source.mapping]
records = "results"
id = "idweb"
title = "objet"
date = "dateparution"
link = "url_avis"
link_template = "https://www.boamp.fr/pages/avis/?q=idweb:{id}"
text = ["objet", "descripteur_libelle"]

[source.mapping.fields]
buyer = "nomacheteur"
awardee = "titulaire"

[source.paging]
limit = 2
total = "total_count"

[source.cursor]
field = "dateparution"
param = "where"
template = "dateparution >= date'{value}'"
"""


def rule_of(text: str) -> str:
    """The id of the shipped rule an alert is from: the rule's title heads the text."""
    rules = (
        rule
        for path in (REPO / "alerts" / "rules").glob("*.toml")
        for rule in tomllib.loads(path.read_text()).get("rule", [])
    )
    return {french(rule["title"]): rule["id"] for rule in rules}[text.splitlines()[0]]


def alerted(messages: list[Any]) -> list[tuple[str, str]]:
    """(rule, notice id) of each alert, the id read from the official notice's link."""
    texts = [m.get_body(("plain",)).get_content() for m in messages]
    return [(rule_of(t), re.findall(r"idweb:([0-9-]+)", t)[0]) for t in texts]


def notice_api(
    tmp_path: Path, web_server: Any, mail: str, extra: str = ""
) -> tuple[NoticeApi, Path]:
    """The five notices of the first recorded pass behind a loopback API, and a config
    whose json source reads them (with ``extra`` settings)."""
    api = NoticeApi()
    api.publish(*records("boamp-pass1-page1.json", "boamp-pass1-page2.json"))
    api.publish(*records("boamp-pass1-page3.json"))
    url = web_server.add("/api/records", handler=api.answer)
    source = (
        f'[[source]]\nid = "notices"\nname = "Avis"\nkind = "json"\nurl = "{url}"\n'
        f'lookback = "2d"\n{extra}allow_private_networks = true\n'
        'params = { order_by = "dateparution asc, idweb asc" }\n' + MAPPING
    )
    return api, configure(tmp_path / "config", source, mail)


def configure(root: Path, source: str, mail: str) -> Path:
    shutil.copytree(REPO / "alerts" / "rules", root / "alerts" / "rules")
    write(root / "sources.toml", source)
    write(
        root / "alerts" / "channels.toml",
        f'[channels.mail]\nurl = "{mail}"\n\n[routing]\nchannels = ["mail"]\n',
    )
    return root


async def test_a_json_source_pages_resumes_at_its_cursor_and_updates_a_corrected_notice(
    tmp_path, web_server, smtp_server, pool, db_url
) -> None:
    api, root = notice_api(tmp_path, web_server, smtp_server.url())
    clock = Clock(NOW)
    async with service(tmp_path, root, pool, db_url, clock) as svc:
        first = await svc.run_pass()
        # Three pages of two, from the lookback's day on.
        assert [(q["offset"], q["limit"]) for q in api.asked] == [
            ("0", "2"),
            ("2", "2"),
            ("4", "2"),
        ]
        assert api.asked[0]["where"] == "dateparution >= date'2025-03-10'"
        assert first.outcomes[0].ok and first.outcomes[0].new_articles == 5
        state = await svc.store.source_state("notices")
        assert SourceMemo.from_json(state.state).cursor == {
            "value": "2025-03-12",
            "seen": ["25-21004", "25-21005"],
        }
        # Three awards to US vendors (a reseller's Microsoft 365 licences, Microsoft
        # hosting health data, Palantir), and the health-data notice for its own rule.
        assert sorted(alerted(smtp_server.messages)) == [
            ("health-data-hub", "25-21003"),
            ("procurement-us-vendor", "25-21002"),
            ("procurement-us-vendor", "25-21003"),
            ("procurement-us-vendor", "25-21005"),
        ]
        sent = len(smtp_server.messages)

        # The next pass asks from the cursor's day only: the notices read that day are
        # skipped, the corrected one is an update (no second alert), the new ones are new.
        api.asked.clear()
        api.publish(*records("boamp-pass2.json"))
        clock.advance(hours=30)
        second = await svc.run_pass(force=True)
        assert api.asked[0]["where"] == "dateparution >= date'2025-03-12'"
        outcome = second.outcomes[0]
        assert (outcome.new_articles, outcome.updated_articles) == (2, 1)
        # Only the new award alerts (AWS); the corrected notice's story already did.
        assert alerted(smtp_server.messages[sent:]) == [("procurement-us-vendor", "25-21007")]

        # An API error: the source fails with the status, backs off, and keeps its cursor.
        api.error = (400, (DATA / "opendatasoft-error-400.json").read_bytes())
        clock.advance(hours=30)
        third = await svc.run_pass(force=True)
        failed = third.outcomes[0]
        assert not failed.ok and "400" in (failed.error or "")
        state = await svc.store.source_state("notices")
        assert state.consecutive_failures == 1 and state.next_check_at is not None
        assert state.next_check_at > clock.now
        assert SourceMemo.from_json(state.state).cursor["value"] == "2025-03-13"


async def test_a_boamp_preset_notice_alerts_with_its_official_link(
    tmp_path, web_server, smtp_server, pool
) -> None:
    api = NoticeApi()
    api.publish(*records("boamp-pass1-page1.json"))
    url = web_server.add("/boamp/records", handler=api.answer)
    source = (
        f'[[source]]\nid = "boamp-it"\nname = "BOAMP"\nkind = "boamp"\nurl = "{url}"\n'
        'lookback = "2d"\nallow_private_networks = true\n'
        'filter = { natures = ["ATTRIBUTION"] }\n'
    )
    root = configure(tmp_path / "config", source, smtp_server.url())
    async with service(tmp_path, root, pool, None, Clock(NOW)) as svc:
        summary = await svc.run_pass()
    (asked,) = api.asked
    assert asked["where"] == ("((nature = \"ATTRIBUTION\")) AND (dateparution >= date'2025-03-10')")
    assert summary.outcomes[0].ok
    texts = [m.get_body(("plain",)).get_content() for m in smtp_server.messages]
    (text,) = [t for t in texts if rule_of(t) == "procurement-us-vendor"]
    assert "*SOFTWAREONE* FRANCE" in text  # the awardee that made it, as its passage
    assert "https://www.boamp.fr/pages/avis/?q=idweb:25-21002" in text


async def test_records_past_max_items_are_read_on_the_next_pass(
    tmp_path, web_server, smtp_server, pool
) -> None:
    _, root = notice_api(tmp_path, web_server, smtp_server.url(), "max_items = 3\n")
    clock = Clock(NOW)
    async with service(tmp_path, root, pool, None, clock) as svc:
        new = []
        for _ in range(4):
            new.append((await svc.run_pass(force=True)).outcomes[0].new_articles)
            clock.advance(hours=1)
        stored = await svc.store.matched_rules()
    # Three records read per pass at most (those read before count too), a page cut
    # short ends the pass; each pass resumes from the newest date read: none lost,
    # none twice.
    assert new == [3, 1, 1, 0]
    assert sorted(u.rsplit(":", 1)[-1] for u in stored) == [f"25-2100{n}" for n in range(1, 6)]
