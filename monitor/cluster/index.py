"""The in-memory story index: which story, if any, a new article belongs to.

The store rebuilds it at start-up from the last ``window`` of fingerprints,
then for each new article calls ``decide`` and ``add``. ``decide`` never
scans the whole window: candidates come from

* a MinHash LSH over the text shingles (near-duplicates), tuned for recall
  well below the near-duplicate thresholds, and
* an inverted index of key stems (names, amounts): the same-event rule needs
  ``min_shared`` of them in common, so any article it can accept shares at
  least one and is found there.

Exact checks then run on those candidates only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from datasketch import LeanMinHash, MinHashLSH

from monitor.cluster.fingerprint import MINHASH_SCHEME, MINHASH_SEED, NUM_PERM, Fingerprint
from monitor.cluster.similarity import PairScore, Thresholds, compare, is_short, verdict

# 64 bands of 2 rows: a pair at Jaccard 0.3 is missed with probability
# (1 - 0.3**2)**64 < 0.3 %, at 0.5 never in practice, while unrelated news
# texts (Jaccard ~0.01) come out as candidates well under 1 % of the time.
LSH_BANDS, LSH_ROWS = 64, 2


@dataclass(frozen=True)
class StoryCandidate:
    """An article already assigned to a story, as the index keeps it."""

    story_id: int
    article_id: int
    fingerprint: Fingerprint
    published: datetime
    source_id: str


@dataclass(frozen=True)
class StoryDecision:
    """``story_id`` None means a new story; ``reason`` is for humans and logs."""

    story_id: int | None
    score: float
    reason: str


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so naive and aware ones compare."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lean(fp: Fingerprint) -> LeanMinHash:
    return LeanMinHash(seed=MINHASH_SEED, hashvalues=fp.hashvalues, scheme=MINHASH_SCHEME)


@dataclass(frozen=True)
class _Match:
    candidate: StoryCandidate
    score: PairScore
    kind: str
    value: float

    @property
    def rank(self) -> tuple[int, float, int]:
        # Text evidence first, then the higher score, then the older article.
        return (self.kind.startswith("near"), self.value, -self.candidate.article_id)


class StoryIndex:
    """Articles of the last ``window``, searchable by story.

    Threshold keyword arguments are the fields of ``Thresholds`` (for example
    ``StoryIndex(story=0.4, min_shared=3)``); unknown names raise TypeError.
    Adding an article id already present replaces it.
    """

    def __init__(self, window: timedelta = timedelta(days=4), **thresholds: float | int) -> None:
        unknown = set(thresholds) - Thresholds.names()
        if unknown:
            raise TypeError(f"unknown threshold(s): {', '.join(sorted(unknown))}")
        self.window = window
        self.limits = Thresholds(**thresholds)  # type: ignore[arg-type]  # names checked above
        if min(self.limits.min_shared, self.limits.short_min_shared) <= 0:
            # Candidates come from shared key terms: with none required, the
            # inverted index could not find every article the rule accepts.
            raise ValueError("min_shared and short_min_shared must be positive")
        self._items: dict[int, StoryCandidate] = {}
        self._times: dict[int, datetime] = {}
        self._lsh = MinHashLSH(num_perm=NUM_PERM, params=(LSH_BANDS, LSH_ROWS))
        self._postings: dict[str, set[int]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, candidate: StoryCandidate) -> None:
        key = candidate.article_id
        if key in self._items:
            self._remove(key)
        self._items[key] = candidate
        self._times[key] = _aware(candidate.published)
        fp = candidate.fingerprint
        if self._has_text(fp):
            self._lsh.insert(key, _lean(fp), check_duplication=False)
        for term in fp.key_stems:
            self._postings[term].add(key)

    def prune(self, now: datetime) -> None:
        """Forget articles published before ``now - window``: they can never join again."""
        cutoff = _aware(now) - self.window
        for key in [k for k, t in self._times.items() if t < cutoff]:
            self._remove(key)

    def decide(self, fp: Fingerprint, published: datetime, source_id: str) -> StoryDecision:
        """The story this article joins, or a new one. Does not modify the index.

        ``source_id`` does not weigh on the decision (an outlet may publish an
        update of its own story); it is accepted so callers pass context once.
        """
        return self._decide(fp, published, self._candidates(fp))

    def decide_exhaustive(self, fp: Fingerprint, published: datetime) -> StoryDecision:
        """``decide`` without the LSH and inverted index: every article is checked.

        Slow; a reference for tests and benchmarks.
        """
        return self._decide(fp, published, self._items)

    def _has_text(self, fp: Fingerprint) -> bool:
        return not is_short(fp, self.limits) and len(fp.hashvalues) == NUM_PERM

    def _remove(self, key: int) -> None:
        candidate = self._items.pop(key)
        del self._times[key]
        if key in self._lsh:
            self._lsh.remove(key)
        for term in candidate.fingerprint.key_stems:
            posting = self._postings[term]
            posting.discard(key)
            if not posting:
                del self._postings[term]

    def _candidates(self, fp: Fingerprint) -> set[int]:
        found: set[int] = set()
        if self._has_text(fp):
            found.update(self._lsh.query(_lean(fp)))
        for term in fp.key_stems:
            found.update(self._postings.get(term, ()))
        return found

    def _common(self, fp: Fingerprint) -> frozenset[str]:
        """Key stems so frequent in the window that they name the topic, not a story.

        A week when every article cites Microsoft, "Microsoft" stops telling
        stories apart; the window's own document frequency says so.
        """
        limit = max(self.limits.common_min_df, self.limits.common_share * len(self._items))
        return frozenset(t for t in fp.key_stems if len(self._postings.get(t, ())) > limit)

    def _decide(self, fp: Fingerprint, published: datetime, keys: Iterable[int]) -> StoryDecision:
        published = _aware(published)
        common = self._common(fp)
        best: _Match | None = None
        closest: tuple[float, int] | None = None
        for key in keys:
            if abs(self._times[key] - published) > self.window:
                continue
            candidate = self._items[key]
            score = compare(fp, candidate.fingerprint, self.limits, common)
            found = verdict(score, self.limits)
            if found is None:
                if closest is None or score.story > closest[0]:
                    closest = (score.story, key)
                continue
            match = _Match(candidate, score, *found)
            if best is None or match.rank > best.rank:
                best = match
        if best is not None:
            return StoryDecision(best.candidate.story_id, round(best.value, 4), _reason(best))
        if closest is None:
            days = self.window.total_seconds() / 86400
            return StoryDecision(None, 0.0, f"new story: no related article within {days:g} days")
        value, key = closest
        return StoryDecision(
            None, round(value, 4), f"new story: closest is article {key} at {value:.2f}"
        )


def _reason(match: _Match) -> str:
    article = match.candidate.article_id
    if match.kind.startswith("near"):
        how = " (containment)" if "containment" in match.kind else ""
        return f"near-duplicate text {match.value:.2f}{how} with article {article}"
    shared = ", ".join(match.score.shared[:6])
    return f"{match.kind} {match.value:.2f} with article {article} (shared: {shared})"
