"""Turn pydantic validation errors into located, readable config problems."""

from __future__ import annotations

from collections.abc import Sequence
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
    """Validate `data` found at `prefix` in `doc`; return the model or the problems."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(doc, prefix, error, label) for error in exc.errors()]


def _problem(
    doc: TomlDoc, prefix: Sequence[str | int], error: Any, label: str | None
) -> ConfigProblem:
    loc = [*prefix, *(part for part in error["loc"] if isinstance(part, str | int))]
    key = ".".join(str(p) for p in loc)
    where = f"{label}: " if label else ""
    return ConfigProblem(doc.display, where + _message(error), line=doc.line_of(loc), key=key)


def _message(error: Any) -> str:
    kind = error["type"]
    field = error["loc"][-1] if error["loc"] else ""
    # The second names are those of dataclasses (a JSON source's mapping, paging, cursor).
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown key {field!r}"
    if kind in ("missing", "missing_argument"):
        return f"missing required key {field!r}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
