"""Comparing two fingerprints: the signals and the same-story rule.

Two ways to be the same story:

* *near-duplicate text*: the shingle sets overlap a lot (MinHash Jaccard),
  or the shorter text is mostly inside the longer one (containment: a
  reprint trimmed to its first paragraphs). Only for texts long enough for
  shingles to mean something.
* *same event*: titles, key terms and leads agree, weighted so that names
  and amounts count three times a plain word and topic words a quarter, and
  at least ``min_shared`` distinctive key terms are shared. Shared names are
  what separate "OVHcloud qualified SecNumCloud" from "Outscale qualified
  SecNumCloud" a week later, which share all their vocabulary but those.

Short texts (feed summaries) only get the second way: their few shingles
would make any stock phrase look like a reprint. Their names and lead are
measured by overlap (how much of the summary the other side holds, since a
summary cannot hold as many names as an article), against a higher bar.
Across languages only the key terms are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import eq

from monitor.cluster import text as tx
from monitor.cluster.fingerprint import Fingerprint

KEY_WEIGHT = 3.0
AMOUNT_WEIGHT = 3.0
NUMBER_WEIGHT = 2.0
WORD_WEIGHT = 1.0
GENERIC_WEIGHT = 0.25
# How the same-event score mixes its signals: key terms (names, amounts) tell
# events apart best on the development pairs, titles next; leads mostly
# repeat the title and share the topic's vocabulary.
TITLE_SHARE, KEYS_SHARE, LEAD_SHARE = 0.35, 0.4, 0.25


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds; ``StoryIndex(**thresholds)`` overrides them by name.

    ``story`` and ``short_story`` were chosen by ``bench/eval_cluster.py --tune``
    on the development split of tests/data/cluster only (the held-out split
    and the real pages are reported, never tuned on); the others are design
    choices explained beside them.
    """

    dup_jaccard: float = 0.5  # shingle Jaccard that alone means a reprint
    dup_containment: float = 0.8  # share of the shorter text found in the longer
    # Jaccard needed too, so that one quoted paragraph is not a reprint; not
    # lower, so that the LSH (64 bands of 2) misses such a pair < 0.3 % of the time.
    dup_floor: float = 0.3
    story: float = 0.27  # same-event score for full texts
    short_story: float = 0.39  # same-event score when either text is a summary
    # Distinctive names or amounts both must cite; a word of an n-word name
    # counts 1/n. One shared name is a topic, two begin to be an event.
    min_shared: int = 2
    short_min_shared: int = 2
    short_words: int = 80  # fewer words than this: a summary, no shingle test
    common_share: float = 0.05  # key terms in more of the window count as topic words
    common_min_df: int = 20  # ... once that many articles name them

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))


@dataclass(frozen=True)
class PairScore:
    """All signals for one pair; ``text``/``containment`` are None for a summary."""

    text: float | None
    containment: float | None
    title: float
    keys: float
    lead: float
    shared: tuple[str, ...]
    names: float  # shared names, a word of an n-word name counting 1/n
    story: float


def _weigher(names: dict[str, int], common: frozenset[str]) -> Callable[[str], float]:
    """The weight of a term, for one pair of fingerprints (``names``: their name sizes)."""
    generic = tx.generic_stems()

    def weight(term: str) -> float:
        if term in common or term in generic:
            return GENERIC_WEIGHT
        if term[:1].isdigit():
            return NUMBER_WEIGHT if term[-1].isdigit() else AMOUNT_WEIGHT
        # A word of a three-word name is a third of the name.
        return KEY_WEIGHT / names[term] if term in names else WORD_WEIGHT

    return weight


def weighted_jaccard(a: frozenset[str], b: frozenset[str], weight: Callable[[str], float]) -> float:
    union = a | b
    if not union:
        return 0.0
    return sum(map(weight, a & b)) / sum(map(weight, union))


def weighted_overlap(a: frozenset[str], b: frozenset[str], weight: Callable[[str], float]) -> float:
    """Shared weight over the lighter set's weight: how much of a summary the article holds."""
    smaller = min(sum(map(weight, side)) for side in (a, b))
    if not smaller:
        return 0.0
    return sum(map(weight, a & b)) / smaller


