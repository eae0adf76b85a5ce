"""What a pass keeps of a source's answer once it is parsed: not its body."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.pipeline import Pipeline, SourcePoll
from monitor.records import SourceMemo

from support import rss_of
from support.ingest import build, source, states


async def test_a_polled_body_is_dropped_once_parsed_and_its_size_kept(
    tmp_path: Any, web_server: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = rss_of({"title": "Sans lien", "description": "x" * 50_000}).encode()
    feed = web_server.add("/feed.xml", body, content_type="application/rss+xml")
    polls: list[SourcePoll] = []
    poll = Pipeline.poll

    async def observed(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        result = await poll(self, *args, **kwargs)
        polls.append(result)
        return result

    monkeypatch.setattr(Pipeline, "poll", observed)
    async with build(tmp_path, source("fil", feed, allow_private_networks=True), pool) as svc:
        summary = await svc.run_pass()
        state = (await states(svc))["fil"]
    (polled,) = polls
    assert summary.outcomes[0].ok and polled.pending  # read, its items waiting to be written
    assert polled.fetched.body == b""  # while the pass reads other sources and writes
    assert polled.body_size == len(body)
    assert SourceMemo.from_json(state.state).last["bytes"] == len(body)
