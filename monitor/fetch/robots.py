"""robots.txt for article pages (RFC 9309).

The standard library's parser ignores the `*` and `$` wildcards that most
French news sites use (`Disallow: /*?xtor=`), so rules are matched here:
the group for our product token, else the `*` group; the longest matching
rule wins, and `Allow` wins a tie. A missing robots.txt (4xx) allows
everything; one that cannot be read (5xx, timeout) disallows everything for
a while, as the RFC asks.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

ROBOTS_MAX_BODY = 500 * 1024  # RFC 9309: parse at least the first 500 KiB
CACHE_SECONDS = 24 * 3600
UNREACHABLE_SECONDS = 3600


@dataclass(frozen=True)
class Rule:
    allow: bool
    path: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Robots:
    """The rules of one robots.txt that apply to one product token."""

    rules: tuple[Rule, ...] = ()
    disallow_all: bool = False  # robots.txt unreachable

    def allows(self, url: str) -> bool:
        if self.disallow_all:
            return False
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        best: Rule | None = None
        for rule in self.rules:
            if not rule.pattern.match(target):
                continue
            if (
                best is None
                or len(rule.path) > len(best.path)
                or (len(rule.path) == len(best.path) and rule.allow)
            ):
                best = rule
        return best is None or best.allow


def parse_robots(text: str, agent: str) -> Robots:
    """The rules of `text` for product token `agent` (e.g. "veille")."""
    groups: list[tuple[set[str], list[Rule]]] = []
    agents: set[str] = set()
    rules: list[Rule] = []
    in_rules = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:
                groups.append((agents, rules))
                agents, rules, in_rules = set(), [], False
            agents.add(value.lower())
        elif key in ("allow", "disallow") and agents:
            in_rules = True
            if value:  # an empty Disallow allows everything: no rule
                rules.append(Rule(key == "allow", value, _compile(value)))
    if agents:
        groups.append((agents, rules))
    token = agent.lower()
    mine = [r for names, group in groups if token in names for r in group]
    if any(token in names for names, _ in groups):
        return Robots(tuple(mine))
    return Robots(tuple(r for names, group in groups if "*" in names for r in group))


def _compile(path: str) -> re.Pattern[str]:
    anchored = path.endswith("$")
    body = path[:-1] if anchored else path
    regex = ".*".join(re.escape(piece) for piece in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


Fetcher = Callable[[str], Awaitable[tuple[int, str]]]


class RobotsCache:
    """robots.txt per origin, fetched once and kept for a day."""

    def __init__(self, agent: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.agent = agent
        self._clock = clock
        self._cache: dict[str, tuple[float, Robots]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allows(self, url: str, fetch: Fetcher) -> bool:
        """Whether `url` may be fetched; `fetch(robots_url)` returns (status, text), or
        raises OSError/TimeoutError when the file cannot be read at all."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one fetch per origin, however many articles ask at once
            cached = self._cache.get(origin)
            if cached is None or cached[0] < self._clock():
                robots, ttl = await self._load(origin + "/robots.txt", fetch)
                cached = self._cache[origin] = (self._clock() + ttl, robots)
        return cached[1].allows(url)

    async def _load(self, robots_url: str, fetch: Fetcher) -> tuple[Robots, float]:
        try:
            status, text = await fetch(robots_url)
        except (OSError, TimeoutError):
            return Robots(disallow_all=True), UNREACHABLE_SECONDS
        if 200 <= status < 300:
            return parse_robots(text, self.agent), CACHE_SECONDS
        if 400 <= status < 500:
            return Robots(), CACHE_SECONDS
        return Robots(disallow_all=True), UNREACHABLE_SECONDS
