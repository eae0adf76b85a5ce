"""The edges of `--http`: addresses checked where they are given, a port taken, a bind
beyond loopback; metrics in registries of their own, with bounded labels."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.cli import main
from monitor.config.service import BindAddress
from monitor.observe.http import ObserveServer
from monitor.observe.metrics import Metrics
from monitor.records import SourceOutcome

from support import MICROSOFT_RULE, free_port, loopback_sources, write


def config_dir(root: Path, monitor_toml: str = "") -> Path:
    write(root / "sources.toml", loopback_sources({"fil": f"http://127.0.0.1:{free_port()}/"}))
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    if monitor_toml:
        write(root / "monitor.toml", monitor_toml)
    return root


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("example.org:9108", "the host must be an IP address or localhost"),
        ("127.0.0.1:0", "give HOST:PORT with a port from 1 to 65535"),
        ("127.0.0.1:http", "give HOST:PORT with a port from 1 to 65535"),
    ],
)
def test_a_bad_http_option_is_a_usage_error(
    given: str, why: str, tmp_path: Path, capsys: Any
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config_dir(tmp_path)), "run", "--http", given])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --http: invalid address {given!r}: {why}" in err and "Traceback" not in err


def test_a_bad_http_key_is_a_config_problem_with_its_line(tmp_path: Path, capsys: Any) -> None:
    root = config_dir(tmp_path, '[service]\ninstance = "a"\nhttp = "10.0.0.1:99999"\n')
    assert main(["--config", str(root), "check"]) == 1
    assert (
        "monitor.toml:3: [service.http] invalid address '10.0.0.1:99999': give HOST:PORT "
        "with a port from 1 to 65535" in capsys.readouterr().err
    )


def test_http_goes_with_the_service_only(tmp_path: Path, capsys: Any) -> None:
    argv = ["--config", str(config_dir(tmp_path)), "run", "--once", "--http", "127.0.0.1:9108"]
    assert main(argv) == 2
    assert capsys.readouterr().err == "--http goes with the service, not with --once\n"


@pytest.mark.parametrize("where", ["option", "monitor.toml"])
def test_a_port_in_use_is_one_line(
    where: str, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        toml = f'[service]\nhttp = "{address}"\n' if where == "monitor.toml" else ""
        option = ["--http", address] if where == "option" else []
        root = config_dir(tmp_path / "config", toml)
        assert main(["-q", "--config", str(root), "run", *option]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"cannot serve health and metrics on {address}: ")
    assert line.endswith("address already in use")


async def test_a_bind_beyond_loopback_is_served_with_a_warning(caplog: Any) -> None:
    port = free_port()
    server = ObserveServer(BindAddress("0.0.0.0", port), Metrics(), "veille-a")
    with caplog.at_level(logging.WARNING, "monitor.observe.http"):
        await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
            async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                # No service attached: one configuration gone, the next not started yet.
                assert response.status == 503
                body = await response.json()
                assert body["checks"] == {"configuration": "not loaded (reloading)"}
            async with session.get(f"http://127.0.0.1:{port}/other") as response:
                assert response.status == 404
    finally:
        await server.stop()
    (record,) = caplog.records
    assert f"listen on 0.0.0.0:{port}, beyond this machine" in record.getMessage()


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_each_service_counts_in_its_own_registry_with_bounded_labels() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.configure("a", "v1", sources=["fil"], rules=["r"], channels=["mail"])
    first.source_polled(SourceOutcome("fil", ok=True, new_articles=2))
    first.source_polled(SourceOutcome("fil", ok=True, not_modified=True))
    first.source_polled(SourceOutcome("fil", ok=False, error_kind="timeout"))
    first.source_polled(SourceOutcome("fil", ok=True, skipped="backoff"))  # not fetched
    first.source_polled(SourceOutcome("gone", ok=True, new_articles=1))  # not configured
    first.matched(["r", "removed"], alerts=1)
    first.delivered("mail", "retrying")
    first.delivered("slack", "sent")
    found = samples(first)
    fetches = {k[1]: v for k, v in found.items() if k[0] == "monitor_fetches_total"}
    assert fetches == {
        (("outcome", "ok"), ("source", "fil")): 1,
        (("outcome", "not_modified"), ("source", "fil")): 1,
        (("outcome", "timeout"), ("source", "fil")): 1,
        (("outcome", "ok"), ("source", "other")): 1,
    }
    assert found["monitor_articles_total", (("kind", "new"), ("source", "fil"))] == 2
    assert found["monitor_matches_total", (("rule", "other"),)] == 1
    assert found["monitor_deliveries_total", (("channel", "other"), ("outcome", "sent"))] == 1
    assert found["monitor_alerts_total", ()] == 1
    assert not [k for k in samples(second) if k[0] == "monitor_fetches_total"]
