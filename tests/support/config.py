"""Configuration directories for configuration tests: one source, one rule, and the problems
that loading reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.preflight import load_checked

from support import write

SOURCES = """
[defaults]
interval = "20m"

[[source]]
id = "lemagit"
name = "LeMagIT"
url = "https://www.lemagit.fr/rss/ContentSyndication.xml"
"""

RULES = """
[[rule]]
id = "ministry-microsoft"
title = "Un ministère choisit Microsoft"
query = 'ministère AND Microsoft'
"""


def make_config(
    tmp_path: Path, sources: str = SOURCES, rules: str = RULES, channels: str = ""
) -> Path:
    write(tmp_path / "sources.toml", sources)
    write(tmp_path / "alerts" / "rules.toml", rules)
    if channels:
        write(tmp_path / "alerts" / "channels.toml", channels)
    return tmp_path


def problems(tmp_path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_checked(tmp_path, environ or {})
    return [str(p) for p in error.value.problems]
