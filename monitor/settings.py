"""Process settings from the environment.

This is the only module that reads ``os.environ``; everything else receives a
`Settings` object (and config interpolation receives its ``environ`` copy).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.dburl import sqlite_file

if TYPE_CHECKING:
    from monitor.config import Config

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
DEFAULT_DATABASE_FILE = "veille.sqlite3"


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    data_dir: Path
    database_url: str | None
    allow_private_networks: bool
    log_level: str
    workers: int | None
    log_format: str | None = None  # MONITOR_LOG_FORMAT, checked by `monitor run`
    environ: Mapping[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, config_dir: str | Path | None = None
    ) -> Settings:
        env = dict(os.environ if environ is None else environ)
        workers = env.get("MONITOR_WORKERS")
        return cls(
            config_dir=Path(config_dir or env.get("MONITOR_CONFIG_DIR") or "."),
            data_dir=Path(env.get("MONITOR_DATA_DIR") or "data"),
            database_url=env.get("MONITOR_DATABASE_URL") or None,
            allow_private_networks=env.get("MONITOR_ALLOW_PRIVATE_NETWORKS", "").lower()
            in TRUE_WORDS,
            log_level=(env.get("MONITOR_LOG_LEVEL") or "INFO").upper(),
            workers=int(workers) if workers else None,
            log_format=(env.get("MONITOR_LOG_FORMAT") or "").strip().lower() or None,
            environ=env,
        )


def read_config(settings: Settings, *, checked: bool = True) -> Config:
    """The configuration in `settings.config_dir`: a `ConfigError` lists every problem with
    its file and line. `checked` adds what needs notify, schedule and the matcher (channel
    URLs, crons, templates, every rule compiled); listings that read the database skip it."""
    # Imported here: reading settings (every command, `--help` too) needs none of it.
    from monitor.config import load_config
    from monitor.errors import ConfigError, ConfigProblem

    root = Path(settings.config_dir)
    if not root.is_dir():
        problem = (
            "configuration directory not found: give the directory holding sources.toml and "
            "alerts/ with --config DIR (or MONITOR_CONFIG_DIR)"
        )
        raise ConfigError([ConfigProblem(str(root.resolve()), problem)])
    if not checked:
        return load_config(root, settings.environ)
    # Only when checked: preflight imports notify, schedule and the matcher.
    from monitor.preflight import load_checked

    return load_checked(root, settings.environ)


def default_url(data_dir: Path) -> str:
    """The database when nothing names one: a SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / DEFAULT_DATABASE_FILE).resolve()}"


def database_file_known(settings: Settings) -> bool:
    """Whether a SQLite database is already where the environment says, before the
    configuration is read: MONITOR_DATABASE_URL, else the data directory's file. False
    for a server database and when that file is not there (a first run, or a database
    that monitor.toml names): then nothing is known."""
    path = sqlite_file(settings.database_url or default_url(settings.data_dir))
    return path is not None and path.is_file()


def database_url(settings: Settings, config: Config) -> str:
    """MONITOR_DATABASE_URL, else monitor.toml's [database] url, else `default_url`."""
    return settings.database_url or config.database_url or default_url(settings.data_dir)
