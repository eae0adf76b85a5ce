"""The HTTP client under faults: hanging servers, Retry-After, bodies that lie, robots.txt."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import time
from datetime import timedelta

import pytest
from aiohttp import web

from monitor.config.sources import FetchSettings
from monitor.errors import BlockedAddress, FetchTimeout, RateLimited, TooLarge
from monitor.fetch import HttpClient
from monitor.fetch.client import Deferred
from monitor.fetch.hosts import HostDeferred, HostLimiter
from monitor.fetch.robots import RobotsCache, parse_robots


def client(allow_private: bool = True, **settings: object) -> HttpClient:
    defaults: dict[str, object] = {"host_delay": timedelta(0), "timeout": timedelta(seconds=5)}
    return HttpClient(FetchSettings(**{**defaults, **settings}), allow_private=allow_private)


async def test_hanging_server_is_cut_by_the_read_timeout(web_server) -> None:
    async def hang(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b"<rss><channel>")
        await asyncio.sleep(30)  # headers and a few bytes, then nothing
        return response

    url = web_server.add("/hang", handler=hang)
    started = time.monotonic()
    async with client(read_timeout=timedelta(seconds=0.4)) as http:
        with pytest.raises(FetchTimeout, match=r"timed out fetching http://127\.0\.0\.1:\d+/hang"):
            await http.get(url, source_id="s")
    assert time.monotonic() - started < 3


async def test_trickling_server_is_cut_by_the_total_timeout(web_server) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):  # a byte every 0.1 s: never idle long enough for the read timeout
            await response.write(b"x")
            await asyncio.sleep(0.1)
        return response

    url = web_server.add("/trickle", handler=trickle)
    started = time.monotonic()
    async with client(timeout=timedelta(seconds=0.8), read_timeout=timedelta(seconds=5)) as http:
        with pytest.raises(FetchTimeout):
            await http.get(url, source_id="s")
    assert time.monotonic() - started < 3


async def test_declared_oversized_body_is_refused_before_reading(web_server) -> None:
    sent: list[int] = []

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(50_000_000)})
        await response.prepare(request)
        try:
            for _ in range(1000):
                await response.write(b"x" * 65536)
                sent.append(1)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    url = web_server.add("/big", handler=big)
    async with client(max_body=1_000_000) as http:
        with pytest.raises(TooLarge, match=r"Content-Length 50,000,000"):
            await http.get(url, source_id="s")
    assert len(sent) < 1000  # the connection was dropped, not read to the end


async def test_deflate_bomb_is_cut_too(web_server) -> None:
    import zlib

    bomb = zlib.compress(b"\0" * 30_000_000, 9)
    url = web_server.add("/deflate", bomb, headers={"Content-Encoding": "deflate"})
    async with client(max_body=500_000) as http:
        with pytest.raises(TooLarge, match="decompressed body larger than the 500,000 byte limit"):
            await http.get(url, source_id="s")


async def test_short_retry_after_is_waited_for_and_retried_once(web_server) -> None:
    calls: list[float] = []

    async def busy_then_ok(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="<rss/>")

    url = web_server.add("/busy", handler=busy_then_ok)
    async with client() as http:
        result = await http.get(url, source_id="s")
    assert result.body == b"<rss/>" and len(calls) == 2
    assert calls[1] - calls[0] >= 0.9


async def test_long_retry_after_fails_fast_and_defers_the_host(web_server) -> None:
    web_server.add("/limited", "", status=429, headers={"Retry-After": "3600"})
    other = web_server.add("/other", "fine")
    started = time.monotonic()
    async with client() as http:
        with pytest.raises(RateLimited) as first:
            await http.get(web_server.url("/limited"), source_id="s")
        with pytest.raises(Deferred, match=r"127\.0\.0\.1 asked us to wait 3\d{3}s more") as second:
            await http.get(other, source_id="s")
    assert first.value.retry_after == 3600 and second.value.kind == "rate-limited"
    assert second.value.retry_after is not None and second.value.retry_after > 3500
    assert web_server.hits("/other") == []  # never sent
    assert time.monotonic() - started < 2


async def test_503_with_an_http_date_retry_after(web_server) -> None:
    web_server.add(
        "/maint", "", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    async with client() as http:
        with pytest.raises(RateLimited) as error:
            await http.get(web_server.url("/maint"), source_id="s")
    assert error.value.status == 503 and error.value.retry_after == 24 * 3600  # capped at a day


async def test_host_limiter_waits_short_gaps_and_refuses_long_ones() -> None:
    now = [100.0]
    limiter = HostLimiter(per_host=1, min_delay=0, max_wait=10, clock=lambda: now[0])
    limiter.defer("a.example", 5)
    assert limiter.deferred_for("a.example") == 5
    limiter.defer("b.example", 600)
    with pytest.raises(HostDeferred) as error:
        async with limiter.slot("b.example"):
            pass
    assert error.value.seconds == 600
    now[0] += 601
    async with limiter.slot("b.example"):
        pass
    assert limiter.deferred_for("b.example") == 0


async def test_per_host_concurrency_and_gap(web_server) -> None:
    active: list[int] = [0]
    peak: list[int] = [0]
    starts: list[float] = []

    async def slow(request: web.Request) -> web.Response:
        starts.append(time.monotonic())
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await asyncio.sleep(0.2)
        active[0] -= 1
        return web.Response(text="ok")

    url = web_server.add("/slow", handler=slow)
    async with client(per_host=2, host_delay=timedelta(seconds=0.1)) as http:
        await asyncio.gather(*(http.get(url, source_id="s") for _ in range(6)))
    assert peak[0] == 2
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # 0.1 s apart as sent; arrival jitters a little. Without the gap, two would start at once.
    assert min(gaps) >= 0.05 and starts[-1] - starts[0] >= 0.45


async def test_user_agent_carries_the_configured_contact(web_server) -> None:
    url = web_server.add("/ua", "ok")
    async with client(contact="https://veille.example.org/contact") as http:
        await http.get(url, source_id="s")
    (headers,) = web_server.hits("/ua")
    assert headers["User-Agent"].endswith("(news monitoring; +https://veille.example.org/contact)")


# -- robots.txt -------------------------------------------------------------------------------

ROBOTS = """
User-agent: *
Disallow: /private/
Disallow: /*?xtor=
Allow: /private/public-note

User-agent: Veille
User-agent: otherbot
Disallow: /archives/
Disallow: /*.pdf$

User-agent: badbot
Disallow: /
"""


@pytest.mark.parametrize(
    ("agent", "path", "allowed"),
    [
        ("veille", "/archives/2026/x", False),
        ("veille", "/doc.pdf", False),
        ("veille", "/doc.pdf?download=1", True),  # $ anchors the end
        ("veille", "/private/x", True),  # our own group replaces the * group
        ("somebot", "/private/x", False),
        ("somebot", "/private/public-note", True),  # the longer Allow wins
        ("somebot", "/article?xtor=RSS-1", False),  # wildcard in the middle
        ("somebot", "/article?id=1", True),
        ("badbot", "/", False),
    ],
)
def test_robots_rules(agent: str, path: str, allowed: bool) -> None:
    assert parse_robots(ROBOTS, agent).allows("https://e.org" + path) is allowed


def test_robots_empty_disallow_and_tie_go_to_allow() -> None:
    robots = parse_robots("User-agent: *\nDisallow:\n", "veille")
    assert robots.allows("https://e.org/anything")
    tie = parse_robots("User-agent: *\nDisallow: /a\nAllow: /a\n", "veille")
    assert tie.allows("https://e.org/a")


async def test_robots_cache_fetches_once_per_origin_and_reads_failures() -> None:
    asked: list[str] = []
    answers = {
        "https://ok.example/robots.txt": (200, "User-agent: *\nDisallow: /no\n"),
        "https://missing.example/robots.txt": (404, ""),
        "https://broken.example/robots.txt": (500, ""),
    }

    async def fetch(url: str) -> tuple[int, str]:
        asked.append(url)
        if url == "https://down.example/robots.txt":
            raise OSError("connection refused")
        return answers[url]

    cache = RobotsCache("veille")
    results = await asyncio.gather(
        cache.allows("https://ok.example/no/1", fetch),
        cache.allows("https://ok.example/yes", fetch),
        cache.allows("https://missing.example/no", fetch),
        cache.allows("https://broken.example/yes", fetch),
        cache.allows("https://down.example/yes", fetch),
    )
    assert results == [False, True, True, False, False]
    assert asked.count("https://ok.example/robots.txt") == 1 and len(asked) == 4


async def test_client_robots_check_against_a_server(web_server) -> None:
    web_server.add(
        "/robots.txt", "User-agent: veille\nDisallow: /prive/\n", content_type="text/plain"
    )
    async with client() as http:
        refused = await http.allowed_by_robots(web_server.url("/prive/a"), source_id="s")
        allowed = await http.allowed_by_robots(web_server.url("/public/a"), source_id="s")
    assert (refused, allowed) == (False, True)
    assert len(web_server.hits("/robots.txt")) == 1


async def test_robots_fetch_goes_through_the_guard() -> None:
    async with client(allow_private=False) as http:
        with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254"):
            await http.allowed_by_robots("http://169.254.169.254/latest", source_id="s")


def test_gzip_bomb_in_a_sitemap_file_is_cut() -> None:
    from monitor.errors import ParseError
    from monitor.parse.sitemap import parse_sitemap

    bomb = gzip.compress(b"<urlset>" + b" " * 20_000_000 + b"</urlset>")
    with pytest.raises(ParseError, match="inflates past the 1,000,000-byte cap"):
        parse_sitemap(bomb, url="https://e.org/s.xml.gz", max_size=1_000_000, source_id="s")