def text_similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, float]:
    """MinHash Jaccard of the shingle sets, and the containment it implies.

    |A∩B| = J(|A|+|B|)/(1+J), so the share of the smaller set inside the
    larger follows from J and the exact set sizes kept in the fingerprints.
    """
    if not a.minhash or len(a.minhash) != len(b.minhash):
        return 0.0, 0.0
    same = sum(map(eq, a.hashvalues, b.hashvalues))  # equal lengths: checked above
    jaccard = same / len(a.hashvalues)
    smaller = min(a.shingles, b.shingles)
    inter = jaccard * (a.shingles + b.shingles) / (1.0 + jaccard)
    return jaccard, min(1.0, inter / smaller) if smaller else 0.0


def is_short(fp: Fingerprint, limits: Thresholds) -> bool:
    return fp.words < limits.short_words or not fp.minhash


def compare(
    a: Fingerprint, b: Fingerprint, limits: Thresholds, common: frozenset[str] = frozenset()
) -> PairScore:
    """Every signal between two fingerprints; ``common`` = key stems too frequent to count."""
    keys = _merged_sizes(a, b)
    short = is_short(a, limits) or is_short(b, limits)
    # A summary holds a few of the article's names, not as many: measure how
    # much of it the other side contains.
    similarity = weighted_overlap if short else weighted_jaccard
    weight = _weigher(keys, common)
    title = weighted_jaccard(a.title_stems, b.title_stems, weight)
    key_sim = similarity(a.key_stems, b.key_stems, weight)
    lead = similarity(a.lead_stems, b.lead_stems, weight)
    shared = shared_keys(a, b, common)
    if a.lang and b.lang and a.lang != b.lang:
        # Across languages only names and amounts are written alike.
        story = key_sim
    else:
        story = TITLE_SHARE * title + KEYS_SHARE * key_sim + LEAD_SHARE * lead
    text = containment = None
    if not short:
        text, containment = text_similarity(a, b)
    names = shared_names(a, b, common)
    return PairScore(text, containment, title, key_sim, lead, shared, names, story)


def shared_names(a: Fingerprint, b: Fingerprint, common: frozenset[str]) -> float:
    """The distinctive key stems both cite, a word of an n-word name counting 1/n (the
    smaller n of the two: a word seen alone in either counts alone)."""
    sizes_a, sizes_b = a.name_sizes, b.name_sizes
    both = (a.key_stems & b.key_stems) - common - tx.generic_stems()
    return round(sum(1 / min(sizes_a[s], sizes_b[s]) for s in both), 3)


def could_join(
    a: Fingerprint, b: Fingerprint, limits: Thresholds, common: frozenset[str] = frozenset()
) -> bool:
    """False when ``verdict`` cannot accept the pair, read from its two cheapest signals:
    fewer shared names than the same-event rule needs, and no near-duplicate text. Most
    candidates of a pass are such pairs (found through one common name), and the full
    ``compare`` costs several times more."""
    short = is_short(a, limits) or is_short(b, limits)
    need = limits.short_min_shared if short else limits.min_shared
    if shared_names(a, b, common) >= need - 1e-9:
        return True
    return not short and text_similarity(a, b)[0] >= min(limits.dup_jaccard, limits.dup_floor)


def _merged_sizes(a: Fingerprint, b: Fingerprint) -> dict[str, int]:
    """Name sizes of both key sets; a word seen alone in either counts alone."""
    sizes = dict(a.name_sizes)
    for stem, size in b.name_sizes.items():
        sizes[stem] = min(size, sizes.get(stem, size))
    return sizes


def shared_keys(a: Fingerprint, b: Fingerprint, common: frozenset[str]) -> tuple[str, ...]:
    """Distinctive key stems both name, readable and sorted."""
    both = (a.key_stems & b.key_stems) - common - tx.generic_stems()
    return tuple(sorted(a.display(s) for s in both))


def verdict(score: PairScore, limits: Thresholds) -> tuple[str, float] | None:
    """('near-duplicate text' | 'title+entities' | 'title+summary', score) or None."""
    if score.text is not None:
        if score.text >= limits.dup_jaccard:
            return "near-duplicate text", score.text
        containment = score.containment or 0.0
        if containment >= limits.dup_containment and score.text >= limits.dup_floor:
            return "near-duplicate text (containment)", containment
        bar, need, kind = limits.story, limits.min_shared, "title+entities"
    else:
        bar, need, kind = limits.short_story, limits.short_min_shared, "title+summary"
    if score.story >= bar and score.names >= need - 1e-9:
        return kind, score.story
    return None
