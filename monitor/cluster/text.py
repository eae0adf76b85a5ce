"""Text normalization for story clustering: tokens, shingles, terms and entities.

Two views of an article come out of here:

* *shingles*: overlapping word triples over the whole text, accents and case
  folded, stopwords kept. They catch reprints (the same dispatch with small
  edits), where word order survives.
* *terms*: lemmatized content words and distinctive *key terms* (names,
  acronyms, amounts). They catch the same event told in other words, where
  only the facts survive: who, what, how much.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache

from monitor.cluster.vocab import CALENDAR, EN_STOPWORDS, FR_STOPWORDS, GENERIC_WORDS, STOPWORDS
from monitor.match.lemmas import lemmatize

# Terms are compared on this many leading characters of their lemma: a crude
# truncation stemmer that makes "qualification"/"qualifiée" or
# "souveraineté"/"souverain" meet where the lemmatizer keeps them apart.
STEM_LEN = 7
# The opening words of a text: who/what/when usually sit there.
LEAD_WORDS = 60
SHINGLE_SIZE = 3
MAX_KEYS = 24
MAX_LEAD_TERMS = 40
# Terms are compared on STEM_LEN characters; the rest is only for display.
# Bytes, not characters, so that a line of Japanese does not bloat the record.
MAX_TERM_BYTES = 24
MAX_TITLE_TERMS = 20
MAX_DIGITS = 15
# A name longer than this is a shouted paragraph, not a name (sizes fit a byte).
MAX_NAME_WORDS = 8
# Languages simplemma lemmatizes for us; others are only case/accent folded.
LEMMA_LANGS = ("fr", "en")

# Scripts written without spaces: one character is one token there, so that
# shingles still mean something for the few such pages the monitor meets.
_UNSPACED = r"\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_UNSPACED}]|[^\W_{_UNSPACED}]+")
# A number, with French thin/no-break/plain spaces as thousands separators and
# either decimal mark, then an optional unit that tells an amount.
_NUMBER_RE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d+))?"
    r"(?:[ \u00a0\u202f]?(millions?|milliards?|billions?|bn|mds?|md|m|k|%|pour\s?cent|percent)"
    r"(?![^\W\d_]))?(?!\d)",
    re.IGNORECASE,
)
_UNITS = {
    "million": "m",
    "millions": "m",
    "m": "m",
    "milliard": "bn",
    "milliards": "bn",
    "billion": "bn",
    "billions": "bn",
    "bn": "bn",
    "md": "bn",
    "mds": "bn",
    "k": "k",
    "%": "%",
    "pour cent": "%",
    "pourcent": "%",
    "percent": "%",
}
_WORD_RE = re.compile(r"[^\W\d_]+(?:\d+[^\W\d_]*)*", re.UNICODE)
_SENTENCE_END_RE = re.compile(r"[.!?…:»\"]\s+|\n+")


def clip(term: str) -> str:
    """At most MAX_TERM_BYTES of UTF-8, cut on a character boundary."""
    return term.encode("utf-8")[:MAX_TERM_BYTES].decode("utf-8", errors="ignore")


def fold(text: str) -> str:
    """Lowercase and strip accents: outlets differ on "Etat"/"État"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():  # most words, and English texts: no mark to strip
        return decomposed
    # Each distinct character is tested once, not each of a whole article's characters.
    marks = [ch for ch in set(decomposed) if unicodedata.combining(ch)]
    return decomposed.translate(dict.fromkeys(map(ord, marks))) if marks else decomposed


def tokens(text: str) -> list[str]:
    """Folded word tokens, punctuation dropped (apostrophes split "l'État")."""
    return _TOKEN_RE.findall(fold(text))


def shingles(words: list[str], size: int = SHINGLE_SIZE) -> set[str]:
    """Distinct word n-grams; a text shorter than one n-gram is one shingle."""
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def guess_lang(words: Iterable[str]) -> str:
    """French or English by stopword count; '' when neither shows up."""
    fr = en = 0
    for word in words:
        fr += word in FR_STOPWORDS
        en += word in EN_STOPWORDS
    if fr == en == 0:
        return ""
    return "fr" if fr >= en else "en"


@lru_cache(maxsize=65536)
def lemma(word: str, lang: str) -> str:
    """Folded lemma of one lowercase word (cached: news vocabulary repeats)."""
    if lang in LEMMA_LANGS and word.isalpha():
        other = LEMMA_LANGS[1] if lang == LEMMA_LANGS[0] else LEMMA_LANGS[0]
        # The other language second: French tech press writes English words.
        word = lemmatize(word, (lang, other))
    return clip(fold(word))


@lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """Comparison key of a term. Amounts are compared whole.

    The lemmatizer leaves some forms apart ("signé" as a noun, "signer"), so
    plural and French -e/-er/-ée endings go, then the word is truncated.
    """
    if term[:1].isdigit() or len(term) <= 4:
        return term
    if term.endswith("s"):
        term = term[:-1]
    if term.endswith(("er", "ee", "ez")) and len(term) > 5:
        term = term[:-2]
    elif term.endswith("e") and len(term) > 4:
        term = term[:-1]
    return term[:STEM_LEN]


@lru_cache(maxsize=1)
def generic_stems() -> frozenset[str]:
    """Stems of the topic words every article of this domain shares."""
    return frozenset(stem(lemma(fold(w), lang)) for lang in LEMMA_LANGS for w in GENERIC_WORDS)


