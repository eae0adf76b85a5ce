"""Expected failures on the command line: one line naming the problem, no traceback.

Run through `monitor.cli.main` in-process and through the real `monitor` script.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main

from support import MICROSOFT_RULE, free_port, write

COMMANDS = (["sources"], ["alerts"], ["db", "upgrade"], ["run", "--once", "--no-send"])


def config_dir(root: Path) -> Path:
    # A closed loopback port: a pass fails fast, without the network.
    feed = f"http://127.0.0.1:{free_port()}/feed.xml"
    write(root / "sources.toml", f'[[source]]\nid = "s"\nname = "S"\nurl = "{feed}"\n')
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    return root


def one_line_error(capsys: Any) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_at_a_closed_port_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    url = f"postgresql://veille:secret@127.0.0.1:{free_port()}/veille"
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    assert main(["-q", "--config", str(config_dir(tmp_path)), *command]) == 2
    line = one_line_error(capsys)
    assert "127.0.0.1" in line and "is the server running" in line and "secret" not in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unsupported_scheme_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "mysql://veille:secret@localhost/veille")
    assert main(["-q", "--config", str(config_dir(tmp_path)), *command]) == 2
    assert "scheme 'mysql' is not supported" in one_line_error(capsys)


# `sources` is left out: it reads no database that does not exist yet, so it lists.
@pytest.mark.parametrize("command", COMMANDS[1:], ids=" ".join)
def test_a_data_directory_that_is_a_file_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    data = write(tmp_path / "data", "not a directory")
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(data))
    assert main(["-q", "--config", str(config_dir(tmp_path / "c")), *command]) == 2
    assert f"data directory {data}: cannot be created (is a file)" in one_line_error(capsys)


def test_the_installed_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"postgresql://u:p@127.0.0.1:{free_port()}/veille"}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "monitor"),
            "--config",
            str(config_dir(tmp_path)),
            "sources",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: database postgresql+asyncpg://***@127.0.0.1:")


def closed_sources(root: Path, ids: list[str]) -> Path:
    """Sources on closed loopback ports: every fetch is refused at once."""
    port = free_port()
    write(
        root / "sources.toml",
        "".join(
            f'[[source]]\nid = "{sid}"\nname = "{sid}"\nurl = "http://127.0.0.1:{port}/{sid}"\n'
            "allow_private_networks = true\n"
            for sid in ids
        ),
    )
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    return root


def test_identical_failures_are_one_line_and_a_pass_where_all_failed_exits_3(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    ids = [f"outlet-{n}" for n in range(5)]
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    root = closed_sources(tmp_path / "config", ids)
    assert main(["--config", str(root), "run", "--once"]) == 3
    out, err = capsys.readouterr()
    assert f"  5 sources failed: connection refused: {', '.join(ids)}\n" in out
    assert "Traceback" not in err and "ClientConnectorError" not in out + err
    assert sum(line.count("outlet-3") for line in (out + err).splitlines()) == 1


async def test_a_pass_where_some_sources_worked_exits_0(
    tmp_path: Path, web_server: Any, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    root = closed_sources(tmp_path / "config", ["down"])
    feed = web_server.add(
        "/feed.xml", "<rss version='2.0'><channel><title>t</title></channel></rss>"
    )
    with (root / "sources.toml").open("a") as sources:
        sources.write(f'[[source]]\nid = "up"\nname = "Up"\nurl = "{feed}"\n')
        sources.write("allow_private_networks = true\n")
    # The command runs its own event loop: in a thread, while this loop serves the feed.
    assert await asyncio.to_thread(main, ["--config", str(root), "run", "--once"]) == 0
    assert "  1 source failed: connection refused: down\n" in capsys.readouterr().out
