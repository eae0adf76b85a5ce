"""What a module of monitor/ imports from monitor, for the tests that keep the layers apart."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from support import REPO


def monitor_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every `monitor.*` import in a file, those inside functions and
    under TYPE_CHECKING too; `from m import n` gives `m.n`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from monitor import notify` imports monitor.notify.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("monitor.")]


def imports_refused(folder: Path, refused: Callable[[str], bool]) -> list[str]:
    """`file:line: module` for each `monitor.*` import of the folder's modules that
    `refused` says no to."""
    return [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for path in sorted(folder.glob("*.py"))
        for line, name in monitor_imports(path)
        if refused(name)
    ]
