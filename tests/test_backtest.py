"""Backtests: what a rule would alert on over the archive."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from monitor.backtest import run_backtest
from monitor.match import vocabulary

from support import event_and_off_topic, service


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_vocabularies_are_decoded_off_the_event_loop(
    tmp_path: Path, web_server: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decoding a page of 2,000 vocabularies takes a second or more of CPU: on the loop it
    # would stall the service's other tasks (and a console's progress) meanwhile.
    root = event_and_off_topic(tmp_path, web_server)
    decoded_on_loop: list[bool] = []
    real_decode = vocabulary.decode

    def decode(blob: bytes) -> vocabulary.Vocabulary:
        decoded_on_loop.append(_in_event_loop())
        return real_decode(blob)

    async with service(tmp_path, root, pool, f"sqlite:///{tmp_path / 'db.sqlite3'}") as svc:
        await svc.run_pass()
        monkeypatch.setattr(vocabulary, "decode", decode)
        backtest = await run_backtest(svc.store, svc.config, ["ministry-microsoft"], None)

    assert backtest.articles == 2 and len(backtest.reports["ministry-microsoft"].hits) == 1
    assert decoded_on_loop == [False, False]
