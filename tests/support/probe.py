"""A command run in a process of its own that says which modules it loaded: what keeps a
command's start-up short is checked on what it really imports."""

from __future__ import annotations

import json
import subprocess
import sys

# Runs a command in this process, then prints its exit status and the modules loaded (the
# command's own output goes before).
PROBE = """
import json, sys
from monitor.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def probe(args: list[str], env: dict[str, str]) -> tuple[int, set[str], str]:
    """The exit status of `monitor ARGS`, the modules it loaded (packages and submodules,
    by their full names) and what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    *printed, last = done.stdout.splitlines()
    found = json.loads(last)
    return found["code"], set(found["modules"]), "\n".join(printed)


def top_level(modules: set[str]) -> set[str]:
    """The distributions' packages among `modules`: `apprise` for `apprise.plugins`."""
    return {name.split(".")[0] for name in modules}
