"""The web console in a real browser: Debian's headless Chromium driven by Playwright, on a
database filled by a real pass over loopback feeds. Each page is clicked through, and
kept as a screenshot (in docs/img with MONITOR_WEB_SCREENSHOTS=docs/img)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from monitor.web import Console

from support import DEMO, EVENT, OFF_TOPIC
from support.console import MARKUP_TITLE, RULE_ID, Filled, fill

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; `playwright install` is not used)",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-test-token"
DESKTOP = {"width": 1000, "height": 720}
PHONE = {"width": 390, "height": 844}


@dataclass
class Browsing:
    page: Any  # playwright.async_api.Page
    base: str
    shots: Path
    problems: list[str] = field(default_factory=list)  # console errors (CSP), dialogs

    def url(self, path: str) -> str:
        return self.base + path

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / f"{name}.png"))


def screenshots_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("MONITOR_WEB_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@asynccontextmanager
async def browsing(
    filled: Filled, pool, tmp_path: Path, viewport: dict[str, int] = DESKTOP
) -> AsyncIterator[Browsing]:
    from playwright.async_api import async_playwright

    shots = screenshots_dir(tmp_path)
    async with filled.open(pool) as api:
        server = TestServer(Console(api, TOKEN).app(), host="127.0.0.1")
        await server.start_server()
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                page = await browser.new_page(viewport=viewport)
                seen = Browsing(page, str(server.make_url("")).rstrip("/"), shots)
                page.on(
                    "console",
                    lambda m: m.type == "error" and seen.problems.append(f"console: {m.text}"),
                )
                page.on("dialog", lambda d: seen.problems.append(f"dialog: {d.message}"))
                await log_in(seen)
                yield seen
                await browser.close()
        finally:
            await server.close()
    assert seen.problems == []  # no script ran, nothing broke the CSP


async def log_in(seen: Browsing) -> None:
    page = seen.page
    await page.goto(seen.url("/alerts"))
    assert page.url.startswith(seen.url("/login"))
    await page.fill("input[name=token]", TOKEN)
    await page.click("text=Log in >> nth=-1")
    assert page.url == seen.url("/alerts")


async def text(seen: Browsing, selector: str) -> str:
    return str(await seen.page.inner_text(selector))


async def count(seen: Browsing, selector: str) -> int:
    return int(await seen.page.locator(selector).count())


async def click(seen: Browsing, selector: str) -> None:
    async with seen.page.expect_navigation():
        await seen.page.click(selector)


@pytest.fixture
async def filled(tmp_path, web_server, pool) -> Filled:
    return await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")


async def test_sources_and_poll_now(filled, pool, tmp_path) -> None:
    async with browsing(filled, pool, tmp_path) as seen:
        await seen.page.goto(seen.url("/"))
        assert await text(seen, "#source-fil .status") == "ok"
        assert await text(seen, "#source-hebdo .status") == "ok"
        assert await text(seen, "#source-panne .status") == "error"
        assert "HTTP 500" in await text(seen, "#source-panne td.error")
        assert (await text(seen, "#source-fil")).split("\t")[4] == "3.0"  # items a day
        await seen.shot("sources")
        await click(seen, "#source-fil button")
        assert (await text(seen, ".flash")).startswith("polled fil: sources: 1 ok")
        assert seen.page.url == seen.url("/")


async def test_alerts_marked_wrong_are_counted_and_markup_stays_text(
    filled, pool, tmp_path
) -> None:
    async with browsing(filled, pool, tmp_path) as seen:
        assert await text(seen, "#alert-2 h2") == MARKUP_TITLE
        assert await count(seen, "#alert-2 h2 b") == 0 and await count(seen, "main script") == 0
        assert await text(seen, "#alert-1 h2") == DEMO[EVENT].title
        assert await count(seen, "#alert-1 .passages mark") >= 2
        assert await text(seen, "#alert-1 .also") == "Also reported by: Outlet hebdo"
        assert await text(seen, f"#wrong-counts [data-rule={RULE_ID}]") == f"{RULE_ID}: 0"
        await seen.shot("alerts")
        await click(seen, "#alert-1 button.wrong")
        assert await text(seen, ".flash") == "alert 1 marked wrong"
        assert await text(seen, "#alert-1 .verdict") == "marked wrong"
        assert await count(seen, "#alert-2 .verdict") == 0
        assert await text(seen, f"#wrong-counts [data-rule={RULE_ID}]") == f"{RULE_ID}: 1"
        await click(seen, "#alert-1 button.right")
        assert await text(seen, "#alert-1 .verdict") == "marked right"


async def test_stories_list_each_outlet_once_and_markup_as_text(filled, pool, tmp_path) -> None:
    async with browsing(filled, pool, tmp_path) as seen:
        await seen.page.goto(seen.url("/alerts"))
        await click(seen, "nav >> text=Stories")
        story = seen.page.locator("article.story", has_text=DEMO[EVENT].title)
        assert await story.count() == 1
        outlets = await story.locator(".outlets li").all_inner_texts()
        assert len(outlets) == 2 and outlets[1].startswith("Outlet hebdo: ")
        assert "2 articles from 2 outlets" in await story.locator(".meta").first.inner_text()
        assert RULE_ID in await story.locator(".meta").first.inner_text()
        marked = seen.page.locator("article.story", has_text=MARKUP_TITLE)
        assert await marked.count() == 1 and await count(seen, "article.story script") == 0
        await seen.shot("stories")


async def test_deliveries_retry_and_digest_preview(filled, pool, tmp_path) -> None:
    async with browsing(filled, pool, tmp_path) as seen:
        await seen.page.goto(seen.url("/deliveries"))
        failed = await count(seen, "#failed tbody tr")
        assert failed == 2 and await text(seen, "#pending tbody") == "None."
        assert "Connection refused" in await text(seen, "#failed tbody tr >> nth=0")
        await seen.shot("deliveries")
        first = (await text(seen, "#failed tbody tr >> nth=0 >> td >> nth=0")).strip()
        await click(seen, "#failed tbody tr >> nth=0 >> button")
        assert (
            await text(seen, ".flash") == f"delivery {first} queued again: `monitor run` sends it"
        )
        assert await count(seen, "#failed tbody tr") == failed - 1
        assert await count(seen, f"#pending #delivery-{first}") == 1
        await click(seen, "nav >> text=Digest")
        assert "Synthèse du matin" in await text(seen, "#digest-subject")
        body = await text(seen, "#digest-body")
        assert DEMO[EVENT].title in body and MARKUP_TITLE in body
        await seen.shot("digest")


async def test_playground_shows_what_an_edited_query_changes(filled, pool, tmp_path) -> None:
    async with browsing(filled, pool, tmp_path) as seen:
        await click(seen, "#alert-1 button.right")
        await click(seen, "#alert-2 button.wrong")
        await click(seen, "nav >> text=Playground")
        assert await count(seen, "#hits > li") == 3 and await text(seen, "#lost") == "None."
        await seen.page.fill("textarea[name=query]", "smartphone OR Agriculture")
        await click(seen, "form.playground button")
        assert await count(seen, "#hits > li") == 2
        assert DEMO[OFF_TOPIC].title in await text(seen, "#hits > li.new")
        assert await count(seen, "#hits > li.new") == 1 and await count(seen, "#lost > li") == 2
        assert "query = 'smartphone OR Agriculture'" in await text(seen, "#toml")
        summary = await text(seen, "#summary")
        assert "2 hits, 1 new, 2 lost against the deployed query" in summary
        assert (await text(seen, "#feedback-scores .score-deployed")).split("\t")[1:] == [
            "50%",
            "100%",
            "1",
            "1",
            "0",
        ]
        assert (await text(seen, "#feedback-scores .score-edited")).split("\t")[1:] == [
            "0%",
            "0%",
            "0",
            "1",
            "1",
        ]
        labeled = tmp_path / "labeled.jsonl"
        labeled.write_text(
            "".join(
                json.dumps({"id": slug, "title": DEMO[slug].title, "text": "", RULE_ID: label})
                + "\n"
                for slug, label in ((EVENT, True), (OFF_TOPIC, False))
            )
        )
        await seen.page.set_input_files("input[name=labeled]", str(labeled))
        await click(seen, "text=Score both queries")
        assert await seen.page.input_value("textarea[name=query]") == "smartphone OR Agriculture"
        deployed = await text(seen, "#file-scores .score-deployed")
        assert deployed.split("\t")[1:] == ["100%", "100%", "1", "0", "0"]
        edited = await text(seen, "#file-scores .score-edited")
        assert edited.split("\t")[1:] == ["0%", "0%", "0", "1", "1"]
        await seen.shot("playground")
        await seen.page.fill("textarea[name=query]", "Microsoft AND (")
        await click(seen, "form.playground button")
        assert (await text(seen, "#query-problem")).startswith("the query ends where a word")
        assert await count(seen, "#hits") == 0


async def test_readable_on_a_phone(filled, pool, tmp_path) -> None:
    async with browsing(filled, pool, tmp_path, PHONE) as seen:
        page = seen.page
        for path in ("/alerts", "/", "/stories", "/playground"):
            await page.goto(seen.url(path))
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
        await page.goto(seen.url("/alerts"))
        await seen.shot("alerts-phone")
