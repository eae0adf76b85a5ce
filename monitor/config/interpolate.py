"""`${VAR}` interpolation, so that secrets (SMTP passwords, chat tokens) stay out of files."""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(ValueError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        plural = "s" if len(names) > 1 else ""
        super().__init__(f"environment variable{plural} {', '.join(names)} not set")


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Replace `${VAR}` and `${VAR:-default}`; `$${` escapes a literal `${`."""
    missing: list[str] = []

    def substitute(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return found.group(0)

    escaped = value.replace("$${", "\0")
    result = _VAR.sub(substitute, escaped)
    if missing:
        raise MissingVariable(missing)
    return result.replace("\0", "${")
