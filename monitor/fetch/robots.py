"""robots.txt for article pages (RFC 9309).

The standard library's parser ignores the `*` and `$` wildcards that most
French news sites use (`Disallow: /*?xtor=`), so rules are matched here:
the group for our product token, else the `*` group; the longest matching
rule wins, and `Allow` wins a tie. A missing robots.txt (4xx) allows
everything; one that cannot be read (5xx, timeout) disallows everything for
a while, as the RFC asks.

The file comes from strangers, so its cost is bounded: only its first 500 KiB
are read, at most 1,000 rules kept, a rule longer than 2,000 characters is
ignored, and rules are matched piece by piece with `str.find` rather than by a
regex, which `/*a*a*a*a*a*b` sends into exponential backtracking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

ROBOTS_MAX_BODY = 500 * 1024  # RFC 9309: parse at least the first 500 KiB
MAX_RULES = 1000
MAX_RULE_LENGTH = 2000
CACHE_SECONDS = 24 * 3600
UNREACHABLE_SECONDS = 3600


@dataclass(frozen=True)
class Rule:
    allow: bool
    path: str


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
            if not matches(rule.path, target):
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
    kept = 0
    for raw in text[:ROBOTS_MAX_BODY].splitlines():
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
            # An empty Disallow allows everything: no rule. Past the caps, rules are dropped.
            if value and len(value) <= MAX_RULE_LENGTH and kept < MAX_RULES:
                rules.append(Rule(key == "allow", value))
                kept += 1
    if agents:
        groups.append((agents, rules))
    token = agent.lower()
    mine = [r for names, group in groups if token in names for r in group]
    if any(token in names for names, _ in groups):
        return Robots(tuple(mine))
    return Robots(tuple(r for names, group in groups if "*" in names for r in group))


def matches(rule: str, target: str) -> bool:
    """Whether robots.txt path `rule` matches `target` from its start: `*` stands for any
    run of characters, a final `$` for the end of the path; otherwise a prefix is enough.

    The literal pieces between stars are found left to right, each at its leftmost place:
    taking the earliest fit never loses a match, so nothing is retried and the cost stays
    near len(rule) + len(target), whatever the number of stars."""
    anchored = rule.endswith("$")
    head, *pieces = (rule[:-1] if anchored else rule).split("*")
    if not target.startswith(head):
        return False
    position = len(head)
    tail = pieces.pop() if anchored and pieces else None
    for piece in pieces:
        found = target.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    if not anchored:
        return True
    if tail is None:  # "/page$": the whole path, nothing after
        return position == len(target)
    return len(target) - len(tail) >= position and target.endswith(tail)


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
