"""Turn pydantic validation errors into located, readable config problems."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.config.toml import TomlDoc
from monitor.errors import ConfigProblem

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for config models: immutable, and an unknown key is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def validate(
    model: type[M],
    data: Any,
    doc: TomlDoc,
    prefix: Sequence[str | int] = (),
    label: str | None = None,
) -> tuple[M | None, list[ConfigProblem]]:
    """Validate `data` found at `prefix` in `doc`; return the model and no problem, or
    the problems and the model that is left without the keys in error (None when none
    is): the later checks (a rule's channels, its query) still see it, so that one run
    reports every problem. The problems fail the load, so that model is never used."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_problem(doc, prefix, model, error, label) for error in errors]
        return _without_keys_in_error(model, data, errors), problems


def _without_keys_in_error(model: type[M], data: Any, errors: Sequence[Any]) -> M | None:
    """The model validated without the keys that the errors are in (they take their
    defaults); None when an error is in no key (the table as a whole), or when what is
    left is still not valid (a required key was wrong)."""
    pruned = copy.deepcopy(data)
    for error in errors:
        if not _drop_key(pruned, error["loc"]):
            return None
    try:
        return model.model_validate(pruned)
    except ValidationError:
        return None


def _drop_key(data: Any, loc: Sequence[str | int]) -> bool:
    """Remove the deepest key of a table on the path `loc` (an error inside an array
    removes the array's key); False when the path holds none. Parts that are not in the
    data, such as the tag of a union ("table"), are passed over."""
    node, found = data, None
    for part in loc:
        if isinstance(node, dict) and part in node:
            found = (node, part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
    if found is None:
        return False
    table, key = found
    table.pop(key, None)
    return True


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'X'?)' for the closest of `choices` to a misspelt `word`, else ''."""
    close = _closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


def known_names(word: str, choices: Iterable[str]) -> str:
    """' (known: A, B)', then ', did you mean 'A'?' when one is close to `word`."""
    names = sorted(choices)
    close = _closest(word, names)
    return f" (known: {', '.join(names)})" + (f", did you mean {close!r}?" if close else "")


def _closest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return close[0] if close else None


def _problem(
    doc: TomlDoc, prefix: Sequence[str | int], model: type[BaseModel], error: Any, label: str | None
) -> ConfigProblem:
    loc = [*prefix, *(part for part in error["loc"] if isinstance(part, str | int))]
    key = ".".join(str(p) for p in loc)
    where = f"{label}: " if label else ""
    message = where + _message(error, model)
    return ConfigProblem(doc.display, message, line=doc.line_of(loc), key=key)


def _message(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    field = error["loc"][-1] if error["loc"] else ""
    # The second names are those of dataclasses (a JSON source's mapping, paging, cursor).
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown key {field!r}" + did_you_mean(
            str(field), _keys_at(model, error["loc"][:-1])
        )
    if kind in ("missing", "missing_argument"):
        return f"missing required key {field!r}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _keys_at(model: type, loc: Sequence[str | int]) -> set[str]:
    """The keys valid in the table at `loc` inside `model`: its fields, or those of the
    model a field holds (directly, in a tuple, in a dict, in a union). Parts of `loc` that
    name no field (a dict key, an item's index, a union's tag) keep the current tables."""
    tables = [model]
    for part in loc:
        inner = [
            found
            for table in tables
            if isinstance(part, str) and part in _fields(table)
            for found in _tables_in(_fields(table)[part])
        ]
        tables = inner or tables
    return {name for table in tables for name in _fields(table)}


def _fields(table: type) -> dict[str, Any]:
    """Field names and types of a pydantic model or a dataclass."""
    if isinstance(table, type) and issubclass(table, BaseModel):
        return {name: info.annotation for name, info in table.model_fields.items()}
    if dataclasses.is_dataclass(table):
        hints = typing.get_type_hints(table)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(table)}
    return {}


def _tables_in(annotation: Any) -> list[type]:
    """The models and dataclasses an annotation holds, at any depth."""
    if isinstance(annotation, type) and _fields(annotation):
        return [annotation]
    return [table for arg in typing.get_args(annotation) for table in _tables_in(arg)]
