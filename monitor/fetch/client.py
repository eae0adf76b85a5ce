"""The HTTP client every network read goes through.

It owns the aiohttp sessions and applies the same rules to feeds, pages and
article links alike: a User-Agent with a contact, timeouts, a body cap that
also bounds decompression, redirects followed by hand (so that each hop is
checked against the private-network guard and a permanent move is noticed),
per-host politeness and conditional GET.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import aiohttp

from monitor import __version__
from monitor.config.sources import (
    DEFAULT_USER_AGENT,
    NO_PRIVATE_ACCESS,
    FetchSettings,
    PrivateAccess,
)
from monitor.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RateLimited,
    SourceError,
    TooLarge,
)
from monitor.fetch.body import BadEncoding, BodyTooLarge, read_capped
from monitor.fetch.guard import (
    BlockedAddressError,
    PublicOnlyResolver,
    blocked_reason,
    check_literal_host,
)
from monitor.fetch.hosts import HostDeferred, HostLimiter
from monitor.fetch.robots import ROBOTS_MAX_BODY, RobotsCache
from monitor.records import CacheValidators, FetchResult

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.5"
ROBOTS_AGENT = "veille"  # the product token robots.txt rules name
RETRY_SHORT = 5.0  # a Retry-After up to this many seconds is waited for, once
DEFAULT_DEFER = 60.0  # a 429 without Retry-After: leave the host alone this long
MAX_DEFER = 24 * 3600.0


class Deferred(RateLimited):
    """Not sent at all: the host asked us (by an earlier 429 or 503) to wait longer than that."""

    def __init__(self, source_id: str, url: str, host: str, seconds: float) -> None:
        SourceError.__init__(
            self,
            source_id,
            f"not fetched: {host} asked us to wait {seconds:.0f}s more (Retry-After) (url {url})",
        )
        self.status = 429
        self.retry_after = seconds


class _RobotsUnreachable(OSError):
    pass


@dataclass(frozen=True)
class _Hop:
    url: str
    permanent_so_far: bool


@dataclass(frozen=True)
class _Ask:
    """What every hop of one GET carries along."""

    source_id: str
    validators: CacheValidators | None
    private: PrivateAccess  # the hosts whose hops skip the guard
    accept: str
    limit: int


class HttpClient:
    def __init__(self, settings: FetchSettings, *, allow_private: bool = False) -> None:
        self.settings = settings
        self.allow_private = allow_private  # process-wide override (environment or demo)
        self.user_agent = settings.user_agent or DEFAULT_USER_AGENT.format(
            version=__version__, contact=settings.contact
        )
        self.allowed_networks = tuple(
            ipaddress.ip_network(n, strict=False) for n in settings.allow_networks
        )
        self.hosts = HostLimiter(settings.per_host, settings.host_delay.total_seconds())
        self.robots = RobotsCache(ROBOTS_AGENT)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.close()

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    def _session(self, guarded: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(guarded)
        if session is None:
            timeout = aiohttp.ClientTimeout(
                total=self.settings.timeout.total_seconds(),
                sock_connect=self.settings.connect_timeout.total_seconds(),
                sock_read=self.settings.read_timeout.total_seconds(),
            )
            connector = aiohttp.TCPConnector(
                resolver=PublicOnlyResolver(self.allowed_networks) if guarded else None,
                limit=self.settings.concurrency * 2,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=False,
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            )
            self._sessions[guarded] = session
        return session

    async def get(
        self,
        url: str,
        *,
        source_id: str,
        validators: CacheValidators | None = None,
        private: PrivateAccess = NO_PRIVATE_ACCESS,
        accept: str = "*/*",
        max_body: int | None = None,
    ) -> FetchResult:
        """GET `url`; raise a FetchError subclass saying what went wrong and where.

        A 429 or 503 whose Retry-After is short is waited for and retried once; a
        longer one is raised at once, and later requests to that host fail fast
        (`Deferred`) until the time it asked for has passed.
        """
        if self.allow_private:
            private = PrivateAccess(any_host=True)
        ask = _Ask(source_id, validators, private, accept, max_body or self.settings.max_body)
        try:
            return await self._get(url, ask)
        except RateLimited as exc:
            if (
                exc.retry_after is None
                or exc.retry_after > RETRY_SHORT
                or isinstance(exc, Deferred)
            ):
                raise
        return await self._get(url, ask)

    async def allowed_by_robots(
        self, url: str, *, source_id: str, private: PrivateAccess = NO_PRIVATE_ACCESS
    ) -> bool:
        """Whether the site's robots.txt lets veille fetch `url` (cached per origin).

        A refused address (the private-network guard) is raised as `BlockedAddress`."""

        async def fetch(robots_url: str) -> tuple[int, str]:
            try:
                result = await self.get(
                    robots_url,
                    source_id=source_id,
                    private=private,
                    accept="text/plain, */*;q=0.5",
                    max_body=ROBOTS_MAX_BODY,
                )
            except BlockedAddress:
                raise
            except RateLimited as exc:  # read as "unreachable", not as "no robots.txt"
                raise _RobotsUnreachable(str(exc)) from exc
            except HTTPStatusError as exc:
                return exc.status, ""
            except FetchError as exc:
                raise _RobotsUnreachable(str(exc)) from exc
            return result.status, result.body.decode("utf-8", errors="replace")

        return await self.robots.allows(url, fetch)

    async def _get(self, url: str, ask: _Ask) -> FetchResult:
        source_id = ask.source_id
        try:
            return await self._follow(url, ask)
        except FetchError:
            raise
        except HostDeferred as exc:
            raise Deferred(source_id, url, exc.host, exc.seconds) from exc
        except TimeoutError as exc:
            raise FetchTimeout(source_id, f"timed out fetching {url}") from exc
        except BlockedAddressError as exc:
            raise BlockedAddress(source_id, f"{exc} (url {url})") from exc
        except aiohttp.ClientError as exc:
            reason = blocked_reason(exc)
            if reason:
                raise BlockedAddress(source_id, f"{reason} (url {url})") from exc
            raise FetchError(source_id, f"{type(exc).__name__}: {exc} (url {url})") from exc

    async def _follow(self, url: str, ask: _Ask) -> FetchResult:
        source_id = ask.source_id
        hop = _Hop(url, permanent_so_far=True)
        visited = {url}
        for _ in range(self.settings.max_redirects + 1):
            result, location = await self._request(hop.url, ask)
            if location is None:
                assert result is not None
                moved = hop.url if hop.permanent_so_far and hop.url != url else None
                return replace(result, permanent_redirect=moved) if moved else result
            status, target = location
            target = urljoin(hop.url, target)
            if target in visited:
                raise FetchError(source_id, f"redirect loop at {target} (from {url})")
            visited.add(target)
            hop = _Hop(target, hop.permanent_so_far and status in _PERMANENT)
        raise FetchError(
            source_id, f"too many redirects (more than {self.settings.max_redirects}) from {url}"
        )

    async def _request(
        self, url: str, ask: _Ask
    ) -> tuple[FetchResult | None, tuple[int, str] | None]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(ask.source_id, f"refusing non-HTTP URL {url!r}")
        # Decided per hop: a redirect from the source's own host to another is guarded.
        guarded = not ask.private.opens(parts.hostname)
        if guarded:
            check_literal_host(parts.hostname, self.allowed_networks)
        headers = {"Accept": ask.accept, **_conditional_headers(ask.validators)}
        async with (
            self.hosts.slot(parts.hostname.lower()),
            self._session(guarded).get(url, headers=headers, allow_redirects=False) as response,
        ):
            return await self._read(response, url, ask)

    async def _read(
        self, response: aiohttp.ClientResponse, url: str, ask: _Ask
    ) -> tuple[FetchResult | None, tuple[int, str] | None]:
        source_id, validators, limit = ask.source_id, ask.validators, ask.limit
        status = response.status
        if status in _REDIRECTS and response.headers.get("Location"):
            return None, (status, response.headers["Location"])
        if status == 304:
            return FetchResult(
                url=url,
                status=304,
                validators=validators or CacheValidators(),
                max_age=_max_age(response),
            ), None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, MAX_DEFER)
            pause = retry_after if retry_after is not None else DEFAULT_DEFER * (status == 429)
            if pause:
                self.hosts.defer((urlsplit(url).hostname or "").lower(), pause)
            raise RateLimited(source_id, status, url, retry_after)
        if status >= 400:
            raise HTTPStatusError(source_id, status, url)
        if response.content_length is not None and response.content_length > limit:
            raise TooLarge(
                source_id,
                f"body larger than the {limit:,} byte limit "
                f"(Content-Length {response.content_length:,}) (url {url})",
            )
        try:
            body = await read_capped(
                response.content.iter_chunked(65536),
                response.headers.get("Content-Encoding", ""),
                limit,
            )
        except BodyTooLarge as exc:
            raise TooLarge(source_id, f"{exc} (url {url})") from exc
        except BadEncoding as exc:
            raise FetchError(source_id, f"{exc} (url {url})") from exc
        content_type = response.headers.get("Content-Type", "")
        charset = _CHARSET.search(content_type)
        return FetchResult(
            url=url,
            status=status,
            body=body,
            content_type=content_type.split(";")[0].strip().lower(),
            charset=charset.group(1) if charset else None,
            validators=CacheValidators(
                response.headers.get("ETag"), response.headers.get("Last-Modified")
            ),
            max_age=_max_age(response),
        ), None


def _conditional_headers(validators: CacheValidators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _max_age(response: aiohttp.ClientResponse) -> float | None:
    found = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
    return float(found.group(1)) if found else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
