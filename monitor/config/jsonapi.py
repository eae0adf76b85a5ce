"""How a JSON source's records are read: the tables ``mapping``, ``paging`` and
``cursor`` of a source of kind ``json`` (see docs/sources-json.md).

Configuration, checked when it loads; `monitor.parse.jsonapi` reads the pages with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ConfigDict

MAX_STEPS = 16  # keys in one path
# Parsed like the config's own tables: an unknown key is an error, not a silent no-op.
_STRICT = ConfigDict(extra="forbid")

Paths = str | tuple[str, ...]  # one path, or several read in turn


@dataclass(frozen=True)
class RecordMapping:
    """Where each part of an item is in a record; paths as `monitor.parse.jsonapi` describes."""

    __pydantic_config__ = _STRICT

    records: str  # the list of records in the body ("" when the body is the list)
    id: Paths  # several paths: their values joined by "/" (a buyer's number and its own id)
    title: str
    date: str | None = None
    link: str | None = None
    link_template: str | None = None  # "https://…/{id}", for records without a link
    text: Paths = ()
    fields: Mapping[str, Paths] = field(default_factory=dict)  # structured texts
    numbers: Mapping[str, Paths] = field(default_factory=dict)  # structured numbers
    empty: tuple[str, ...] = ()  # values meaning "none" (the DECP writes "CDL")
    # Keep a record only when each named field has a word starting with one of the
    # entries, case and accents ignored: {"cpv": ("48", "72")}.
    require: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Paging:
    """How the API pages: by offset and limit, by a link to the next page, or not at all."""

    __pydantic_config__ = _STRICT

    style: Literal["offset", "next", "none"] = "offset"
    limit: int = 100  # records asked per page
    limit_param: str = "limit"
    offset_param: str = "offset"
    max_offset: int | None = None  # offset + limit may not pass it (Opendatasoft: 10,000)
    total: str | None = None  # path of the number of matching records
    next: str | None = None  # style "next": path of the next page's URL
    max_pages: int = 5  # pages read in one pass; the cursor resumes after them


@dataclass(frozen=True)
class CursorSpec:
    """The field a source's cursor follows and how it becomes a query condition."""

    __pydantic_config__ = _STRICT

    field: str  # path of a date in each record, read in increasing order by the query
    param: str  # the query parameter the condition goes to ("where")
    template: str  # the condition, with {value}: "dateparution >= date'{value}'"
