"""The words of an article as the rules look them up, computed once and stored with it.

A rule can only fire on an article where one of its trigger terms occurs (see
``triggers``), and whether a term *can* occur only depends on which words the article
holds: its folded tokens and their lemma keys. That set, the article's *vocabulary*,
is computed when the article is matched on arrival and stored next to it (a few
kilobytes, compressed), so a backtest reads it instead of re-analysing the text: it
re-analyses only the articles whose vocabulary holds a trigger of the replayed rules.

The stored value is tagged with ``VERSION``. It changes with the lemmatizer's release
and with ``FORMAT``, which must be bumped whenever tokenizing, folding or lemma keys
change: a row of another version is analysed again when read, and rewritten.
"""

from __future__ import annotations

import zlib

import simplemma

from monitor.match.analysis import Analysis
from monitor.match.lemmas import LEMMA_LANGUAGES, lemma_keys

FORMAT = 1
# A signed 32-bit integer, so that every database stores it as a plain INTEGER.
VERSION = zlib.crc32(f"{FORMAT}:{simplemma.__version__}:{LEMMA_LANGUAGES}".encode()) & 0x7FFFFFFF
# Keys are folded words and lemmas: they never hold a line break.
_SEPARATOR = "\n"

Vocabulary = frozenset[str]


def vocabulary_of(analysis: Analysis) -> Vocabulary:
    """The folded tokens of ``analysis`` and the lemma keys of its distinct words."""
    keys = set(analysis.surfaces)
    for raw in set(analysis.raws):
        keys |= lemma_keys(raw)
    return frozenset(keys)


def encode(vocabulary: Vocabulary) -> bytes:
    """Sorted, one key a line, deflated: the same words always give the same bytes."""
    return zlib.compress(_SEPARATOR.join(sorted(vocabulary)).encode(), 6)


def decode(blob: bytes) -> Vocabulary:
    text = zlib.decompress(blob).decode()
    return frozenset(text.split(_SEPARATOR)) if text else frozenset()
