"""JSON APIs into feed items, by a declarative mapping. Pure: no I/O.

A source of kind ``json`` (or a preset: ``boamp``, ``decp``) is an API answering pages
of records. For each page, ``parse_page`` reads the records at ``mapping.records``,
turns each into a ``FeedItem`` (id, title, date, link, text and structured fields,
each read at a path of the record) and says which URL gives the next page. Between
passes a ``Cursor`` remembers the newest value of one field (a publication date) and
the ids already read at that value, and ``first_url`` turns it into a condition of
the next pass's first request, so each pass asks only for what is new.

A path is keys joined by dots: ``links.next``, ``donnees.EFORMS.ContractNotice``. A
step into a list applies to each element, and a step into a string holding JSON (the
BOAMP's ``donnees``) reads that JSON. Everything is bounded: the body, the records of
a page, the length of paths, embedded JSON, the values of a field and their length.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from monitor.config.jsonapi import MAX_STEPS, CursorSpec, Paging, Paths, RecordMapping
from monitor.errors import ParseError
from monitor.fields import Fields
from monitor.match.normalize import raw_tokens, surface
from monitor.parse.dates import iso_date
from monitor.parse.identity import entry_key, is_http
from monitor.parse.jsondoc import load_json
from monitor.parse.limits import MAX_TITLE
from monitor.parse.text import clean_text
from monitor.records import FeedItem

MAX_BODY = 20_000_000  # bytes of one page
MAX_RECORDS = 5_000  # records read from one page
MAX_EMBEDDED = 2_000_000  # characters of a JSON string a path reads into
MAX_VALUES = 50  # values of one field
MAX_VALUE = 2_000  # characters of one value
MAX_TEXT = 50_000  # characters of an item's text
MAX_SEEN = 5_000  # ids remembered at the cursor's value
MAX_WARNINGS = 20  # problems listed one by one; the rest are counted
MAX_ERROR_BODY = 100_000  # an error message is short: a larger body is not one
# A cursor value goes into a query (ODSQL): digits, date and time punctuation only.
_CURSOR_VALUE = re.compile(r"[0-9][0-9T:.+\-Z ]{0,40}")
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


@dataclass(frozen=True)
class Cursor:
    """What a source remembers between passes: the newest value read, and the ids
    already read at that value (records of that value are asked for again, because
    more may come; those ids are skipped)."""

    value: str
    seen: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "seen": list(self.seen)}

    @classmethod
    def from_dict(cls, data: object) -> Cursor | None:
        """The cursor saved by ``to_dict``; None for anything else (a lost cursor
        costs a look back, never a crash)."""
        if not isinstance(data, dict) or not isinstance(data.get("value"), str):
            return None
        if not _CURSOR_VALUE.fullmatch(data["value"]):
            return None
        seen = data.get("seen")
        ids = tuple(str(i) for i in seen) if isinstance(seen, list) else ()
        return cls(data["value"], ids[-MAX_SEEN:])


@dataclass(frozen=True)
class JsonPage:
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...]
    next_url: str | None  # None: this pass reads no further
    marks: tuple[tuple[str, str], ...] = ()  # (id, cursor value) of each record read
    total: int | None = None  # matching records, when the API says


# -- requests ---------------------------------------------------------------------------------


def start_cursor(now: datetime, lookback: timedelta) -> Cursor:
    """The cursor of a source's first pass: the day ``lookback`` before ``now``."""
    return Cursor((now - lookback).date().isoformat())


def first_url(
    url: str,
    params: Mapping[str, str],
    paging: Paging,
    spec: CursorSpec | None = None,
    cursor: Cursor | None = None,
) -> str:
    """The first page of a pass: the source's parameters, the cursor's condition (ANDed
    with a condition the parameters already give) and the page size."""
    query = dict(params)
    if spec is not None and cursor is not None:
        condition = spec.template.format(value=cursor.value)
        before = query.get(spec.param)
        query[spec.param] = f"({before}) AND ({condition})" if before else condition
    if paging.style != "none":
        query[paging.limit_param] = str(paging.limit)
    if paging.style == "offset":
        query[paging.offset_param] = "0"
    return with_params(url, query)


