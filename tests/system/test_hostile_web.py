"""A hostile web in one pass: every attack of the security review served from loopback at
once, beside one honest source, through the real service with the shipped rules.

What must hold: the pass ends in bounded time; the honest source's article is stored and
matched; each hostile source ends failed or warned, with its reason; nothing reaches the
address that no source may reach (a canary on 127.0.0.2); the workers' memory stays
bounded. Each attack also has its own test (tests/*/test_hostile.py): this one checks that
together they stall nothing.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.extract import WorkerPool

from support import EVENT, rss, serve_articles, service, write

REPO = Path(__file__).resolve().parents[2]
PASS_BOUND = 120.0  # seconds; the pass takes about 10 on an idle 2-core machine
WORKER_MEMORY_BOUND = 400 * 2**20  # bytes of peak resident memory per worker


@pytest.fixture
async def canary() -> AsyncIterator[tuple[int, list[str]]]:
    """A server on 127.0.0.2, another host that no source is allowed to reach."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="<html><body><p>canary text</p></body></html>")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", record)
    server = TestServer(app, host="127.0.0.2")
    await server.start_server()
    assert server.port is not None
    yield server.port, hits
    await server.close()


def feed(*items: tuple[str, str]) -> str:
    """An RSS feed of (title, link) items."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{title}</description></item>"
        for title, link in items
    )
    channel = f"<channel><title>t</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def entity_bomb() -> str:
    prolog = f'<!DOCTYPE rss [\n<!ENTITY a "{"A" * 1000}">\n]>\n'
    title = "&a;" * 100_000  # 100 MB once expanded
    return prolog + feed((title, "http://localhost/bomb"))[len('<?xml version="1.0"?>') :]


def gzip_bomb() -> bytes:
    filler = b"<url><loc>http://localhost/x</loc></url>" * 1_000_000  # about 40 MB inflated
    return gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + filler)


def deep_json() -> str:
    return '{"version": "https://jsonfeed.org/version/1.1", "items": ' + "[" * 50_000


def source(sid: str, url: str, **extra: object) -> str:
    lines = ["[[source]]", f'id = "{sid}"', f'name = "{sid}"', f'url = "{url}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


def worker_peaks(pool: WorkerPool) -> list[int]:
    """Peak resident memory (VmHWM) of each live worker, in bytes."""
    executor = pool._executor
    peaks = []
    for pid in list(getattr(executor, "_processes", {}) or {}):
        status = Path(f"/proc/{pid}/status").read_text()
        (line,) = [row for row in status.splitlines() if row.startswith("VmHWM:")]
        peaks.append(int(line.split()[1]) * 1024)
    return peaks


@pytest.mark.slow
async def test_a_hostile_web_stalls_nothing_and_reaches_nothing(
    tmp_path: Path, web_server: Any, canary: tuple[int, list[str]]
) -> None:
    canary_port, canary_hits = canary
    base = web_server.url("/").rstrip("/")
    other_host = base.replace("127.0.0.1", "localhost")  # the same server, another host
    honest = serve_articles(web_server, EVENT)
    sources = source(
        "honest",
        web_server.add("/honest.xml", rss([(EVENT, honest[EVENT])]), content_type="text/xml"),
        allow_private_networks=True,
        robots=False,
    )
    # 1. robots.txt whose wildcards would make a backtracking matcher run for ever
    web_server.add("/robots.txt", "User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*b\n")
    web_server.add("/" + "a" * 80, "<html><body><p>page</p></body></html>")
    robots_feed = web_server.add(
        "/robots-feed.xml", feed(("Page", f"{other_host}/{'a' * 80}")), content_type="text/xml"
    )
    sources += source(
        "robots", robots_feed.replace("127.0.0.1", "localhost"), allow_private_networks=True
    )
    # 2. entity declarations expanded without limit by a loose parser
    bomb = web_server.add("/bomb.xml", entity_bomb(), content_type="text/xml")
    sources += source("entities", bomb, allow_private_networks=True, extract=False)
    # 3. one 400,000-character title, one unpunctuated sentence for NEAR / ONEAR
    words = "ministère Microsoft passer sous logiciel libre accord cadre " * 7_000
    long_title = web_server.add(
        "/long.xml", feed((words[:400_000], f"{base}/long")), content_type="text/xml"
    )
    sources += source("long-title", long_title, allow_private_networks=True, extract=False)
    # 4. a gzipped sitemap that inflates far past its cap
    sitemap = web_server.add("/sitemap.xml.gz", gzip_bomb(), content_type="application/x-gzip")
    sources += source("sitemap", sitemap, kind="sitemap", allow_private_networks=True)
    # 5. JSON nested past any reasonable depth
    deep = web_server.add("/deep.json", deep_json(), content_type="application/feed+json")
    sources += source("deep-json", deep, allow_private_networks=True)
    # 6. links and a redirect to another private host, in every spelling
    web_server.add(
        "/redirect",
        status=302,
        headers={"Location": f"http://127.0.0.2:{canary_port}/redirected"},
    )
    spellings = [
        f"http://127.0.0.2:{canary_port}/dotted",
        f"http://2130706434:{canary_port}/decimal",
        f"http://0x7f000002:{canary_port}/hex",
        f"http://0177.0.0.2:{canary_port}/octal",
        f"http://[::ffff:127.0.0.2]:{canary_port}/mapped",
        f"{base}/redirect",
    ]
    links = web_server.add(
        "/links.xml",
        feed(*((f"Lien {n}", url) for n, url in enumerate(spellings))),
        content_type="text/xml",
    )
    sources += source("links", links, allow_private_networks=True, robots=False)

    config_dir = write(tmp_path / "config" / "sources.toml", sources).parent
    shutil.copytree(REPO / "alerts", config_dir / "alerts")
    workers = WorkerPool(2)
    try:
        started = time.perf_counter()
        async with service(tmp_path, config_dir, workers) as svc:
            outcomes = {o.source_id: o for o in (await svc.run_pass()).outcomes}
        elapsed = time.perf_counter() - started
        peaks = worker_peaks(workers)
    finally:
        workers.close()

    assert elapsed < PASS_BOUND
    assert outcomes["honest"].ok and outcomes["honest"].new_articles == 1
    assert outcomes["honest"].matches >= 1  # the shipped rules still ran on it
    told = {sid: f"{o.error or ''} {' '.join(o.warnings)}" for sid, o in outcomes.items()}
    # The pattern does not match (no final b): read and matched in linear time, page allowed.
    assert len(web_server.hits("/robots.txt")) == 1
    assert outcomes["robots"].ok and outcomes["robots"].new_articles == 1, told["robots"]
    assert outcomes["entities"].ok  # read with its declarations removed
    assert outcomes["long-title"].ok and outcomes["long-title"].new_articles == 1
    assert not outcomes["sitemap"].ok and "20,000,000-byte cap" in told["sitemap"]
    assert not outcomes["deep-json"].ok and "nest" in told["deep-json"], told["deep-json"]
    # Five page problems are listed one by one, the rest counted.
    assert f"{len(spellings)} article page(s) not used" in told["links"], told["links"]
    assert told["links"].count("refusing") == 5 and "and 1 more" in told["links"]
    assert canary_hits == []
    assert peaks and max(peaks) < WORKER_MEMORY_BOUND, peaks
