"""A document cut into sentences and tokens once, shared by every rule.

Sentence 0 is always the title (possibly empty); sentences 1.. are the text's, then
each value of the structured fields (an awardee, a CPV code) is a sentence of its own,
outside the text and lead regions. Token positions are global across all fields, and
every matching operation keeps to one sentence, so a span of tokens never mixes
sentences. Character offsets of tokens are
only needed for passages, which few documents get, so they are computed on demand.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import accumulate
from typing import cast

from monitor.fields import Fields
from monitor.match.normalize import (
    Sentence,
    split_sentences,
    surface,
    surface_cache,
    token_pattern,
    tokenize,
)
from monitor.match.types import Document

DEFAULT_LEAD_SENTENCES = 3
# Bounds on what one document may cost to match, whatever it holds. Of 195 press articles
# (the shared corpus's gold texts) the longest has 53,372 characters, the longest sentence
# 97 tokens and the longest title 16, so real articles are never cut. Only the first
# MAX_TEXT_CHARS of the text are analysed (cut before a word), so matching time has a
# ceiling (0.05 s measured with the shipped rules, bench/hostile_match.py). A sentence
# of more than MAX_SENTENCE_TOKENS tokens is unpunctuated text (a table, a dump, hostile
# input) where "same sentence" means nothing: those of the text and of fields are cut
# into chunks of that many tokens, which keeps the work of NEAR, SENTENCE(...) and
# passages per sentence bounded; the title must stay sentence 0, so only its first
# MAX_SENTENCE_TOKENS tokens are kept.
MAX_TEXT_CHARS = 100_000
MAX_SENTENCE_TOKENS = 400
# A title of more words than this is no headline (the longest of the 535 titles of the
# labeled press sets has 32 words, 99 % have 23 or fewer): a source that has none gives
# the article's opening paragraph in its place.
HEADLINE_MAX_WORDS = 30
_CUT_SHORT = re.compile(r"\s*(?:…|\.\.\.)\s*$")
# What closes a quotation or a sentence after its last word, and what opens a quotation.
_CLOSERS = ' \t\n\u00a0\u202f»”"’)]'
_OPENERS = ("«", "“", '"', "„", "‘", "‹")
_INNER_END = re.compile(r"[.!?…]\s+\S")
# « Eric Le Marois (Microsoft) : « Inventer de nouvelles relations » »: all that follows
# the colon is a quotation (an interview's or a reaction's headline).
_QUOTED_AFTER_COLON = re.compile(r":\s*[«“\"„‘‹][^«“\"„‘‹]*[»”\"’›][\s.!?…]*$")
# A year of 1900-2099 standing alone: not inside a longer number (« 12 2009 000 », 2009.5).
_YEAR = re.compile(
    r"(?<![\w.,])(?<!\d[ \u00a0\u202f])(?:19|20)\d\d(?![\w]|[.,]\d|[ \u00a0\u202f]\d{3}\b)"
)
_WORDS_BEFORE = re.compile(r"(?:(\w+)\W{1,3})?(\w+)\W{0,3}$")
# A year after these is an end date (« jusqu'en 2029 », "until 2017", « d'ici 2030 »): it
# says how long, not when anything happened.
_UNTIL = frozenset(["until", "till", "through", "jusqu", "ici"])
# Capitalised words after which a year is a date: openers (« En 2009, ») and English
# months. After any other capitalised word it is a name's (Office 2010, Windows Server
# 2012, Horizon 2020): no date at all.
_DATE_OPENER_TEXT = """en in depuis since dès des fin début mi avant après after before
    by from au à the de du le la l d entre between vers around année years year
    january february march april may june july august september october november
    december"""
_DATE_OPENERS = frozenset(_DATE_OPENER_TEXT.split())
EARLIER_YEARS = 2  # « in December 2013 » is still news in January 2014


def capped_text(text: str) -> str:
    """``text`` cut to at most MAX_TEXT_CHARS characters, before the word the limit falls in."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_TEXT_CHARS + 1)
    return text[: cut if cut > 0 else MAX_TEXT_CHARS]


