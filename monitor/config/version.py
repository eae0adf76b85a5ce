"""The configuration's version: a short hash of the files it was loaded from.

Logged at start-up and after a reload, and exported as a metric label, so that an
operator can tell which instances run which configuration.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CONFIG_FILES = ("sources.toml", "monitor.toml")


def config_version(root: Path) -> str:
    """12 hex digits over the names and bytes of sources.toml, monitor.toml and every file
    under alerts/ (rules, channels, templates); a file that is absent counts as absent."""
    alerts = root / "alerts"
    files = [root / name for name in CONFIG_FILES]
    files += sorted(p for p in alerts.rglob("*") if p.is_file()) if alerts.is_dir() else []
    digest = hashlib.sha256()
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
