"""Evaluate a syntax tree against one analysed document.

A query is evaluated within a *region*: a set of sentence numbers (None for the whole
document). Field scopes narrow the region, ``SENTENCE(q)`` evaluates ``q`` once per
sentence, so a NOT inside it only looks at that sentence. Positional nodes (terms,
lists, NEAR, OR of them) produce hits: token spans within one sentence that carry the
spans of the terms that formed them, used to mark passages.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from monitor.match.analysis import Analysis
from monitor.match.nodes import (
    And,
    AtLeast,
    Compare,
    Filter,
    ListRef,
    Near,
    Node,
    Not,
    Or,
    Scope,
    Sentence,
    Shape,
    Term,
    TermKey,
)

Span = tuple[int, int]
Region = frozenset[int] | None


class Hit(NamedTuple):
    start: int
    end: int
    sent: int
    marks: tuple[Span, ...]


class Outcome(NamedTuple):
    ok: bool
    marks: Sequence[Span]


FAILED = Outcome(False, ())


def without_nested(hits: Iterable[Hit]) -> list[Hit]:
    """Hits sorted by position, dropping any hit inside another one.

    ``@list`` holding both "Microsoft" and "Microsoft 365" then counts "Microsoft 365"
    once, which matters for ATLEAST and keeps marks from overlapping.
    """
    kept: list[Hit] = []
    furthest = -1
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.end > furthest:
            kept.append(hit)
            furthest = hit.end
    return kept


def language_matches(wanted: Iterable[str], lang: str | None) -> bool:
    """True when ``lang`` (``fr``, ``fr-FR``, ``fr_CA``) is, or has as primary, a wanted code."""
    value = (lang or "").lower().replace("_", "-")
    return any(w.lower() in (value, value.split("-")[0]) for w in wanted)


_COMPARE = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}


def compare_holds(node: Compare, value: object) -> bool:
    """Whether a field's value passes ``node``; a missing or non-numeric value never does."""
    return isinstance(value, float) and bool(_COMPARE[node.op](value, node.value))


class _SentenceHits:
    """The hits of one sentence sorted by start and by end, each with its input index.

    The index lets pairs be formed in the order of the input lists, so the first pair
    found for a span, whose marks are kept, is the same as with a nested loop.
    """

    def __init__(self, indexed: list[tuple[int, Hit]]) -> None:
        self.by_start = sorted(indexed, key=lambda item: (item[1].start, item[0]))
        self.by_end = sorted(indexed, key=lambda item: (item[1].end, item[0]))
        self.starts = [hit.start for _, hit in self.by_start]
        self.ends = [hit.end for _, hit in self.by_end]

    def starting_in(self, low: int, high: int) -> list[tuple[int, Hit]]:
        """Hits whose start is within ``[low, high]``."""
        return self.by_start[bisect_left(self.starts, low) : bisect_right(self.starts, high)]

    def ending_in(self, low: int, high: int) -> list[tuple[int, Hit]]:
        """Hits whose end is within ``[low, high]``."""
        return self.by_end[bisect_left(self.ends, low) : bisect_right(self.ends, high)]


def _by_sentence(hits: Sequence[Hit]) -> dict[int, _SentenceHits]:
    indexed: dict[int, list[tuple[int, Hit]]] = {}
    for index, hit in enumerate(hits):
        indexed.setdefault(hit.sent, []).append((index, hit))
    return {sent: _SentenceHits(items) for sent, items in indexed.items()}


def near_pairs(
    lefts: Sequence[Hit], rights: Sequence[Hit], distance: int, ordered: bool
) -> list[Hit]:
    """The hits of ``left NEAR/distance right`` (``ONEAR`` when ``ordered``), by position.

    A pair is within reach when the hits share a sentence, do not overlap and at most
    ``distance`` words separate them, the right one after the left one, or on either
    side when unordered. Rather than trying every right hit of the sentence for each left
    hit, which costs the square of a sentence's length (31 s on a 312 KB unpunctuated
    text), the right hits are sorted by start and by end once and each left hit looks up,
    by bisection, only those that start (or end) within ``distance`` words of it.
    """
    by_sentence = _by_sentence(rights)
    found: dict[Span, Hit] = {}
    for left in lefts:
        group = by_sentence.get(left.sent)
        if group is None:
            continue
        reachable = group.starting_in(left.end, left.end + distance)
        if not ordered:
            reachable += group.ending_in(left.start - distance, left.start)
        for _, right in sorted(reachable, key=lambda item: item[0]):
            start, end = min(left.start, right.start), max(left.end, right.end)
            if (start, end) not in found:
                found[(start, end)] = Hit(start, end, left.sent, left.marks + right.marks)
    return sorted(found.values())