def term(word: str, lang: str) -> str:
    """The normalized form of one word as written.

    Capitalized words are only folded: a lemmatizer turns the town of
    Cambrai into the verb "cambrer". The stemmer evens out their plurals.
    """
    if word[:1].isupper():
        return clip(fold(word))
    return lemma(word, lang)


def content_terms(text: str, lang: str, limit: int | None = None) -> list[str]:
    """Terms of the non-stopword words, in order, at most ``limit`` words read."""
    out = []
    for word in _WORD_RE.findall(text)[:limit]:
        folded = fold(word)
        if len(folded) > 1 and folded not in STOPWORDS:
            out.append(term(word, lang))
    return out


def numbers(text: str) -> Iterator[str]:
    """Normalized numbers worth matching: amounts, percentages, counts >= 10.

    "2,5 milliards d'euros", "2.5 billion" and "2,5 Md€" all give "2.5bn".
    Years and small numbers are skipped: every article has dates.
    """
    for match in _NUMBER_RE.finditer(text):
        whole, decimals, unit = match.groups()
        digits = re.sub(r"\D", "", whole).lstrip("0") or "0"
        if len(digits) > MAX_DIGITS:  # an identifier, not an amount
            continue
        unit_key = _UNITS.get(re.sub(r"\s+", " ", unit.casefold())) if unit else None
        if decimals and len(decimals) == 3 and not unit_key:
            # "1,200" or "1.200" with no unit: a thousands separator.
            digits, decimals = (digits + decimals).lstrip("0"), None
        decimals = (decimals or "").rstrip("0")
        value = f"{digits}.{decimals}" if decimals else digits
        if unit_key:
            yield value + unit_key
        elif len(digits) >= 2 and not _is_date(digits, text, match.start(), match.end()):
            yield value


_NEXT_WORD = re.compile(r"[\s,.]*([^\W\d_]+)")
_PREVIOUS_WORD = re.compile(r"([^\W\d_]+)[\s,.]*$")


def _is_date(digits: str, text: str, start: int, end: int) -> bool:
    """A year, or a day next to its month ("12 mars", "March 12")."""
    if len(digits) == 4 and digits[:2] in ("19", "20"):
        return True
    after = _NEXT_WORD.match(text, end, end + 20)
    before = _PREVIOUS_WORD.search(text, max(0, start - 20), start)
    return any(m and fold(m.group(1)) in CALENDAR for m in (after, before))


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END_RE.split(text) if s.strip()]


def _entity_shape(word: str) -> bool:
    """Acronyms (DINUM, S3NS) and inner capitals (OVHcloud) are names anywhere."""
    if len(word) < 2 or word.islower():  # most words: no capital at all
        return False
    upper = sum(map(str.isupper, word))
    return upper >= 2 and (word.isupper() or any(ch.islower() for ch in word))


def is_title_case(text: str) -> bool:
    """English headlines capitalize every word, which then says nothing."""
    words = [w for w in _WORD_RE.findall(text) if len(w) > 3 and fold(w) not in STOPWORDS]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _name_runs(sentence: str, trust_case: bool) -> Iterator[list[tuple[int, str]]]:
    """Runs of adjacent name-like words, with their positions in the sentence.

    "Health Data Hub" is one run of three words: one name, which must weigh
    as one when two articles are compared.
    """
    run: list[tuple[int, str]] = []
    previous_end = 0
    for position, match in enumerate(_WORD_RE.finditer(sentence)):
        word, start = match.group(), previous_end
        previous_end = match.end()
        # Most words are lower-case: no name, and nothing more to look at.
        if word.islower() or not _is_name(word, trust_case):
            if run:
                yield run
                run = []
        elif run and not sentence[start : match.start()].strip(" \u00a0-"):
            run.append((position, word))
        else:
            if run:
                yield run
            run = [(position, word)]
    if run:
        yield run


def _is_name(word: str, trust_case: bool) -> bool:
    # The shape first: most words are lower-case, and then need no folding.
    if not (_entity_shape(word) or (trust_case and word[0].isupper())):
        return False
    folded = fold(word)
    return folded not in STOPWORDS and len(folded) > 1


def entities(text: str, lang: str, *, trust_case: bool = True) -> dict[str, tuple[int, int]]:
    """The names in a text: term -> (occurrences, words in the shortest name it is part of).

    A lone capitalized word counts when it is not the first of its sentence
    (there every word is capitalized) or when it is also met capitalized
    inside a sentence elsewhere. Acronyms, inner-capital names and runs of
    several capitalized words always count.
    """
    counts: Counter[str] = Counter()
    sizes: dict[str, int] = {}
    openers: list[str] = []
    for sentence in _sentences(text):
        for run in _name_runs(sentence, trust_case):
            position, word = run[0]
            if len(run) == 1 and position == 0 and not _entity_shape(word):
                openers.append(term(word, lang))
                continue
            names = [term(word, lang) for _, word in run]
            # Topic words in a name ("Data" in Health Data Hub) are no keys.
            size = max(1, sum(stem(name) not in generic_stems() for name in names))
            size = min(size, MAX_NAME_WORDS)
            for name in names:
                counts[name] += 1
                sizes[name] = min(sizes.get(name, size), size)
    for name in openers:
        if name in counts:
            counts[name] += 1
            sizes[name] = 1
    return {name: (count, sizes[name]) for name, count in counts.items()}
