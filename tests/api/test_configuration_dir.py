"""The API's functions on a configuration directory, without a `Monitor`: the example
written, feeds added from a loopback site or an OPML file and exported, a channel probed,
the service's health read."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.api import (
    BlockedAddress,
    EditRefused,
    ExampleRefused,
    UnknownName,
    add_source,
    export_opml,
    import_opml,
    probe_channel,
    service_health,
    write_example_config,
)
from monitor.config import load_config

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Le Fil</title>
<item><title>Un</title><link>https://example.org/1</link></item>
</channel></rss>"""


def feed_ids(root: Path) -> list[str]:
    sources = tomllib.loads((root / "sources.toml").read_text(encoding="utf-8"))["source"]
    return [s["id"] for s in sources if s.get("kind", "feed") == "feed"]


def test_the_example_is_written_once_and_its_feeds_exported(tmp_path: Path) -> None:
    root = tmp_path / "veille"
    files = write_example_config(root)
    assert Path("sources.toml") in files and all((root / f).is_file() for f in files)
    with pytest.raises(ExampleRefused):
        write_example_config(root)
    assert write_example_config(root, force=True) == files

    opml = export_opml(root)
    assert opml.feeds == len(feed_ids(root)) > 0
    assert opml.document.startswith(b"<?xml") and b'<opml version="2.0">' in opml.document

    exported = tmp_path / "out.opml"
    exported.write_bytes(opml.document)
    empty = tmp_path / "empty"
    empty.mkdir()
    imported = import_opml(empty, exported)
    assert imported.path == empty / "sources.toml"
    assert len(imported.report.added) == opml.feeds and imported.report.skipped == []
    again = import_opml(empty, exported)  # every feed is there already
    assert again.report.added == [] and len(again.report.skipped) == opml.feeds


async def test_a_feed_is_added_from_a_loopback_site(tmp_path: Path, web_server: Any) -> None:
    url = web_server.add("/feed.xml", FEED, content_type="application/rss+xml")
    root = tmp_path / "veille"
    root.mkdir()
    with pytest.raises(BlockedAddress):
        await add_source(root, url)
    assert not (root / "sources.toml").exists()

    added = await add_source(root, url, "fil", allow_private=True)
    assert (added.source.id, added.feed.url, added.feed.items) == ("fil", url, 1)
    assert (added.path, added.line) == (root / "sources.toml", 1)  # a new file
    assert feed_ids(root) == ["fil"]
    with pytest.raises(EditRefused):  # refused before anything is fetched
        await add_source(root, web_server.url("/nothing-here"), "fil", allow_private=True)


async def test_a_channel_is_probed_by_name(tmp_path: Path) -> None:
    root = tmp_path / "veille"
    write_example_config(root)
    config = load_config(root, {})
    with pytest.raises(UnknownName, match=r"unknown channel 'consol'.*did you mean 'console'"):
        await probe_channel(config, "consol")
    assert (await probe_channel(config, "console")).ok


def test_without_a_heartbeat_the_service_is_not_running(tmp_path: Path) -> None:
    healthy, line = service_health(tmp_path, timedelta(minutes=2), datetime.now(UTC))
    assert not healthy and line.startswith("not running: no heartbeat at ")