class Evaluator:
    """Evaluates nodes over one document, given the token spans of each term."""

    def __init__(self, analysis: Analysis, occurrences: Mapping[TermKey, list[Span]]) -> None:
        self.analysis = analysis
        self.occurrences = occurrences
        self._term_hits: dict[TermKey, list[Hit]] = {}
        self._by_sentence: dict[TermKey, dict[int, list[Hit]]] = {}
        self._list_hits: dict[tuple[str, Region], list[Hit]] = {}

    # -- regions ---------------------------------------------------------------------

    def field_region(self, field: str) -> frozenset[int]:
        analysis = self.analysis
        if field == "title":
            return analysis.title_region
        if field == "lead":
            return analysis.lead_region
        if field == "text":
            return analysis.text_region
        return analysis.field_regions.get(field, frozenset())

    @staticmethod
    def narrow(region: Region, field_region: frozenset[int]) -> frozenset[int]:
        return field_region if region is None else region & field_region

    # -- positional nodes --------------------------------------------------------------

    def term_hits(self, key: TermKey, region: Region) -> list[Hit]:
        hits = self._term_hits.get(key)
        if hits is None:
            sent_of = self.analysis.sent_of
            spans = self.occurrences.get(key, ())
            hits = self._term_hits[key] = [Hit(s, e, sent_of[s], ((s, e),)) for s, e in spans]
        if region is None or not hits:
            return hits
        if len(region) == 1:
            (sentence,) = region
            return self._hits_by_sentence(key, hits).get(sentence, [])
        return [h for h in hits if h.sent in region]

    def _hits_by_sentence(self, key: TermKey, hits: list[Hit]) -> dict[int, list[Hit]]:
        grouped = self._by_sentence.get(key)
        if grouped is None:
            grouped = self._by_sentence[key] = {}
            for hit in hits:
                grouped.setdefault(hit.sent, []).append(hit)
        return grouped

    def hits(self, node: Node, region: Region) -> list[Hit]:
        """The hits of a positional node within ``region``."""
        if isinstance(node, Term):
            return self.term_hits(node.key, region)
        if isinstance(node, ListRef):
            return self.list_hits(node, region)
        if isinstance(node, Or):
            return without_nested(h for c in node.children for h in self.hits(c, region))
        if isinstance(node, Scope):
            return self.hits(node.child, self.narrow(region, self.field_region(node.field)))
        if isinstance(node, Near):
            return self.near_hits(node, region)
        raise TypeError(f"not a positional node: {node.text!r}")

    def list_hits(self, node: ListRef, region: Region) -> list[Hit]:
        # Rules of a rule set share their lists, so the hits of a list are shared too.
        cached = self._list_hits.get((node.name, region))
        if cached is None:
            hits = (h for t in node.terms for h in self.term_hits(t.key, region))
            cached = self._list_hits[(node.name, region)] = without_nested(hits)
        return cached

    def near_hits(self, node: Near, region: Region) -> list[Hit]:
        right_hits = self.hits(node.right, region)
        if not right_hits:
            return []
        return near_pairs(self.hits(node.left, region), right_hits, node.distance, node.ordered)

    # -- boolean nodes -----------------------------------------------------------------

    def evaluate(self, node: Node, region: Region = None) -> Outcome:
        """Whether ``node`` holds within ``region``, and the term spans that show it."""
        if node.positional:
            hits = self.hits(node, region)
            return Outcome(bool(hits), [m for h in hits for m in h.marks])
        if isinstance(node, And):
            return self.evaluate_and(node, region)
        if isinstance(node, Or):
            outcomes = [self.evaluate(c, region) for c in node.children]
            return Outcome(
                any(o.ok for o in outcomes), [m for o in outcomes if o.ok for m in o.marks]
            )
        if isinstance(node, Not):
            return Outcome(not self.evaluate(node.child, region).ok, [])
        if isinstance(node, Scope):
            return self.evaluate(node.child, self.narrow(region, self.field_region(node.field)))
        if isinstance(node, Sentence):
            return self.evaluate_sentences(node, region)
        if isinstance(node, AtLeast):
            hits = self.hits(node.child, region)
            return Outcome(len(hits) >= node.count, [m for h in hits for m in h.marks])
        if isinstance(node, Filter):
            return Outcome(self.filter_holds(node), [])
        if isinstance(node, Shape):
            return Outcome(bool(self.shaped_sentences(node, region)), [])
        if isinstance(node, Compare):
            return Outcome(compare_holds(node, self.analysis.doc.fields.get(node.field)), [])
        raise TypeError(f"unexpected node {node!r}")

    def evaluate_and(self, node: And, region: Region) -> Outcome:
        marks: list[Span] = []
        for child in node.children:
            outcome = self.evaluate(child, region)
            if not outcome.ok:
                return FAILED
            marks.extend(outcome.marks)
        return Outcome(True, marks)

    def candidate_sentences(self, node: Sentence, region: Region) -> list[int]:
        """Sentences of ``region`` that contain one of the terms ``node`` requires."""
        if node.trigger is None:
            every = range(len(self.analysis.sentences))
            return sorted(every if region is None else region)
        sent_of = self.analysis.sent_of
        found = {sent_of[s] for key in node.trigger for s, _ in self.occurrences.get(key, ())}
        return sorted(found if region is None else found & region)

    def evaluate_sentences(self, node: Sentence, region: Region) -> Outcome:
        marks: list[Span] = []
        fired = False
        for sentence in self.candidate_sentences(node, region):
            outcome = self.evaluate(node.child, frozenset((sentence,)))
            if outcome.ok:
                fired = True
                marks.extend(outcome.marks)
        return Outcome(fired, marks)

    def shaped_sentences(self, node: Shape, region: Region) -> list[int]:
        """The sentences of ``region`` that are questions (or quotations)."""
        analysis = self.analysis
        sentences = range(len(analysis.sentences)) if region is None else sorted(region)
        return [s for s in sentences if analysis.has_shape(s, node.kind)]

    def filter_holds(self, node: Filter) -> bool:
        doc = self.analysis.doc
        if node.field == "source":
            value = (doc.source_id or "").lower()
            return value.startswith(node.value) if node.prefix else value == node.value
        return language_matches((node.value,), doc.lang)

    # -- reporting ---------------------------------------------------------------------

    def fired_clauses(self, node: Node, region: Region = None) -> list[str]:
        """The positive clauses that fired, as query text, descending through AND/OR."""
        if isinstance(node, And):
            return [
                t
                for c in node.children
                if not isinstance(c, Not)
                for t in self.fired_clauses(c, region)
            ]
        if isinstance(node, Or):
            fired = [c for c in node.children if self.evaluate(c, region).ok]
            return [t for c in fired for t in self.fired_clauses(c, region)]
        return [node.text]
