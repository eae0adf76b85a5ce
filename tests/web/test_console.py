"""The web console over HTTP: security headers, read-only without a token, login, Bearer,
CSRF, the Atom feed, and `monitor web` refusing what it must. (tests/web/test_browser.py
clicks through the pages in Chromium.)"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from monitor.cli import main
from monitor.web import Console
from monitor.web.app import _back_to
from monitor.web.auth import COOKIE, FLASH_COOKIE, SESSION_SECONDS, Gate
from monitor.web.pages import http_url

from support import DEMO, EVENT, REPO, eventually, free_port
from support.console import MARKUP_TITLE, RULE_ID, Filled, fill

TOKEN = "s3cret-token-for-tests"
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


@asynccontextmanager
async def console(filled: Filled, pool, token: str | None) -> AsyncIterator[TestClient]:
    async with filled.open(pool) as api:
        client = TestClient(TestServer(Console(api, token).app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no action form on the page"
    return found.group(1)


async def login(client: TestClient) -> None:
    response = await client.post("/login", data={"token": TOKEN, "next": "/"})
    assert response.status == 200 and response.url.path == "/"


async def test_read_only_without_a_token(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with console(filled, pool, None) as client:
        pages, texts = {}, {}
        for path in ("/", "/alerts", "/missing"):
            pages[path] = await client.get(path)
            texts[path] = await pages[path].text()
        refused = await client.post("/alerts/1/verdict", data={"verdict": "wrong"})
        refusal = await refused.text()
    assert [r.status for r in pages.values()] == [200, 200, 404]
    assert all(r.headers["Content-Security-Policy"] == CSP for r in pages.values())
    assert all(r.headers["X-Content-Type-Options"] == "nosniff" for r in pages.values())
    assert "Read-only: set MONITOR_WEB_TOKEN" in texts["/"]
    assert 'name="csrf"' not in texts["/alerts"]
    assert refused.status == 403 and "read-only" in refusal


async def test_a_token_guards_every_page_and_action(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with console(filled, pool, TOKEN) as client:
        away = await client.get("/alerts?rule=x", allow_redirects=False)
        feed = await client.get("/feeds/alerts.atom")
        wrong = await client.post("/login", data={"token": "guess"})
        wrong_page = await wrong.text()
        bearer = await client.get("/alerts", headers={"Authorization": f"Bearer {TOKEN}"})
        bad_bearer = await client.get("/feeds/alerts.atom", headers={"Authorization": "Bearer x"})
        await login(client)
        page = await (await client.get("/alerts")).text()
        no_csrf = await client.post("/alerts/1/verdict", data={"verdict": "wrong"})
        forged = await client.post("/alerts/1/verdict", data={"verdict": "wrong", "csrf": "x"})
        done = await client.post(
            "/alerts/1/verdict",
            data={"verdict": "wrong", "csrf": csrf_of(page), "back": "//evil.example/"},
            allow_redirects=False,
        )
        after = await (await client.get("/alerts")).text()
        forged_logout = await client.post("/logout", data={"csrf": "x"})
        logout = await client.post("/logout", data={"csrf": csrf_of(after)}, allow_redirects=False)
        gone = await client.get("/alerts", allow_redirects=False)
        bearer_act = await client.post(
            "/alerts/1/verdict",
            data={"verdict": "right"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            cookies={},
            allow_redirects=False,
        )
    location = urlsplit(away.headers["Location"])
    assert away.status == 303 and location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/alerts?rule=x"]}
    assert feed.status == 401 and feed.headers["WWW-Authenticate"] == 'Bearer realm="veille"'
    assert wrong.status == 401 and "wrong token" in wrong_page
    assert bearer.status == 200 and bad_bearer.status == 401
    assert (no_csrf.status, forged.status) == (403, 403)
    assert done.status == 303 and done.headers["Location"] == "/"
    assert "alert 1 marked wrong" in after and f"{RULE_ID}: 1" in after
    assert bearer_act.status == 303
    assert forged_logout.status == 403 and logout.status == 303 and gone.status == 303


async def test_a_session_outlives_a_restart_and_ends_with_the_token(
    tmp_path, web_server, pool
) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with console(filled, pool, TOKEN) as before:
        await login(before)
        page = await (await before.get("/alerts")).text()
        cookies = {cookie.key: cookie.value for cookie in before.session.cookie_jar}
    # The first console is gone; a new one, as after a restart, on the same database.
    async with console(filled, pool, TOKEN) as after:
        after.session.cookie_jar.update_cookies(cookies)
        still = await after.get("/alerts", allow_redirects=False)
        done = await after.post(
            "/alerts/1/verdict", data={"verdict": "wrong", "csrf": csrf_of(page), "back": "/alerts"}
        )
        shown = await done.text()
        again = await (await after.get("/alerts")).text()
    async with console(filled, pool, "another-token") as changed:
        changed.session.cookie_jar.update_cookies(cookies)
        refused = await changed.get("/alerts", allow_redirects=False)
    assert list(cookies) == [COOKIE]
    assert still.status == 200
    assert done.status == 200 and "alert 1 marked wrong" in shown and f"{RULE_ID}: 1" in shown
    assert "alert 1 marked wrong" not in again  # a message is shown once
    assert refused.status == 303


def test_a_session_cookie_expires_and_cannot_be_altered() -> None:
    now = [1_000_000.0]
    gate, restarted = (Gate(TOKEN, clock=lambda: now[0]) for _ in range(2))
    opened = web.Response()
    gate.open_session(opened)
    cookie = opened.cookies[COOKIE].value

    def sent(gate: Gate, value: str) -> object:
        request = make_mocked_request("GET", "/", headers={"Cookie": f"{COOKIE}={value}"})
        return gate.visitor(request)

    expires, rest = cookie.split(":", 1)
    later = f"{int(expires) + SESSION_SECONDS}:{rest}"  # the same signature, a later expiry
    assert sent(gate, cookie) is not None and sent(restarted, cookie) is not None
    assert sent(gate, later) is None and sent(gate, "") is None
    assert sent(Gate("another-token", clock=lambda: now[0]), cookie) is None
    now[0] += SESSION_SECONDS
    assert sent(gate, cookie) is None


def test_a_flash_message_fits_in_its_cookie_and_is_shown_once() -> None:
    gate = Gate(TOKEN)
    redirect = web.Response()
    gate.flash(redirect, "refused: " + "déjà vu " * 1000)
    cookie = redirect.cookies[FLASH_COOKIE].value
    request = make_mocked_request("GET", "/", headers={"Cookie": f"{FLASH_COOKIE}={cookie}"})
    page = web.Response()
    shown = gate.take_flash(request, page)
    forged = make_mocked_request("GET", "/", headers={"Cookie": f"{FLASH_COOKIE}=cmVmdXNlZA"})
    assert (
        len(cookie) < 4000 and shown and shown.startswith("refused: déjà vu") and shown[-1] == "…"
    )
    assert page.cookies[FLASH_COOKIE]["max-age"] == "0"  # deleted with the page that shows it
    assert gate.take_flash(forged, web.Response()) is None


async def test_atom_feed_is_escaped_and_filtered(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    async with console(filled, pool, None) as client:
        everything = await client.get("/feeds/alerts.atom")
        body = await everything.text()
        one_rule = await (await client.get(f"/feeds/alerts.atom?rule={RULE_ID}")).text()
        unknown = await client.get("/feeds/alerts.atom?rule=nope")
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ET.fromstring(body.encode()).findall(f"{atom}entry")
    titles = [e.findtext(f"{atom}title") for e in entries]
    assert everything.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert titles == [MARKUP_TITLE, DEMO[EVENT].title]
    assert "&lt;script&gt;" in body and "<script>" not in body
    assert entries[1].find(f"{atom}link").get("href") == filled.pages[EVENT]
    assert "Microsoft" in (entries[1].findtext(f"{atom}summary") or "")
    assert len(ET.fromstring(one_rule.encode()).findall(f"{atom}entry")) == 2
    assert unknown.status == 404


def test_links_are_only_http_and_redirects_stay_here() -> None:
    assert http_url("https://example.org/a") == "https://example.org/a"
    assert [http_url(u) for u in ("javascript:alert(1)", "data:text/html,x", "", None)] == [""] * 4
    assert _back_to("/alerts?rule=x%20y") == "/alerts?rule=x%20y"
    away = ("//evil.example/", "/\\evil.example", "/\t/evil.example", "https://evil.example/", "")
    assert [_back_to(path) for path in away] == ["/"] * len(away)


def test_web_refuses_an_open_address_without_a_token(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("MONITOR_WEB_TOKEN", raising=False)
    assert main(["--config", str(tmp_path), "web", "--bind", "0.0.0.0:8080"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "refusing to serve the console on 0.0.0.0:8080 without a token: set MONITOR_WEB_TOKEN, "
        "or bind a loopback address such as 127.0.0.1:8080\n"
    )


def test_web_says_when_the_port_is_taken(tmp_path, web_server, capsys, monkeypatch) -> None:
    from support.console import console_config

    root, _ = console_config(tmp_path / "config", web_server)
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--config", str(root), "-q", "web", "--bind", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith(f"cannot serve the console on 127.0.0.1:{port}: ")
    assert "\n" not in err


async def test_monitor_web_serves_until_sigterm(tmp_path, web_server) -> None:
    from support.console import console_config

    root, _ = console_config(tmp_path / "config", web_server)
    port = free_port()
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WEB_TOKEN": TOKEN,
        "PYTHONPATH": str(REPO),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "--config", str(root), "web",
        "--bind", f"127.0.0.1:{port}", env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:

            async def answers() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/login") as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await eventually(answers, "monitor web answers")
            async with http.get(f"http://127.0.0.1:{port}/", allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"].startswith("/login")
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(f"http://127.0.0.1:{port}/alerts", headers=bearer) as response:
                assert response.status == 200 and "No alert yet." in await response.text()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert f"web console on http://127.0.0.1:{port}/ (actions need the token)" in err.decode()


async def test_playground_scores_an_uploaded_file(tmp_path, web_server, pool) -> None:
    filled = await fill(tmp_path, web_server, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    line = f'{{"id": "a", "title": "{DEMO[EVENT].title}", "text": "", "{RULE_ID}": true}}\n'

    def upload(content: str, csrf: str) -> aiohttp.FormData:
        form = aiohttp.FormData({"rule": RULE_ID, "query": "smartphone", "csrf": csrf})
        form.add_field("labeled", content.encode(), filename="l.jsonl")
        return form

    async with console(filled, pool, TOKEN) as client:
        await login(client)
        csrf = csrf_of(await (await client.get("/alerts")).text())
        forged = await client.post("/playground", data=upload(line, "x"))
        scored = await (await client.post("/playground", data=upload(line, csrf))).text()
        broken = await (await client.post("/playground", data=upload("{", csrf))).text()
    assert forged.status == 403
    assert "l.jsonl: 1 labeled articles." in scored and 'id="file-scores"' in scored
    assert 'id="file-problem"' in broken
    assert "l.jsonl: no labeled article: line 1: not JSON: " in unescape(broken)
