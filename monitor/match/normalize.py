"""Text to tokens and sentences, the same way for queries and documents.

Matching is insensitive to case, accents and punctuation: a token is a run of letters
and digits, and its *surface* form is lower-cased with accents and ligatures removed.
Apostrophes (straight or typographic) and hyphens separate tokens, so French elision
yields the word after the apostrophe as a token of its own (``l'Éducation`` gives
``l`` + ``education``) and ``Microsoft-365`` gives ``microsoft`` + ``365``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Letters and digits, plus characters that may sit inside a word without splitting it:
# combining accents (decomposed text), the soft hyphen and zero-width joiners.
_IN_WORD_MARKS = "\u0300-\u036f\u00ad\u200b-\u200d\u2060"
TOKEN_RE = re.compile(rf"(?:[^\W_]|[{_IN_WORD_MARKS}])+")
_STRIP_RE = re.compile(rf"[{_IN_WORD_MARKS}]")
# Same tokens as TOKEN_RE on text without in-word marks, and several times faster.
PLAIN_TOKEN_RE = re.compile(r"[^\W_]+")


def token_pattern(text: str) -> re.Pattern[str]:
    """The fastest pattern that tokenizes ``text`` like TOKEN_RE."""
    return TOKEN_RE if _STRIP_RE.search(text) else PLAIN_TOKEN_RE


# casefold() already maps ß to ss; these letters have no decomposition in NFKD.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})

# Word caches are emptied past this size: a long-running service meets an open-ended
# vocabulary (names, typos), and recomputing a word now and then is cheap.
CACHE_LIMIT = 200_000
_SURFACE_CACHE: dict[str, str] = {}


def remember(cache: dict[K, V], key: K, value: V) -> V:
    """Store ``value`` in a word cache, emptying the cache first when it is full."""
    if len(cache) > CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def fold(word: str) -> str:
    """Lower-case ``word`` and remove accents, ligatures and in-word invisible marks."""
    text = unicodedata.normalize("NFKD", word.casefold())
    return _STRIP_RE.sub("", text).translate(_LIGATURES)


def surface(raw: str) -> str:
    """The folded form of a raw token, cached because articles repeat their words."""
    cached = _SURFACE_CACHE.get(raw)
    return cached if cached is not None else remember(_SURFACE_CACHE, raw, fold(raw))


def surface_cache() -> dict[str, str]:
    """The raw-to-folded cache, for hot loops that look it up before calling ``surface``."""
    return _SURFACE_CACHE


def raw_tokens(text: str) -> list[str]:
    """The tokens of ``text`` as written (unfolded), skipping invisible-only runs."""
    return [m.group() for m in TOKEN_RE.finditer(text) if surface(m.group())]


def tokenize(text: str) -> list[str]:
    """Folded tokens of ``text`` (used for query words, phrases and list entries)."""
    return [surface(raw) for raw in raw_tokens(text)]


# --- sentences --------------------------------------------------------------------

# Abbreviations whose period does not end the sentence: titles before names and
# common French and English abbreviations. Single letters are initials ("J. Dupont",
# "S.A.") and are handled apart.
_ABBREVIATIONS_TEXT = """m mm mme mmes mlle mlles dr pr me mgr st ste cie cf av bd env ex
    mr mrs ms prof gen gov sen rep jr sr vs"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
# These only introduce a number ("p. 12", "No. 5"); before anything else the period
# may well end the sentence ("he said no.").
NUMBER_ABBREVIATIONS = frozenset(["p", "pp", "no", "n°", "vol", "art", "fig", "chap"])

# A candidate boundary: end punctuation, closing quotes or brackets (French puts a
# space before »), then space.
_BOUNDARY_RE = re.compile(r"[.!?…]+(?:\s*[\"»”’)\]])*\s+")
_OPENERS = '«"“‘([-–—¿¡'


@dataclass(frozen=True)
class Sentence:
    """A sentence of the title or text field: character and token bounds."""

    index: int
    field: str
    char_start: int
    char_end: int
    tok_start: int
    tok_end: int


def _starts_sentence(text: str, pos: int) -> bool:
    """True when the character at ``pos`` can open a sentence (capital, digit, quote)."""
    if pos >= len(text):
        return False
    char = text[pos]
    return char.isupper() or char.isdigit() or char in _OPENERS


def _ends_with_abbreviation(text: str, period: int, following: str) -> bool:
    """True when the period at ``period`` closes an abbreviation or an initial.

    ``following`` is the first character after the spaces that follow the period.
    """
    start = period
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "°"):
        start -= 1
    word = text[start:period].casefold()
    if word in NUMBER_ABBREVIATIONS:
        return following.isdigit()
    return (len(word) == 1 and word.isalpha()) or word in ABBREVIATIONS


def split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]`` (one paragraph)."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY_RE.finditer(text, start, end):
        punct = match.group()
        if not _starts_sentence(text, match.end()):
            continue
        following = text[match.end()]
        if punct[0] == "." and _ends_with_abbreviation(text, match.start(), following):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    return spans


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, stripped, empty ones dropped.

    A line break always ends a sentence (extracted articles put one paragraph per
    line); inside a line, ``. ! ? …`` followed by a space and a capital, digit or
    opening quote ends one, unless the period closes an abbreviation or an initial.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for line in text.splitlines(keepends=True):
        start = cursor
        cursor += len(line)
        if line.isspace():
            continue
        for s, e in split_paragraph(text, start, cursor):
            piece = text[s:e]
            stripped = piece.strip()
            if stripped:
                s += len(piece) - len(piece.lstrip())
                spans.append((s, s + len(stripped)))
    return spans
