"""Labeled articles in JSON Lines, one article a line.

The format is the one of the shared real-press sets: ``id``, ``url``, ``lang``,
``title``, ``text``, ``date``, ``story``, ``why``, and one boolean column per rule
(``r1``, ``r2``… or the rule's id). A rule finds its column through its ``label`` key
(default: its id); a ``labels`` object ``{"rule-id": true}`` works too, and is what
`monitor feedback export` writes. A ``why`` starting with ``[POS-BORDERLINE]`` (or
``"borderline": true``) marks a positive that a reasonable reader could also call
negative: either verdict of the rule counts as right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

MAX_LINE = 200_000  # characters: a labeled excerpt is a few thousand
BORDERLINE_MARK = "[POS-BORDERLINE]"
_KNOWN = frozenset({"id", "url", "lang", "title", "text", "date", "story", "why", "labels"})


@dataclass(frozen=True)
class LabeledArticle:
    id: str
    title: str
    text: str
    labels: Mapping[str, bool]  # column or rule id -> is the rule's event
    lang: str | None = None
    url: str | None = None
    published: date | None = None
    story: str | None = None
    why: str = ""
    borderline: bool = False
    line: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # other keys, written back as read

    def label(self, *keys: str) -> bool | None:
        """The first of ``keys`` this article is labeled for, or None."""
        for key in keys:
            if key in self.labels:
                return self.labels[key]
        return None


@dataclass(frozen=True)
class LabelProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def read_labeled(path: Path) -> tuple[list[LabeledArticle], list[LabelProblem]]:
    """Every well-formed article of ``path``, and what is wrong with the other lines."""
    articles: list[LabeledArticle] = []
    problems: list[LabelProblem] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                article = parse_line(line, number)
            except ValueError as exc:
                problems.append(LabelProblem(str(path), number, str(exc)))
                continue
            if article.id in seen:
                problems.append(
                    LabelProblem(
                        str(path),
                        number,
                        f"id {article.id!r} already used on line {seen[article.id]}",
                    )
                )
                continue
            seen[article.id] = number
            articles.append(article)
    return articles, problems


def parse_line(line: str, number: int = 0) -> LabeledArticle:
    if len(line) > MAX_LINE:
        raise ValueError(f"line longer than {MAX_LINE} characters")
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    ident, text = data.get("id"), data.get("text")
    if not isinstance(ident, str) or not ident:
        raise ValueError("missing 'id'")
    if not isinstance(text, str):
        raise ValueError(f"{ident}: missing 'text'")
    labels = _labels(data)
    if not labels:
        raise ValueError(f'{ident}: no label (a boolean column such as "r1", or "labels")')
    why = _optional_str(data, "why") or ""
    return LabeledArticle(
        id=ident,
        title=_optional_str(data, "title") or "",
        text=text,
        labels=labels,
        lang=_optional_str(data, "lang"),
        url=_optional_str(data, "url"),
        published=_date(data.get("date"), ident),
        story=_optional_str(data, "story"),
        why=why,
        borderline=data.get("borderline") is True or why.startswith(BORDERLINE_MARK),
        line=number,
        extra={k: v for k, v in data.items() if k not in _KNOWN and not isinstance(v, bool)},
    )


def _labels(data: Mapping[str, Any]) -> dict[str, bool]:
    labels = {k: v for k, v in data.items() if isinstance(v, bool) and k != "borderline"}
    given = data.get("labels")
    if isinstance(given, dict):
        labels.update({str(k): v for k, v in given.items() if isinstance(v, bool)})
    return labels


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _date(value: object, ident: str) -> date | None:
    """YYYY-MM-DD; a month (YYYY-MM) or a year (YYYY) is taken as its first day."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{ident}: 'date' must be YYYY-MM-DD or null")
    text = value[:10]
    padded = text + "-01-01"[len(text) - 4 :] if len(text) in (4, 7) else text
    try:
        return date.fromisoformat(padded)
    except ValueError:
        raise ValueError(f"{ident}: 'date' {value!r} is not YYYY-MM-DD") from None


def write_labeled(articles: Iterable[LabeledArticle], out: TextIO) -> int:
    """Write ``articles`` as JSON Lines that `read_labeled` reads back; return the count."""
    count = 0
    for article in articles:
        record: dict[str, Any] = {
            "id": article.id,
            "url": article.url,
            "lang": article.lang,
            "title": article.title,
            "text": article.text,
            "date": article.published.isoformat() if article.published else None,
            "story": article.story,
            "why": article.why,
            "labels": dict(article.labels),
            **article.extra,
        }
        if article.borderline and not article.why.startswith(BORDERLINE_MARK):
            record["borderline"] = True
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
