"""What every source kind is given and gives back.

A kind polls one source: it fetches it (conditionally, when it can), parses what came
back in the worker pool, and returns a `Read`: the answer that stands for the source
(status, validators, redirect, max-age), the items it lists now, and what to remember
for the next pass. The pipeline does the rest, the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from monitor.config import SourceConfig
from monitor.extract import WorkerPool
from monitor.fetch import HttpClient
from monitor.observe.recorder import Recorder
from monitor.records import Article, CacheValidators, FeedItem, FetchResult, SourceMemo

T = TypeVar("T")


@dataclass(frozen=True)
class Ask:
    """One poll of one source."""

    source: SourceConfig
    url: str  # where it lives now: its configured address, or where it moved for good
    validators: CacheValidators | None  # for a conditional GET; None: the items are needed
    memo: SourceMemo  # what the last pass remembered
    now: datetime


@dataclass(frozen=True)
class Tools:
    """What kinds poll with."""

    http: HttpClient
    pool: WorkerPool
    recorder: Recorder
    max_body: int  # bytes, of one answer (the `[fetch]` setting)


@dataclass(frozen=True)
class Made:
    """An article a kind wrote itself (a watched region's change): no page to read."""

    item: FeedItem
    article: Article


@dataclass(frozen=True)
class Read:
    """What a poll found."""

    fetched: FetchResult  # the answer that stands for the source
    memo: SourceMemo  # what to remember for the next pass
    items: tuple[FeedItem, ...] | None = None  # None: no list of items (a 304, a watch)
    warnings: tuple[str, ...] = ()
    made: tuple[Made, ...] = ()


class SourceKind(Protocol):
    """Poll one source of this kind; a `SourceError` says why it could not be read."""

    async def __call__(self, ask: Ask, tools: Tools) -> Read: ...


async def fetch(ask: Ask, tools: Tools, accept: str) -> FetchResult:
    """The source's own URL, asked conditionally when the pipeline allows."""
    with tools.recorder.timed("fetch"):
        return await tools.http.get(
            ask.url,
            source_id=ask.source.id,
            validators=ask.validators,
            accept=accept,
            private=ask.source.private_access,
        )


async def parse(tools: Tools, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function` run in the worker pool: parsing is CPU work, and untrusted input."""
    with tools.recorder.timed("parse"):
        return await tools.pool.run(function, *args, **kwargs)
