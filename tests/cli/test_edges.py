"""The command line's edges: pipes, misplaced flags, missing directories, empty listings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main

from support import MICROSOFT_RULE, write

MONITOR = str(Path(sys.executable).parent / "monitor")


def config_dir(root: Path, rules: str = MICROSOFT_RULE) -> Path:
    write(
        root / "sources.toml",
        '[[source]]\nid = "on"\nname = "On"\nurl = "https://example.org/on"\n\n'
        '[[source]]\nid = "off"\nname = "Off"\nurl = "https://example.org/off"\nenabled = false\n',
    )
    write(root / "alerts" / "rules.toml", rules)
    return root


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path: Path, data_dir: Path) -> None:
    read, write_end = os.pipe()
    os.close(read)  # the reader (`| head`) is gone before anything is written
    env = {**os.environ, "MONITOR_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [MONITOR, "--config", str(config_dir(tmp_path / "c")), "check"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_missing_config_directory_is_named_with_a_hint(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "nowhere"
    assert main(["--config", str(missing), "check"]) == 1
    err = capsys.readouterr().err
    assert f"{missing}: configuration directory not found" in err and "--config DIR" in err


@pytest.mark.parametrize(("group", "action"), [("rules", "explain"), ("db", "upgrade")])
def test_a_group_without_an_action_prints_its_own_help(
    group: str, action: str, capsys: Any
) -> None:
    assert main([group]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"usage: monitor {group} ") and f"    {action} " in out


def test_empty_listings_say_so(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    root = str(config_dir(tmp_path / "c"))
    assert main(["--config", root, "alerts"]) == 0
    assert capsys.readouterr().out == "no alerts\n"
    assert main(["--config", root, "alerts", "--failed"]) == 0
    assert capsys.readouterr().out == "no failed deliveries\n"


def test_check_warns_when_no_rule_is_enabled(tmp_path: Path, capsys: Any) -> None:
    root = config_dir(tmp_path, MICROSOFT_RULE + "enabled = false\n")
    assert main(["--config", str(root), "check"]) == 0
    assert "warning: no enabled rule" in capsys.readouterr().err


def test_sources_creates_no_database_and_names_disabled_sources(
    tmp_path: Path, data_dir: Path, capsys: Any
) -> None:
    assert main(["--config", str(config_dir(tmp_path / "c")), "sources"]) == 0
    assert capsys.readouterr().out == "never polled yet: on\ndisabled: off\n"
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("command", "described"),
    [
        (["alerts"], "--limit N show at most N deliveries, the newest first (default 50)"),
        (["backtest"], "--passages N matching passages quoted under each article (default 1"),
        (["backtest"], "RULE_ID only these rules (default: every rule)"),
        (["rules", "test"], "RULE_ID only these rules (default: every rule)"),
        (["rules", "explain"], "RULE_ID the id of the rule, as in alerts/"),
    ],
)
def test_every_argument_says_what_it_does(
    command: list[str], described: str, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a help line in one piece
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert described in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["backtest", "--passages", "-1"], "argument --passages: must be at least 0, not -1"),
        (["alerts", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
        (["alerts", "--limit", "ten"], "argument --limit: not a whole number: 'ten'"),
        (
            ["rules", "explain", "r", "--text", "t", "--date", "18/04/2013"],
            "argument --date: not a date (YYYY-MM-DD): '18/04/2013'",
        ),
    ],
)
def test_a_count_out_of_range_is_a_usage_error(
    command: list[str], message: str, capsys: Any
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.endswith(f"error: {message}\n")


def test_rules_test_of_one_rule_counts_only_its_examples(tmp_path: Path, capsys: Any) -> None:
    examples = 'should_match = ["Le ministère signe avec Microsoft."]\n'
    other = (
        '\n[[rule]]\nid = "other"\ntitle = "O"\nquery = "SecNumCloud"\n'
        'should_match = ["SecNumCloud obtenu.", "Qualification SecNumCloud."]\n'
        'should_not_match = ["Rien."]\n'
    )
    root = config_dir(tmp_path, MICROSOFT_RULE + examples + other)
    assert main(["--config", str(root), "rules", "test", "ministry-microsoft"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n0 failing examples out of 1\n") and "other" not in out
    assert main(["--config", str(root), "rules", "test"]) == 0
    assert capsys.readouterr().out.endswith("\n0 failing examples out of 4\n")
