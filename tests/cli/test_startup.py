"""`monitor --help` and a group's help start fast: no command module imports the heavy
libraries (or the configuration) before the command that needs them runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("aiohttp", "trafilatura", "simplemma", "sqlalchemy", "apscheduler", "jinja2")
OURS = ("monitor.config", "monitor.api", "monitor.store", "monitor.app")

SHOW_MODULES = """
import sys
from monitor.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_MODULES, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(done.stderr.split())


@pytest.mark.parametrize(
    "argv", [("--help",), ("sources", "--help"), ("run", "--help"), ("rules", "explain", "-h")]
)
def test_help_imports_nothing_heavy(argv: tuple[str, ...]) -> None:
    modules = imported_by(*argv)
    assert "monitor.cli.sources" in modules  # every command module was read
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(OURS))
    assert heavy == []


def test_a_command_imports_what_it_needs() -> None:
    """The check above can fail: a command that runs loads the configuration."""
    assert "monitor.config" in imported_by("--config", "/nonexistent", "check")


FREEZES = """
import gc, sys
from monitor.cli import console, main
main(["rules"])  # the group's help, exit status 2
print("after main, frozen:", gc.get_freeze_count() > 0, file=sys.stderr)
sys.argv = ["monitor", "rules"]
code = console()
print("after console:", code, "frozen:", gc.get_freeze_count() > 0, file=sys.stderr)
"""


def test_the_command_ends_without_collecting_its_heap() -> None:
    """`monitor` (the console script, `python -m monitor`) freezes what is alive once the
    command is done, so that the interpreter's exit does not collect it; `main`, which
    tests and embedding code call, leaves the collector alone."""
    done = subprocess.run(
        [sys.executable, "-c", FREEZES], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr.splitlines()[-2:] == [
        "after main, frozen: False",
        "after console: 2 frozen: True",
    ]
    script = subprocess.run(
        [sys.executable, "-c", "import monitor.__main__ as m; print(m.console.__name__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert script.stdout.strip() == "console"
