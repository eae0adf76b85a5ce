"""Find every term of every rule in a document in one pass.

Single words are looked up by dict: exact words by folded form, bare words by lemma
key (each distinct word of the article is lemmatized once). Phrases and wildcards go
through one Aho-Corasick automaton run over the folded tokens of the article, whatever
the number of rules. ``scan_term`` is the slow, obvious version used to check it.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

from monitor.match.analysis import Analysis
from monitor.match.evaluate import Span
from monitor.match.lemmas import lemma_keys
from monitor.match.nodes import Term, TermKey
from monitor.match.normalize import remember, surface
from monitor.match.vocabulary import Vocabulary

Occurrences = dict[TermKey, list[Span]]


def automaton_pattern(term: Term) -> str:
    """The text searched for a phrase or wildcard in ``Analysis.surface_index``.

    A leading space anchors the first word's start; a trailing space anchors the last
    word's end unless it is a prefix wildcard.
    """
    return " " + " ".join(term.tokens) + ("" if term.prefix else " ")


class TermIndex:
    """Lookup structures for a set of terms, built once per rule set."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.lemma_index: dict[str, list[TermKey]] = {}
        self.word_index: dict[str, list[TermKey]] = {}
        self.automaton = ahocorasick.Automaton()
        self._terms_by_raw: dict[str, tuple[TermKey, ...]] = {}
        self.terms: dict[TermKey, Term] = {}
        for term in terms:
            if term.key not in self.terms:
                self.terms[term.key] = term
                self._add(term)
        self.has_patterns = len(self.automaton) > 0
        if self.has_patterns:
            self.automaton.make_automaton()

    def _add(self, term: Term) -> None:
        if not term.exact:
            for key in term.lemmas:
                self.lemma_index.setdefault(key, []).append(term.key)
        elif len(term.tokens) == 1 and not term.prefix:
            self.word_index.setdefault(term.tokens[0], []).append(term.key)
        else:
            pattern = automaton_pattern(term)
            self.automaton.add_word(pattern, (term.key, len(term.tokens), len(pattern)))

    def find(self, analysis: Analysis) -> Occurrences:
        """Token spans of every indexed term present in ``analysis``, sorted."""
        found: Occurrences = {}
        self._find_words(analysis, found)
        if self.has_patterns:
            self._find_patterns(analysis, found)
        for spans in found.values():
            spans.sort()
        return found

    def may_occur(self, key: TermKey, vocabulary: Vocabulary) -> bool:
        """False when term ``key`` cannot occur in an article of this vocabulary (a
        phrase whose words are all there may still not occur: that is for ``find``)."""
        term = self.terms[key]
        if not term.exact:
            return not vocabulary.isdisjoint(term.lemmas)
        *head, last = term.tokens
        if not vocabulary.issuperset(head):
            return False
        if term.prefix:
            return any(word.startswith(last) for word in vocabulary)
        return last in vocabulary

    def terms_of_word(self, raw: str) -> tuple[TermKey, ...]:
        """The single-word terms a raw token matches (cached: articles share words)."""
        keys = self._terms_by_raw.get(raw)
        if keys is not None:
            return keys
        found = set(self.word_index.get(surface(raw), ()))
        if self.lemma_index:
            for lemma in lemma_keys(raw):
                found.update(self.lemma_index.get(lemma, ()))
        return remember(self._terms_by_raw, raw, tuple(found))

    def _find_words(self, analysis: Analysis, found: Occurrences) -> None:
        cache = self._terms_by_raw
        matched = {}
        for raw in set(analysis.raws):
            keys = cache.get(raw)
            if keys is None:
                keys = self.terms_of_word(raw)
            if keys:
                matched[raw] = keys
        if not matched:
            return
        raws = analysis.raws
        for position in [p for p, raw in enumerate(raws) if raw in matched]:
            for key in matched[raws[position]]:
                found.setdefault(key, []).append((position, position + 1))

    def _find_patterns(self, analysis: Analysis, found: Occurrences) -> None:
        text = analysis.surface_text()
        for end, (key, length, pattern_length) in self.automaton.iter(text):
            # The pattern's first character is the space before its first word.
            position = analysis.token_at(end - pattern_length + 2)
            found.setdefault(key, []).append((position, position + length))


def scan_term(term: Term, analysis: Analysis, token_lemmas: list[frozenset[str]]) -> list[Span]:
    """Token spans of ``term`` found by trying every position (reference implementation).

    ``token_lemmas`` holds the lemma keys of every token of ``analysis``.
    """
    spans: list[Span] = []
    size = len(term.tokens)
    for start in range(len(analysis.surfaces)):
        end = start + size
        if end > len(analysis.surfaces) or analysis.sent_of[end - 1] != analysis.sent_of[start]:
            continue
        if term.exact:
            words = analysis.surfaces[start:end]
            head_ok = words[:-1] == list(term.tokens[:-1])
            last, wanted = words[-1], term.tokens[-1]
            if head_ok and (last.startswith(wanted) if term.prefix else last == wanted):
                spans.append((start, end))
        elif token_lemmas[start] & term.lemmas:
            spans.append((start, end))
    return spans