def headline_and_text(title: str, text: str) -> tuple[str, str]:
    """The title and text that matching reads. A title that is the article's opening
    rather than a headline (the start of its text cut short by an ellipsis, or a
    paragraph of more than HEADLINE_MAX_WORDS words) is read as the first sentences of
    the text: as the title, a single sentence, it would glue several sentences into one
    or cut one short of the words that qualify it (« ... avec le ministère de la Défense
    américain »), and leave one sentence fewer in the lead."""
    long = len(title.split(maxsplit=HEADLINE_MAX_WORDS)) > HEADLINE_MAX_WORDS
    end = max(0, len(title) - 20)  # the ellipsis is searched for in the last characters
    tail = _CUT_SHORT.sub("", title[end:])
    if not long and len(tail) == len(title) - end:
        return title, text
    core = capped_text(title[:end] + tail)
    words = tokenize(core)
    if words and tokenize(text[: len(core) + 100])[: len(words)] == words:
        return "", text
    return ("", capped_text(f"{title}\n{text}")) if long else (title, text)


class Analysis:
    """Tokens (raw and folded) and sentences of a document."""

    def __init__(self, doc: Document, lead_sentences: int = DEFAULT_LEAD_SENTENCES) -> None:
        self.doc = doc
        self.raws: list[str] = []
        self.surfaces: list[str] = []
        self.sent_of: list[int] = []
        self.sentences: list[Sentence] = []
        title, text = headline_and_text(doc.title or "", capped_text(doc.text or ""))
        self._texts = {"title": title, "text": text}
        self._patterns = {"title": token_pattern(title), "text": token_pattern(text)}
        stripped = title.strip()
        offset = title.find(stripped) if stripped else 0
        self._add_sentence("title", title, offset, offset + len(stripped))
        for start, end in split_sentences(text):
            self._add_sentence("text", text, start, end)
        texts = len(self.sentences) - 1
        self.title_region = frozenset({0})
        self.text_region = frozenset(range(1, texts + 1))
        self.lead_region = frozenset(range(min(lead_sentences, texts) + 1))
        self.field_regions = self._add_fields(doc.fields)
        self._offsets: dict[int, list[tuple[int, int]]] = {}
        self._surface_text: str | None = None
        self._surface_starts: list[int] | None = None

    def _add_sentence(self, field: str, text: str, start: int, end: int) -> None:
        raws = self._patterns[field].findall(text, start, end)
        if len(raws) > MAX_SENTENCE_TOKENS:
            chunks = self._chunks(field, text, start, end)
            for chunk_start, chunk_end in chunks[:1] if field == "title" else chunks:
                self._add_sentence(field, text, chunk_start, chunk_end)
            return
        cached = list(map(surface_cache().get, raws))  # map: the hot loop stays in C
        surfaces = (
            [s if s is not None else surface(r) for r, s in zip(raws, cached, strict=True)]
            if None in cached
            else cast(list[str], cached)  # the common case: every token already cached
        )
        if "" in surfaces:  # runs of invisible characters only: not words
            raws = [r for r, s in zip(raws, surfaces, strict=True) if s]
            surfaces = [s for s in surfaces if s]
        index = len(self.sentences)
        first = len(self.surfaces)
        self.raws += raws
        self.surfaces += surfaces
        self.sent_of += [index] * len(surfaces)
        self.sentences.append(Sentence(index, field, start, end, first, len(self.surfaces)))

    def _chunks(self, field: str, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Character spans of ``text[start:end]`` cut into runs of MAX_SENTENCE_TOKENS
        tokens, each from its first token to its last (the last run to ``end``)."""
        spans = []
        chunk_start = previous_end = start
        tokens = self._patterns[field].finditer(text, start, end)
        for count, token in enumerate(tokens):
            if count and count % MAX_SENTENCE_TOKENS == 0:
                spans.append((chunk_start, previous_end))
                chunk_start = token.start()
            previous_end = token.end()
        spans.append((chunk_start, end))
        return spans

    def _add_fields(self, fields: Fields) -> dict[str, frozenset[int]]:
        """One sentence per text value of each structured field; their regions by name."""
        regions = {}
        for name in fields:
            values = fields.texts(name)
            if name in self._texts or not values:
                continue  # a number, or a name that would shadow the title or the text
            joined = "\n".join(values)
            self._texts[name] = joined
            self._patterns[name] = token_pattern(joined)
            first, start = len(self.sentences), 0
            for value in values:
                self._add_sentence(name, joined, start, start + len(value))
                start += len(value) + 1
            regions[name] = frozenset(range(first, len(self.sentences)))
        return regions

    def field_text(self, field: str) -> str:
        return self._texts[field]

    def sentence_text(self, index: int) -> str:
        sentence = self.sentences[index]
        return self.field_text(sentence.field)[sentence.char_start : sentence.char_end]

    def has_shape(self, index: int, kind: str) -> bool:
        """Sentence ``index`` is a question ("?" at its end, quotes aside) or a quotation
        (it opens with a quotation mark, or all it says after a colon is quoted)."""
        text = self.sentence_text(index)
        if kind == "question":
            # A statement followed by a question ("X renews. Will it change?") is not
            # a question headline: only a sentence asked as a whole is.
            body = text.rstrip(_CLOSERS)
            return body.endswith("?") and not _INNER_END.search(body[:-1])
        if kind == "earlier_year":
            return self.names_earlier_years(text)
        return text.lstrip().startswith(_OPENERS) or bool(_QUOTED_AFTER_COLON.search(text))

    def names_earlier_years(self, text: str) -> bool:
        """``text`` names years, all at least EARLIER_YEARS before the article's date:
        a sentence of history (« En 2009, le ministère a conclu... » in 2013). False for
        an undated article: its year is not known."""
        published = self.doc.published
        if published is None:
            return False
        years = [int(m.group()) for m in _YEAR.finditer(text) if _dates_an_event(text, m.start())]
        return bool(years) and max(years) <= published.year - EARLIER_YEARS

    def token_chars(self, index: int) -> list[tuple[int, int]]:
        """Character spans, relative to the sentence text, of sentence ``index``'s tokens."""
        spans = self._offsets.get(index)
        if spans is None:
            sentence = self.sentences[index]
            text = self.sentence_text(index)
            spans = []
            cursor = 0
            # Tokens are maximal runs of word characters, so each one is the first
            # occurrence of its raw form after the previous token.
            for raw in self.raws[sentence.tok_start : sentence.tok_end]:
                start = text.find(raw, cursor)
                cursor = start + len(raw)
                spans.append((start, cursor))
            self._offsets[index] = spans
        return spans

    def surface_text(self) -> str:
        """The folded tokens as one string, for the phrase automaton.

        Each sentence is written ``\\n tok tok tok `` (a newline, then each token
        preceded by a space, then a space), so a pattern `` a b `` only matches within
        a sentence and token ``i`` starts at ``2 * sentence + 2 + sum(len + 1)`` of the
        tokens before it.
        """
        if self._surface_text is None:
            parts = []
            for sentence in self.sentences:
                words = self.surfaces[sentence.tok_start : sentence.tok_end]
                parts.append("\n " + " ".join(words) + " " if words else "\n ")
            self._surface_text = "".join(parts)
        return self._surface_text

    def token_at(self, char: int) -> int:
        """The position of the token starting at offset ``char`` of ``surface_text``."""
        if self._surface_starts is None:
            before = accumulate((len(word) + 1 for word in self.surfaces), initial=0)
            pairs = zip(self.sent_of, before, strict=False)  # ``before`` has one more item
            self._surface_starts = [2 * sentence + 2 + chars for sentence, chars in pairs]
        return bisect_left(self._surface_starts, char)


def _dates_an_event(text: str, start: int) -> bool:
    """Whether the year at ``start`` says when something happened (« en 2009 », « 14 mars
    2025 », « October 6, 2009 »), rather than ends a name (« Office 2010 ») or a period
    (« jusqu'en 2029 »)."""
    before = _WORDS_BEFORE.search(text, max(0, start - 60), start)
    if before is None:
        return True
    previous, word = (before.group(1) or "").lower(), before.group(2)
    if word.lower() in _UNTIL or (previous in _UNTIL and word.lower() in ("en", "à", "a", "au")):
        return False
    return not word[0].isupper() or word.lower() in _DATE_OPENERS
