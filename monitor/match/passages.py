"""Turn matched token spans into the passages shown to a reader.

A passage is a whole sentence (or the title) with the matched terms marked. The title
and the lead are preferred because news states its event there; among the others,
sentences showing more distinct terms come first.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.display import ELLIPSIS
from monitor.match.analysis import Analysis
from monitor.match.evaluate import Span
from monitor.match.types import Passage

MAX_PASSAGES = 3
# A sentence can be a 400-token run of text without a full stop (a feed title, a list):
# past this many characters, the passage is the part around its marks.
MAX_PASSAGE_CHARS = 500
TITLE_BONUS = 1.0
LEAD_BONUS = 0.5


def merge_marks(marks: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort character ranges and merge the overlapping ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(marks):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def sentence_passage(analysis: Analysis, sentence: int, spans: Iterable[Span]) -> Passage:
    """The passage of one sentence with token ``spans`` marked."""
    info = analysis.sentences[sentence]
    first = info.tok_start
    chars = analysis.token_chars(sentence)
    marks = [(chars[s - first][0], chars[e - 1 - first][1]) for s, e in spans]
    return shortened(Passage(info.field, analysis.sentence_text(sentence), merge_marks(marks)))


def shortened(passage: Passage, limit: int = MAX_PASSAGE_CHARS) -> Passage:
    """The passage cut to about ``limit`` characters around its first marks, at word
    boundaries, with an ellipsis where text was left out; marks past the cut are dropped."""
    text, marks = passage.text, passage.marks
    if len(text) <= limit:
        return passage
    anchor = marks[0][0] if marks else 0
    start = max(0, min(anchor - limit // 4, len(text) - limit))
    end = start + limit
    if start > 0:
        space = text.find(" ", start, anchor if marks else end)
        start = space + 1 if space >= 0 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    head = ELLIPSIS + " " if start > 0 else ""
    tail = " " + ELLIPSIS if end < len(text) else ""
    shift = len(head) - start
    kept = tuple((a + shift, b + shift) for a, b in marks if a >= start and b <= end)
    return Passage(passage.field, head + text[start:end] + tail, kept)


def group_by_sentence(analysis: Analysis, marks: Iterable[Span]) -> dict[int, set[Span]]:
    grouped: dict[int, set[Span]] = {}
    for span in marks:
        grouped.setdefault(analysis.sent_of[span[0]], set()).add(span)
    return grouped


def _score(analysis: Analysis, sentence: int, spans: set[Span]) -> float:
    distinct = {" ".join(analysis.surfaces[s:e]) for s, e in spans}
    score = float(len(distinct))
    if sentence == 0:
        score += TITLE_BONUS
    elif sentence in analysis.lead_region:
        score += LEAD_BONUS
    return score


def build_passages(
    analysis: Analysis, marks: Iterable[Span], limit: int = MAX_PASSAGES
) -> tuple[Passage, ...]:
    """The best ``limit`` passages for ``marks``, best first, without repeated sentences."""
    grouped = group_by_sentence(analysis, marks)
    ranked = sorted(grouped, key=lambda s: (-_score(analysis, s, grouped[s]), s))
    passages: list[Passage] = []
    seen: set[str] = set()
    for sentence in ranked:
        info = analysis.sentences[sentence]
        # The title is often repeated as the first sentence of the text: show it once.
        key = " ".join(analysis.surfaces[info.tok_start : info.tok_end])
        if key in seen:
            continue
        seen.add(key)
        passages.append(sentence_passage(analysis, sentence, grouped[sentence]))
        if len(passages) == limit:
            break
    return tuple(passages)