def with_params(url: str, updates: Mapping[str, str]) -> str:
    """``url`` with the query parameters in ``updates`` set (replacing any of that name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in updates]
    query += list(updates.items())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def next_cursor(cursor: Cursor | None, marks: Iterable[tuple[str, str]]) -> Cursor | None:
    """The cursor after a pass: the newest value among the marks (or the old one), with
    the ids read at that value."""
    value = cursor.value if cursor else None
    newest = iso_date(value)
    ids = dict.fromkeys(cursor.seen if cursor else ())
    for ident, candidate in marks:
        when = iso_date(candidate)
        if when is None:
            continue
        if newest is None or when > newest:
            value, newest, ids = candidate, when, {ident: None}
        elif when == newest:
            ids[ident] = None
    return None if value is None else Cursor(value, tuple(ids)[-MAX_SEEN:])


def api_error(body: bytes) -> str | None:
    """The message of an API error body: Opendatasoft answers
    ``{"error_code": "...", "message": "..."}``; None when the body is not one."""
    if len(body) > MAX_ERROR_BODY:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    code = data.get("error_code")
    message = clean_text(data["message"])[:MAX_VALUE]
    return f"{code}: {message}" if isinstance(code, str) else message


# -- pages ------------------------------------------------------------------------------------


def parse_page(
    body: bytes,
    *,
    url: str,
    mapping: RecordMapping,
    paging: Paging,
    page: int = 1,
    spec: CursorSpec | None = None,
    cursor: Cursor | None = None,
    max_items: int = MAX_RECORDS,
    source_id: str = "",
) -> JsonPage:
    """The items of one page (the ``page``-th of this pass, fetched from ``url``), the
    next page's URL and the cursor marks. A record that cannot be read is skipped with
    a warning naming it; a body that is not JSON, or not the expected shape, raises
    ParseError."""
    document = _load(body, url, source_id)
    records = values_at(document, mapping.records, {}) if mapping.records else [document]
    if len(records) != 1 or not isinstance(records[0], list):
        raise ParseError(source_id, f"no list of records at {mapping.records!r} in {url}")
    reader = _Reader(mapping, spec, cursor)
    for index, record in enumerate(records[0][: min(max_items, MAX_RECORDS)]):
        reader.read(index, record)
    total = _int(_first(values_at(document, paging.total, {}))) if paging.total else None
    next_url, stop = _next_url(document, url, paging, page, len(records[0]), total)
    warnings = reader.warnings + ([stop] if stop else [])
    return JsonPage(tuple(reader.items), _listed(warnings), next_url, tuple(reader.marks), total)


def _load(body: bytes, url: str, source_id: str) -> Any:
    if len(body) > MAX_BODY:
        raise ParseError(source_id, f"page of {len(body):,} bytes from {url}: over {MAX_BODY:,}")
    document = load_json(body, url, source_id)
    error = api_error(body) if isinstance(document, dict) and "error_code" in document else None
    if error:
        raise ParseError(source_id, f"{url} answered an error: {error}")
    return document


def _listed(warnings: list[str]) -> tuple[str, ...]:
    shown = warnings[:MAX_WARNINGS]
    more = len(warnings) - len(shown)
    return tuple(shown + ([f"and {more} more problems"] if more > 0 else []))


def values_at(node: Any, path: str, embedded: dict[int, Any]) -> list[Any]:
    """The values at ``path`` below ``node``: lists along the way are walked element by
    element, JSON held in a string is read (once per string, cached in ``embedded``)."""
    steps = path.split(".")
    if len(steps) > MAX_STEPS:
        return []  # the configuration refuses such paths; a caller's own is not followed
    current = [node]
    for step in steps:
        found = []
        for value in _elements(current, embedded):
            if isinstance(value, dict) and step in value:
                found.append(value[step])
        current = found
    return current


def _elements(values: list[Any], embedded: dict[int, Any]) -> Iterable[Any]:
    for value in values:
        value = _read_embedded(value, embedded)
        if isinstance(value, list):
            yield from (_read_embedded(v, embedded) for v in value[:MAX_RECORDS])
        else:
            yield value


def _read_embedded(value: Any, embedded: dict[int, Any]) -> Any:
    if not isinstance(value, str) or value[:1] not in ("{", "[") or len(value) > MAX_EMBEDDED:
        return value
    if id(value) not in embedded:
        try:
            embedded[id(value)] = json.loads(value)
        except (ValueError, RecursionError):
            embedded[id(value)] = value
    return embedded[id(value)]


def _scalars(values: list[Any]) -> list[str | int | float]:
    """The texts and numbers among ``values``, lists flattened (booleans are not values)."""
    found: list[str | int | float] = []
    stack = list(reversed(values))
    while stack and len(found) < MAX_VALUES:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value[:MAX_VALUES]))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            found.append(value)
    return found


def _first(values: list[Any]) -> str | int | float | None:
    scalars = _scalars(values)
    return scalars[0] if scalars else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _next_url(
    document: Any, url: str, paging: Paging, page: int, count: int, total: int | None
) -> tuple[str | None, str | None]:
    """The next page's URL, or None with, when the pass stops short, why."""
    if paging.style == "none":
        return None, None
    if paging.style == "next":
        link = _first(values_at(document, paging.next, {})) if paging.next else None
        if not isinstance(link, str) or not link.strip():
            return None, None
        target = urljoin(url, link.strip())
        if urlsplit(target).netloc != urlsplit(url).netloc or not is_http(target):
            return None, f"next page {target} is not on the source's host: not followed"
        return _unless_last(target, page, paging)
    following = _offset(url, paging) + paging.limit
    if count < paging.limit or (total is not None and following >= total):
        return None, None
    if paging.max_offset is not None and following + paging.limit > paging.max_offset:
        return None, (
            f"stopped at record {following:,}: the API reads no further than "
            f"{paging.max_offset:,}; narrow the filter"
        )
    return _unless_last(with_params(url, {paging.offset_param: str(following)}), page, paging)


