"""Article fingerprints: what clustering keeps of an article, compact and serializable.

A fingerprint holds a MinHash of the text's word shingles (for reprints) and
three small sets of normalized terms (for the same event in other words):
the title's content words, the key terms (names, acronyms, amounts) and the
content words of the lead. It is all the index needs, so the store keeps only
these bytes and never re-reads article text to rebuild the index.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from monitor.cluster import text as tx
from monitor.cluster.minhash import NUM_PERM, minhash

__all__ = ["NUM_PERM", "Fingerprint", "fingerprint"]

FORMAT_VERSION = 1
_HEADER = struct.Struct("<B2sIIH")


@dataclass(frozen=True)
class Fingerprint:
    """What clustering compares; ``to_bytes``/``from_bytes`` for the store.

    ``words`` is the text's token count (the short-text guard reads it),
    ``shingles`` the number of distinct shingles (for containment), and
    ``minhash`` the packed little-endian uint32 MinHash, empty without text.
    Term tuples hold folded lemmas, sorted, stemmed only when compared;
    ``key_sizes[i]`` is the number of words of the name ``keys[i]`` belongs
    to (3 for each of "Health Data Hub"), so that a name weighs as one.
    """

    lang: str
    words: int
    shingles: int
    minhash: bytes
    title: tuple[str, ...]
    keys: tuple[str, ...]
    key_sizes: tuple[int, ...]
    lead: tuple[str, ...]

    @cached_property
    def hashvalues(self) -> memoryview:
        """The MinHash values as unsigned 32-bit integers (in the machine's byte order:
        compared with each other only)."""
        return memoryview(self.minhash).cast("I")

    @cached_property
    def title_stems(self) -> frozenset[str]:
        return frozenset(map(tx.stem, self.title))

    @cached_property
    def key_stems(self) -> frozenset[str]:
        return frozenset(map(tx.stem, self.keys))

    @cached_property
    def name_sizes(self) -> dict[str, int]:
        """Key stem -> words in its name."""
        return {tx.stem(k): n for k, n in zip(self.keys, self.key_sizes, strict=True)}

    @cached_property
    def lead_stems(self) -> frozenset[str]:
        """Title and lead together: a summary often repeats the title."""
        return frozenset(map(tx.stem, self.lead)) | self.title_stems

    def display(self, stem: str) -> str:
        """A readable term for a stem, for explanations."""
        for term in (*self.keys, *self.title, *self.lead):
            if tx.stem(term) == stem:
                return term
        return stem

    def to_bytes(self) -> bytes:
        lang = self.lang.encode("ascii").ljust(2, b"\0")
        nperm = len(self.minhash) // 4
        head = _HEADER.pack(FORMAT_VERSION, lang, self.words, self.shingles, nperm)
        terms = [_pack_terms(t) for t in (self.title, self.keys, self.lead)]
        return b"".join([head, self.minhash, *terms, bytes(self.key_sizes)])

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if not data or data[0] != FORMAT_VERSION:
            version = data[0] if data else None
            raise ValueError(f"unsupported fingerprint format version {version}")
        try:
            _, lang, words, shingles, nperm = _HEADER.unpack_from(data)
            offset = _HEADER.size + 4 * nperm
            minhash = bytes(data[_HEADER.size : offset])
            if len(minhash) != 4 * nperm:
                raise ValueError("truncated MinHash")
            lists = []
            for _ in range(3):
                terms, offset = _unpack_terms(data, offset)
                lists.append(terms)
            title, keys, lead = lists
            sizes = tuple(data[offset : offset + len(keys)])
            lang_code = lang.decode("ascii").strip("\0")
        except (struct.error, IndexError, UnicodeDecodeError) as exc:
            raise ValueError(f"corrupt fingerprint: {exc}") from exc
        if offset + len(keys) != len(data):
            raise ValueError("corrupt fingerprint: wrong length")
        return cls(lang_code, words, shingles, minhash, title, keys, sizes, lead)


def _pack_terms(terms: tuple[str, ...]) -> bytes:
    encoded = [t.encode("utf-8") for t in terms]
    return bytes([len(encoded)]) + b"".join(bytes([len(e)]) + e for e in encoded)


def _unpack_terms(data: bytes, offset: int) -> tuple[tuple[str, ...], int]:
    count, offset = data[offset], offset + 1
    terms = []
    for _ in range(count):
        size = data[offset]
        chunk = data[offset + 1 : offset + 1 + size]
        if len(chunk) != size:
            raise IndexError("term past the end")
        terms.append(chunk.decode("utf-8"))
        offset += 1 + size
    return tuple(terms), offset


def _minhash(words: list[str]) -> tuple[bytes, int]:
    grams = tx.shingles(words)
    if not grams:
        return b"", 0
    return minhash(g.encode("utf-8") for g in grams).astype("<u4").tobytes(), len(grams)


def _norm_lang(lang: str | None, words: list[str]) -> str:
    """Two ASCII letters ('fr' from 'fr-FR'), guessed when not given."""
    code = (lang or "").strip().lower()[:2]
    return code if re.fullmatch(r"[a-z]{2}", code) else tx.guess_lang(words[:400])


def _unique(terms: list[str] | list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """First ``limit`` distinct terms, one per stem, sorted for a stable encoding.

    Terms come alone or as (term, name size) pairs; sizes default to 1.
    """
    seen: dict[str, tuple[str, int]] = {}
    for item in terms:
        pair = item if isinstance(item, tuple) else (item, 1)
        seen.setdefault(tx.stem(pair[0]), pair)
        if len(seen) == limit:
            break
    return sorted(seen.values())


def _key_terms(title: str, text: str, lang: str, title_terms: list[str]) -> list[tuple[str, int]]:
    """Names and amounts with their name sizes: the title's first, then the lead's, then
    the body's most cited.

    Generic topic words are left out even when capitalized (SecNumCloud,
    France): every story of the topic has them.
    """
    found = tx.entities(text, lang)
    for name, (count, size) in tx.entities(
        title, lang, trust_case=not tx.is_title_case(title)
    ).items():
        seen, smallest = found.get(name, (0, size))
        found[name] = (seen + count, min(size, smallest))
    lead = " ".join(text.split()[: tx.LEAD_WORDS])
    in_title = set(title_terms) | set(tx.numbers(title))
    in_lead = set(tx.content_terms(lead, lang)) | set(tx.numbers(lead))
    amounts = Counter(n for n in tx.numbers(text) if not n[-1].isdigit())
    for number in in_title | in_lead | set(amounts):
        if number[0].isdigit():
            found[number] = (amounts[number] + 1, 1)
    generic = tx.generic_stems()
    ranked = []
    for term, (count, size) in found.items():
        if tx.stem(term) not in generic:
            rank = 100 * (term in in_title) + 10 * (term in in_lead) + min(count, 9)
            ranked.append((-rank, term, size))
    return [(term, size) for _, term, size in sorted(ranked)]


def fingerprint(title: str, text: str, lang: str | None = None) -> Fingerprint:
    """Fingerprint an article from its title and extracted text (or feed summary).

    ``lang`` is an ISO 639-1 code ('fr', 'en', 'fr-FR' is fine); guessed from
    stopwords when missing. Pure and deterministic: the same input always
    gives the same bytes.
    """
    title, text = title or "", text or ""
    words = tx.tokens(text)
    code = _norm_lang(lang, words or tx.tokens(title))
    minhash, nshingles = _minhash(words)
    title_terms = tx.content_terms(title, code)
    lead_terms = tx.content_terms(text, code, limit=tx.LEAD_WORDS)
    keys = _unique(_key_terms(title, text, code, title_terms), tx.MAX_KEYS)
    return Fingerprint(
        lang=code,
        words=len(words),
        shingles=nshingles,
        minhash=minhash,
        title=tuple(t for t, _ in _unique(title_terms, tx.MAX_TITLE_TERMS)),
        keys=tuple(t for t, _ in keys),
        key_sizes=tuple(size for _, size in keys),
        lead=tuple(t for t, _ in _unique(lead_terms, tx.MAX_LEAD_TERMS)),
    )
