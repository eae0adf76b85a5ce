"""The CLI is a client of the public API: its modules parse arguments, call `monitor.api`
(or the light `monitor.listings` and `monitor.rulebook`) and print, and reach nothing
below them."""

from __future__ import annotations

from pathlib import Path

from support import REPO
from support.layers import imports_refused, monitor_imports

# What a module under monitor/cli may import from monitor, and why. An entry names a module
# (its submodules and names come with it) or one name of a module.
ALLOWED = (
    "monitor.__version__",  # `monitor --version`
    "monitor.api",  # the public API: what a command does
    "monitor.listings",  # the light read-only part of it (docs/api.md), for fast listings
    "monitor.rulebook",  # the light rule part of it (docs/api.md), for `rules explain`/`eval`
    "monitor.configdir",  # the light configuration-file part of it: `init`, OPML in and out
    "monitor.cli",  # the command modules themselves
    "monitor.settings",  # the environment and the configuration, read at the edge
    "monitor.errors",  # the errors the entry point turns into exit statuses
    "monitor.log",  # logging set up, and its formats as argparse choices
    "monitor.display",  # times and titles as printed
    "monitor.report",  # the tables printed
    "monitor.hygiene.mask",  # no secret in a printed line
    "monitor.config.edit.one_line",  # no control character in a printed line
    "monitor.config.Config",  # the type of what `read_config` returns
    "monitor.config.units",  # durations, as argparse types
    "monitor.config.service",  # HOST:PORT and the keep_text check, as argparse types
    "monitor.config.validation",  # "did you mean" hints on names given as arguments
    "monitor.web",  # the console: another client of the API, which `monitor web` starts
    # `monitor run` starts the workers before it imports the API, which then uses them:
    # their start-up overlaps its imports.
    "monitor.extract.pool.WorkerPool",
)


def allowed(name: str) -> bool:
    return any(name == entry or name.startswith(f"{entry}.") for entry in ALLOWED)


def test_the_cli_imports_only_the_public_api() -> None:
    folder = REPO / "monitor" / "cli"
    assert len(list(folder.glob("*.py"))) >= 15
    assert imports_refused(folder, lambda name: not allowed(name)) == []


def test_the_layer_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import monitor.store\nfrom monitor import pipeline\n\n"
        "def f():\n    from monitor.config.edit import SourcesFile, one_line\n",
        encoding="utf-8",
    )
    found = monitor_imports(path)
    assert found == [
        (1, "monitor.store"),
        (2, "monitor.pipeline"),
        (5, "monitor.config.edit.SourcesFile"),
        (5, "monitor.config.edit.one_line"),
    ]
    below = ["monitor.store", "monitor.pipeline", "monitor.config.edit.SourcesFile"]
    assert [name for _, name in found if not allowed(name)] == below
