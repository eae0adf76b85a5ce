"""The HTTP client against a real loopback server."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from aiohttp import web

from monitor.config.sources import FetchSettings
from monitor.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RateLimited,
    TooLarge,
)
from monitor.fetch import HttpClient
from monitor.fetch.client import parse_retry_after
from monitor.records import CacheValidators


def client(allow_private: bool = True, **settings: object) -> HttpClient:
    defaults: dict[str, object] = {"host_delay": timedelta(0), "timeout": timedelta(seconds=5)}
    return HttpClient(FetchSettings(**{**defaults, **settings}), allow_private=allow_private)


async def test_get_returns_body_validators_and_charset(web_server) -> None:
    url = web_server.add(
        "/feed.xml",
        "<rss/>",
        content_type="application/rss+xml; charset=ISO-8859-1",
        headers={
            "ETag": '"v1"',
            "Last-Modified": "Mon, 23 Nov 2026 08:00:00 GMT",
            "Cache-Control": "public, max-age=600",
        },
    )
    async with client() as http:
        result = await http.get(url, source_id="s")
    assert (result.status, result.body, result.content_type, result.charset) == (
        200,
        b"<rss/>",
        "application/rss+xml",
        "ISO-8859-1",
    )
    assert result.validators == CacheValidators('"v1"', "Mon, 23 Nov 2026 08:00:00 GMT")
    assert result.max_age == 600
    sent = web_server.hits("/feed.xml")[0]
    assert sent["User-Agent"].startswith("veille/") and "+https://" in sent["User-Agent"]


async def test_conditional_get_sends_validators_and_reads_304(web_server) -> None:
    url = web_server.add("/feed.xml", "<rss/>", headers={"ETag": '"v1"'})
    async with client() as http:
        first = await http.get(url, source_id="s")
        second = await http.get(url, source_id="s", validators=first.validators)
    assert second.not_modified and second.body == b""
    assert web_server.hits("/feed.xml")[1]["If-None-Match"] == '"v1"'


async def test_gzip_body_is_decompressed(web_server) -> None:
    url = web_server.add(
        "/z", gzip.compress(b"hello " * 1000), headers={"Content-Encoding": "gzip"}
    )
    async with client() as http:
        result = await http.get(url, source_id="s")
    assert result.body == b"hello " * 1000


async def test_gzip_bomb_is_cut_at_the_limit(web_server) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in about 50 KB
    assert len(bomb) < 100_000
    url = web_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    async with client(max_body=1_000_000) as http:
        with pytest.raises(
            TooLarge, match="decompressed body larger than the 1,000,000 byte limit"
        ):
            await http.get(url, source_id="s")


async def test_oversized_body_is_refused(web_server) -> None:
    url = web_server.add("/big", b"x" * 300_000)
    async with client(max_body=100_000) as http:
        with pytest.raises(TooLarge, match="larger than the 100,000 byte limit"):
            await http.get(url, source_id="big-source")


async def test_http_errors_and_rate_limits(web_server) -> None:
    gone = web_server.add("/gone", "", status=410)
    limited = web_server.add("/limited", "", status=429, headers={"Retry-After": "120"})
    async with client() as http:
        with pytest.raises(HTTPStatusError) as error:
            await http.get(gone, source_id="s")
        assert error.value.status == 410 and error.value.kind == "http"
        with pytest.raises(RateLimited) as limit:
            await http.get(limited, source_id="s")
    assert limit.value.retry_after == 120 and limit.value.kind == "rate-limited"


async def test_permanent_redirect_is_reported(web_server) -> None:
    web_server.add("/old", "", status=301, headers={"Location": "/new"})
    new = web_server.add("/new", "<rss/>")
    async with client() as http:
        result = await http.get(web_server.url("/old"), source_id="s")
    assert result.permanent_redirect == new and result.url == new and result.body == b"<rss/>"


async def test_temporary_redirect_is_not_remembered(web_server) -> None:
    web_server.add("/tmp", "", status=302, headers={"Location": "/target"})
    web_server.add("/target", "ok")
    async with client() as http:
        result = await http.get(web_server.url("/tmp"), source_id="s")
    assert result.permanent_redirect is None and result.body == b"ok"


async def test_redirect_loop_and_too_many_redirects(web_server) -> None:
    web_server.add("/a", "", status=302, headers={"Location": "/b"})
    web_server.add("/b", "", status=302, headers={"Location": "/a"})
    for n in range(4):
        web_server.add(f"/r{n}", "", status=302, headers={"Location": f"/r{n + 1}"})
    web_server.add("/r4", "end")
    async with client(max_redirects=2) as http:
        with pytest.raises(FetchError, match="redirect loop"):
            await http.get(web_server.url("/a"), source_id="s")
        with pytest.raises(FetchError, match="too many redirects"):
            await http.get(web_server.url("/r0"), source_id="s")


async def test_slow_server_times_out(web_server) -> None:
    async def slow(request: web.Request) -> web.Response:
        import asyncio

        await asyncio.sleep(5)
        return web.Response(text="late")

    url = web_server.add("/slow", handler=slow)
    async with client(timeout=timedelta(seconds=0.5)) as http:
        with pytest.raises(FetchTimeout, match="timed out"):
            await http.get(url, source_id="s")


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "[::1]", "0.0.0.0"]
)
async def test_guard_refuses_non_public_literal_addresses(address: str) -> None:
    async with client(allow_private=False) as http:
        with pytest.raises(BlockedAddress, match="non-public address"):
            await http.get(f"http://{address}:9/feed", source_id="s")


async def test_guard_refuses_names_resolving_to_loopback(web_server) -> None:
    url = web_server.add("/feed", "x").replace("127.0.0.1", "localhost")
    async with client(allow_private=False) as http:
        with pytest.raises(BlockedAddress, match="resolves to non-public address"):
            await http.get(url, source_id="s")
    assert web_server.requests == []


async def test_guard_checks_every_redirect_hop(web_server) -> None:
    web_server.add(
        "/hop", "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"}
    )
    # The test server is on loopback: allow exactly that address, so that only the hop is refused.
    async with client(allow_private=False, allow_networks=("127.0.0.1/32",)) as http:
        with pytest.raises(BlockedAddress, match=r"refusing non-public address 169\.254\.169\.254"):
            await http.get(web_server.url("/hop"), source_id="s")
    assert len(web_server.hits("/hop")) == 1


def test_retry_after_forms() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Mon, 23 Nov 2026 08:02:00 GMT", now) == 120
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