def _offset(url: str, paging: Paging) -> int:
    raw = dict(parse_qsl(urlsplit(url).query)).get(paging.offset_param, "0")
    return int(raw) if raw.isdigit() else 0


def _unless_last(target: str, page: int, paging: Paging) -> tuple[str | None, str | None]:
    if page >= paging.max_pages:
        return None, f"read {page} pages, the most a pass reads; the rest comes on the next pass"
    return target, None


class _Record:
    """One record, read at paths; the JSON held in its strings is parsed once."""

    def __init__(self, data: dict[str, Any], empty: frozenset[str]) -> None:
        self.data = data
        self.empty = empty
        self.embedded: dict[int, Any] = {}

    def texts(self, paths: Paths) -> list[str]:
        """The non-empty texts (numbers written out) at ``paths``, in order."""
        texts = []
        for path in (paths,) if isinstance(paths, str) else paths:
            for value in _scalars(values_at(self.data, path, self.embedded)):
                text = clean_text(value if isinstance(value, str) else _number_text(value))
                if text and text not in self.empty:
                    texts.append(text[:MAX_VALUE])
        return texts[:MAX_VALUES]

    def text(self, path: str | None) -> str | None:
        texts = self.texts(path) if path else []
        return texts[0] if texts else None


class _Reader:
    """Records into items, collecting warnings and cursor marks."""

    def __init__(self, mapping: RecordMapping, spec: CursorSpec | None, cursor: Cursor | None):
        self.mapping = mapping
        self.spec = spec
        self.cursor_at = iso_date(cursor.value) if cursor else None
        self.seen = frozenset(cursor.seen) if cursor else frozenset()
        self.empty = frozenset(mapping.empty)
        self.items: list[FeedItem] = []
        self.warnings: list[str] = []
        self.marks: list[tuple[str, str]] = []

    def read(self, index: int, data: Any) -> None:
        if not isinstance(data, dict):
            self.warnings.append(f"record {index}: not an object, skipped")
            return
        record = _Record(data, self.empty)
        paths = (self.mapping.id,) if isinstance(self.mapping.id, str) else self.mapping.id
        parts = [record.text(path) for path in paths]
        ident = None if None in parts else "/".join(map(str, parts))
        if ident is None:
            self.warnings.append(f"record {index}: no id at {self.mapping.id!r}, skipped")
            return
        where = f"record {index} ({ident})"
        if self._already_read(record, ident, where):
            return
        item = self._item(record, ident, where)
        if item is not None and self._required(item.fields):
            self.items.append(item)

    def _already_read(self, record: _Record, ident: str, where: str) -> bool:
        """Mark the record for the cursor; True when the cursor says it was read before."""
        if self.spec is None:
            return False
        value = record.text(self.spec.field)
        if value is None or not _CURSOR_VALUE.fullmatch(value) or iso_date(value) is None:
            self.warnings.append(f"{where}: no date at {self.spec.field!r} for the cursor")
            return False
        self.marks.append((ident, value))
        return ident in self.seen and iso_date(value) == self.cursor_at

    def _item(self, record: _Record, ident: str, where: str) -> FeedItem | None:
        mapping = self.mapping
        title = (record.text(mapping.title) or "")[:MAX_TITLE]
        text = "\n".join(record.texts(mapping.text))[:MAX_TEXT]
        if not title and not text:
            self.warnings.append(f"{where}: neither title nor text, skipped")
            return None
        raw = record.text(mapping.date)
        published = iso_date(raw)
        if raw is not None and published is None:
            self.warnings.append(f"{where}: {raw!r} at {mapping.date!r} is not a date")
        return FeedItem(
            key=entry_key(ident, None, title, text),
            url=self._link(record, ident, where),
            title=title,
            summary=text,
            guid=ident,
            published=published,
            fields=self._fields(record, where),
        )

    def _link(self, record: _Record, ident: str, where: str) -> str | None:
        link = record.text(self.mapping.link)
        if link is not None and not is_http(link):
            self.warnings.append(f"{where}: link {link[:80]!r} is not an http(s) address")
            link = None
        if link is None and self.mapping.link_template:
            link = self.mapping.link_template.format(id=quote(ident, safe=""))
        return link

    def _fields(self, record: _Record, where: str) -> Fields:
        found: dict[str, str | float | tuple[str, ...]] = {}
        for name, paths in self.mapping.fields.items():
            values = tuple(dict.fromkeys(record.texts(paths)))
            if values:
                found[name] = values[0] if len(values) == 1 else values
        for name, paths in self.mapping.numbers.items():
            texts = record.texts(paths)
            number = _number(texts[0]) if texts else None
            if number is not None:
                found[name] = number
            elif texts:
                self.warnings.append(f"{where}: {texts[0][:40]!r} in {name!r} is not a number")
        return Fields(found)

    def _required(self, fields: Fields) -> bool:
        return all(
            any(_starts_a_word(value, prefixes) for value in fields.texts(name))
            for name, prefixes in self.mapping.require.items()
            if prefixes
        )


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _number(text: str) -> float | None:
    """A number written in a record: "1250000", "1250000.5", the French "1 250 000,5"."""
    compact = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    return float(compact.replace(",", ".")) if _NUMBER.fullmatch(compact) else None


def _starts_a_word(value: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``value`` has words starting like one of ``prefixes`` (which may be
    several words: "centre hospit"), case, accents and punctuation ignored."""
    words = " " + " ".join(map(surface, raw_tokens(value)))
    return any(" " + " ".join(map(surface, raw_tokens(p))) in words for p in prefixes)
