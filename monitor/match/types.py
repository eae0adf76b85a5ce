"""Public value types of the matching engine: rules, documents, matches and errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.fields import NO_FIELDS, Fields


@dataclass(frozen=True)
class RuleSpec:
    """One watch-rule as the config loader hands it over.

    ``languages``, ``sources`` and ``tags`` are filters applied before the query:
    an empty tuple accepts any document.
    """

    id: str
    query: str
    title: str = ""
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # The topic around the event: articles it finds are shown in digests, never alerted.
    related: str | None = None
    actors: tuple[str, ...] = ()  # kinds of actor that identify the event (see actors.py)


@dataclass(frozen=True)
class Document:
    """An article as seen by the rules: extracted title and text plus metadata."""

    title: str
    text: str
    source_id: str = ""
    source_name: str = ""
    lang: str | None = None
    tags: tuple[str, ...] = ()
    # Structured values (buyer, awardee, cpv, amount...): scopes such as ``awardee:`` and
    # comparisons such as ``amount >= 1000000`` test them.
    fields: Fields = NO_FIELDS
    # When the feed or the page dated the article (never when it was first seen):
    # ``EARLIER_YEAR`` compares the years a sentence names with its year.
    published: date | None = None


@dataclass(frozen=True)
class Passage:
    """A sentence (or the title) that made a rule fire, with the matched terms marked.

    ``marks`` are character offsets into ``text``, sorted and non-overlapping.
    """

    field: str
    text: str
    marks: tuple[tuple[int, int], ...]

    def segments(self) -> list[tuple[str, bool]]:
        """Split the text into ``(chunk, is_marked)`` pieces, so renderers can escape each."""
        pieces: list[tuple[str, bool]] = []
        cursor = 0
        for start, end in self.marks:
            if start > cursor:
                pieces.append((self.text[cursor:start], False))
            pieces.append((self.text[start:end], True))
            cursor = end
        if cursor < len(self.text):
            pieces.append((self.text[cursor:], False))
        return pieces

    def highlighted(self, left: str = "[[", right: str = "]]") -> str:
        """The text with every mark wrapped in ``left``/``right`` (plain-text rendering)."""
        return "".join(
            f"{left}{chunk}{right}" if marked else chunk for chunk, marked in self.segments()
        )

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "text": self.text, "marks": [list(m) for m in self.marks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        marks = tuple((int(start), int(end)) for start, end in data.get("marks", ()))
        return cls(field=str(data["field"]), text=str(data["text"]), marks=marks)


EVENT, RELATED = "event", "related"
Actors = tuple[tuple[str, tuple[str, ...]], ...]  # (kind, sorted canonical names) per kind


@dataclass(frozen=True)
class RuleMatch:
    """A rule that fired on a document: the best passages and the clauses that fired.

    ``tier`` is ``event`` when the rule's query fired (an alert), ``related`` when only
    its related query did (a line in the digest). ``actors`` are the names, per kind the
    rule declares, found in the title and the deciding sentences.
    """

    rule_id: str
    passages: tuple[Passage, ...]
    clauses: tuple[str, ...]
    tier: str = EVENT
    actors: Actors = ()

    @property
    def identifies_event(self) -> bool:
        """Every kind of actor the rule declares was named: the event is known by them."""
        return bool(self.actors) and all(names for _, names in self.actors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "passages": [p.to_dict() for p in self.passages],
            "clauses": list(self.clauses),
            "tier": self.tier,
            "actors": {kind: list(names) for kind, names in self.actors},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleMatch:
        actors = data.get("actors") or {}
        return cls(
            rule_id=str(data["rule_id"]),
            passages=tuple(Passage.from_dict(p) for p in data.get("passages", ())),
            clauses=tuple(str(c) for c in data.get("clauses", ())),
            tier=str(data.get("tier", EVENT)),
            actors=tuple(
                (str(kind), tuple(str(n) for n in names)) for kind, names in actors.items()
            ),
        )


class QueryError(Exception):
    """A query that cannot be compiled, with the 0-based position of the problem."""

    def __init__(self, message: str, position: int, query: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, min(position, len(query)))
        self.query = query

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})"

    def caret(self) -> str:
        """Two lines: the query line holding the error, and a ``^`` under the position.

        A multi-line query shows only the line of the error, labelled with its number,
        so the caret stays aligned.
        """
        lines = self.query.split("\n")
        line_no = self.query.count("\n", 0, self.position)
        line_start = self.query.rfind("\n", 0, self.position) + 1
        # Tabs would shift the caret by an unknown width; show them as single spaces.
        line = lines[line_no].replace("\t", " ")
        label = "query: " if len(lines) == 1 else f"query (line {line_no + 1}): "
        column = self.position - line_start
        return f"  {label}{line}\n  {' ' * (len(label) + column)}^"


class RuleSetError(Exception):
    """Every rule that failed to compile, collected before raising."""

    def __init__(self, errors: list[tuple[str, QueryError]]) -> None:
        self.errors = errors
        super().__init__(self._summary())

    def _summary(self) -> str:
        count = len(self.errors)
        lines = [f"{count} rule{'s' if count != 1 else ''} could not be compiled:"]
        for rule_id, error in self.errors:
            lines.append(f"rule '{rule_id}': {error.message}")
            lines.append(error.caret())
        return "\n".join(lines)
