"""Read TOML files and point back at lines.

`tomllib` gives plain dicts without positions, so for messages such as
"sources.toml:42: unknown key 'intervall'" we scan the text for the table
header and key that a validation error refers to.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, ConfigProblem

_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


@dataclass(frozen=True)
class TomlDoc:
    path: Path
    display: str  # the path as shown in messages (relative to the config directory)
    data: dict[str, Any]
    text: str

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of a key path such as ("source", 3, "interval"), if found."""
        return locate(self.text, loc)

    def problem(
        self, message: str, loc: Sequence[str | int] = (), key: str | None = None
    ) -> ConfigProblem:
        return ConfigProblem(
            self.display, message, line=self.line_of(loc) if loc else None, key=key
        )


def read_toml(path: Path, display: str) -> TomlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(display, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(display, f"not valid UTF-8 ({exc.reason})")]) from exc
    except OSError as exc:
        raise ConfigError([ConfigProblem(display, f"cannot read: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_decode_problem(display, exc)]) from exc
    return TomlDoc(path, display, data, text)


def _decode_problem(display: str, exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    message = str(exc)
    found = _DECODE_POSITION.search(message)
    line = int(found.group(1)) if found else None
    clean = _DECODE_POSITION.sub("", message).strip()
    return ConfigProblem(display, f"invalid TOML: {clean}", line=line)


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """Find the line of a key path in TOML text; None when it cannot be pinned down."""
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return None
    table, key = _split_table_and_key(text, loc)
    start, end = _table_span(text, table) if table else (0, None)
    if start is None:
        return None
    lines = _index(text).lines
    if key is None:
        return start + 1 if table else None
    stop = len(lines) if end is None else end
    for number in range(start, stop):
        found = _KEY.match(lines[number])
        if found and found.group(1).strip("\"'").split(".")[0] == key:
            return number + 1
    return start + 1 if table else None


def _split_table_and_key(text: str, loc: Sequence[str | int]) -> tuple[list[str | int], str | None]:
    """Split a path into the deepest existing table and the key inside it."""
    parts = list(loc)
    for cut in range(len(parts), 0, -1):
        candidate = parts[:cut]
        # An index ends a table only when it numbers an array of tables ([[rule]]), not
        # an inline array (should_match = [...]): then the key is the array's.
        if _table_span(text, candidate)[0] is not None:
            rest = parts[cut:]
            key = next((p for p in rest if isinstance(p, str)), None)
            return candidate, key
    first = parts[0]
    return [], first if isinstance(first, str) else None


def _table_span(text: str, table: Sequence[str | int]) -> tuple[int | None, int | None]:
    """Lines [start, end) of a table such as ["source", 3] or ["channels", "mail"]."""
    wanted = ".".join(str(p) for p in table if isinstance(p, str))
    index = next((p for p in table if isinstance(p, int)), None)
    if index is not None and not isinstance(table[-1], int):
        return _sub_table_span(text, table, wanted)
    seen = -1
    start: int | None = None
    for number, opening, name in _index(text).headers:
        if start is not None:
            return start, number
        if name != wanted:
            continue
        if opening == "[[":
            seen += 1
            if index is not None and seen != index:
                continue
        start = number
    return start, None


def _sub_table_span(
    text: str, table: Sequence[str | int], wanted: str
) -> tuple[int | None, int | None]:
    """Lines of a table inside an element of an array of tables, such as the
    `[source.mapping]` of the fourth `[[source]]`: looked for in that element only."""
    cut = next(i for i, part in enumerate(table) if isinstance(part, int)) + 1
    element, _ = _table_span(text, table[:cut])
    if element is None:
        return None, None
    array = ".".join(str(p) for p in table[:cut] if isinstance(p, str))
    start: int | None = None
    for number, _, name in _index(text).headers:
        if number <= element:
            continue
        if start is not None:
            return start, number
        if name == array or not name.startswith(array + "."):
            return None, None  # the element ends without that table
        if name == wanted:
            start = number
    return start, None


@dataclass(frozen=True)
class _Index:
    lines: list[str]
    headers: list[tuple[int, str, str]]  # (0-based line, "[" or "[[", dotted name)


@lru_cache(maxsize=8)
def _index(text: str) -> _Index:
    """The lines of a file and its table headers, found once per text: a file's every
    rule, list and channel is located in it at each load, and each lookup scanned the
    whole text again (70 ms of a listing's start-up with the shipped rules)."""
    lines = text.splitlines()
    headers = []
    for number, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            name = ".".join(part.strip().strip("\"'") for part in header.group(2).split("."))
            headers.append((number, header.group(1), name))
    return _Index(lines, headers)
