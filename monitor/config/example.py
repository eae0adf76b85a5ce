"""The example configuration that `monitor init` writes into a directory.

It is the repository's own `sources.toml`, `alerts/` and `monitor.toml`: one copy in
git, at the top level where the README and the Dockerfile use it. A wheel carries it as
the package data of `monitor._example` (pyproject.toml maps that package onto the
repository root and lists the same files as EXAMPLE_FILES below; a test builds a wheel
and compares).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import monitor
from monitor.errors import MonitorError

# Globs relative to the configuration root; keep in step with pyproject.toml's
# package-data for "monitor._example".
EXAMPLE_FILES = ("sources.toml", "monitor.toml", "alerts/**/*.toml", "alerts/templates/README.md")

_PACKAGE = Path(monitor.__file__).resolve().parent


class ExampleRefused(MonitorError):
    """The target already holds some of the files, or cannot be written."""


def example_root() -> Path:
    """The packaged copy in an installed wheel; the repository root in a checkout."""
    for candidate in (_PACKAGE / "_example", _PACKAGE.parent):
        if (candidate / "sources.toml").is_file() and (candidate / "alerts").is_dir():
            return candidate
    raise FileNotFoundError("the example configuration is not next to the monitor package")


def example_files(root: Path) -> list[Path]:
    """The example's files under `root`, relative to it, sorted."""
    found = {
        path.relative_to(root)
        for pattern in EXAMPLE_FILES
        for path in root.glob(pattern)
        if path.is_file()
    }
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def write_example(target: Path, *, force: bool = False) -> list[Path]:
    """Copy the example configuration into `target` (created when missing) and return the
    files written, relative to it. Files already there are refused unless `force`."""
    root = example_root()
    files = example_files(root)
    if target.exists() and not target.is_dir():
        raise ExampleRefused(f"{target} exists and is not a directory")
    existing = [f for f in files if (target / f).exists()]
    if existing and not force:
        named = ", ".join(map(str, existing[:3])) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        )
        raise ExampleRefused(
            f"{target} already holds {named}: nothing written (--force overwrites them)"
        )
    try:
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, target / relative)
    except OSError as exc:
        raise ExampleRefused(f"cannot write into {target}: {exc.strerror or exc}") from exc
    return files
