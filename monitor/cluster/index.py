"""The in-memory story index: which story, if any, a new article belongs to.

The store rebuilds it at start-up from the last ``window`` of fingerprints,
then for each new article calls ``decide`` and ``add``. ``decide`` never
scans the whole window: candidates come from

* a MinHash LSH over the text shingles (near-duplicates), tuned for recall
  well below the near-duplicate thresholds, and
* an inverted index of key stems (names, amounts): the same-event rule needs
  ``min_shared`` of them in common, so any article it can accept shares at
  least one and is found there. Topic terms (generic, or common in the window)
  never count as shared, so they are not looked up: in a busy window their
  buckets would fill the candidates with articles that can only be refused.

Exact checks then run on those candidates only. Their number is bounded
whatever the index holds (among 16,000 copies of one text a decision took
about 480 ms): each LSH bucket and each key stem yields at most
``BUCKET_LIMIT`` articles, the nearest in publication time, and of those the
``CANDIDATE_LIMIT`` found in the most buckets are checked. Ties are broken by
time, then article id, never by insertion or set order, so the same articles
give the same story whatever order they were added in.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush

from monitor.cluster.fingerprint import NUM_PERM, Fingerprint
from monitor.cluster.similarity import (
    PairScore,
    Thresholds,
    compare,
    could_join,
    is_short,
    verdict,
)
from monitor.cluster.text import generic_stems

# 64 bands of 2 rows: a pair at Jaccard 0.3 is missed with probability
# (1 - 0.3**2)**64 < 0.3 %, at 0.5 never in practice, while unrelated news
# texts (Jaccard ~0.01) come out as candidates well under 1 % of the time.
LSH_BANDS, LSH_ROWS = 64, 2
_BAND_BYTES = 4 * LSH_ROWS  # MinHash values are 32-bit
# A bucket holds near-copies of one text (or articles naming one key term): the nearest
# 50 in time stand for the rest, since the story they belong to is among them. 200 in
# all keeps a decision under about 15 ms (30 to 70 µs per exact check): measured 2.5 ms
# among 16,000 copies of one text, 10 ms for 150 candidates sharing names but not text.
BUCKET_LIMIT = 50
CANDIDATE_LIMIT = 200


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


def _bands(fp: Fingerprint) -> list[int]:
    """The LSH bucket keys of a fingerprint: each band's MinHash values and number, as
    one integer (a third of the memory of a (number, bytes) pair, 64 per article)."""
    raw = fp.minhash
    return [
        int.from_bytes(raw[b * _BAND_BYTES : (b + 1) * _BAND_BYTES], "little") * LSH_BANDS + b
        for b in range(LSH_BANDS)
    ]


_Entry = tuple[datetime, int]  # (publication time, article id)


class _Buckets:
    """Article entries by bucket, each bucket sorted by publication time then id. A
    bucket of one entry holds it bare: most LSH buckets hold a single article, and a
    list for each would cost more than the entry (64 buckets an article)."""

    def __init__(self) -> None:
        self._found: dict[Hashable, _Entry | list[_Entry]] = {}

    def _entries(self, bucket: Hashable) -> Sequence[_Entry]:
        found = self._found.get(bucket)
        if found is None:
            return ()
        return found if isinstance(found, list) else (found,)

    def size(self, bucket: Hashable) -> int:
        return len(self._entries(bucket))

    def add(self, bucket: Hashable, entry: _Entry) -> None:
        """File ``entry``: one tuple for all an article's buckets."""
        found = self._found.get(bucket)
        if found is None:
            self._found[bucket] = entry
        elif isinstance(found, list):
            insort(found, entry)
        else:
            self._found[bucket] = sorted([found, entry])

    def remove(self, bucket: Hashable, entry: _Entry) -> None:
        found = self._found[bucket]
        if not isinstance(found, list):
            del self._found[bucket]
            return
        del found[bisect_left(found, entry)]
        if len(found) == 1:
            self._found[bucket] = found[0]

    def nearest(self, bucket: Hashable, moment: datetime) -> list[int]:
        """At most BUCKET_LIMIT ids of ``bucket``, the nearest to ``moment`` in time."""
        entries = self._entries(bucket)
        if len(entries) <= BUCKET_LIMIT:
            return [key for _, key in entries]
        # The nearest ones lie within BUCKET_LIMIT places of where ``moment`` would go.
        middle = bisect_left(entries, moment, key=lambda entry: entry[0])
        around = list(entries[max(0, middle - BUCKET_LIMIT) : middle + BUCKET_LIMIT])
        around.sort(key=lambda entry: (abs(entry[0] - moment), entry[1]))
        return [key for _, key in around[:BUCKET_LIMIT]]


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
        # (publication time, id), oldest first: what `prune` drops, without a scan of
        # the window at each article. An entry whose id was since replaced is skipped.
        self._expiry: list[_Entry] = []
        self._bands = _Buckets()
        self._postings = _Buckets()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, candidate: StoryCandidate) -> None:
        key = candidate.article_id
        if key in self._items:
            self._remove(key)
        self._items[key] = candidate
        moment = self._times[key] = _aware(candidate.published)
        entry = (moment, key)
        heappush(self._expiry, entry)
        fp = candidate.fingerprint
        if self._has_text(fp):
            for band in _bands(fp):
                self._bands.add(band, entry)
        for term in fp.key_stems:
            self._postings.add(term, entry)

    def prune(self, now: datetime) -> None:
        """Forget articles published before ``now - window``: they can never join again."""
        cutoff = _aware(now) - self.window
        expiry = self._expiry
        while expiry and expiry[0][0] < cutoff:
            moment, key = heappop(expiry)
            if self._times.get(key) == moment:
                self._remove(key)

    def decide(self, fp: Fingerprint, published: datetime, source_id: str) -> StoryDecision:
        """The story this article joins, or a new one. Does not modify the index.

        ``source_id`` does not weigh on the decision (an outlet may publish an
        update of its own story); it is accepted so callers pass context once.
        """
        common = self._common(fp)
        keys = self._candidates(fp, _aware(published), common)
        return self._decide(fp, published, keys, common)

    def decide_exhaustive(self, fp: Fingerprint, published: datetime) -> StoryDecision:
        """``decide`` without the LSH and inverted index: every article is checked.

        Slow; a reference for tests and benchmarks.
        """
        return self._decide(fp, published, self._items, self._common(fp))

    def _has_text(self, fp: Fingerprint) -> bool:
        return not is_short(fp, self.limits) and len(fp.hashvalues) == NUM_PERM

    def _remove(self, key: int) -> None:
        fp = self._items.pop(key).fingerprint
        entry = (self._times.pop(key), key)
        if self._has_text(fp):
            for band in _bands(fp):
                self._bands.remove(band, entry)
        for term in fp.key_stems:
            self._postings.remove(term, entry)

    def _candidates(
        self, fp: Fingerprint, published: datetime, common: frozenset[str]
    ) -> list[int]:
        """The articles to check, at most CANDIDATE_LIMIT: those found in the most
        buckets (a near-copy shares most bands), then the nearest in time."""
        found: Counter[int] = Counter()
        if self._has_text(fp):
            for band in _bands(fp):
                found.update(self._bands.nearest(band, published))
        # An article that a topic term alone finds can only join by its text: the LSH's.
        for term in fp.key_stems - common - generic_stems():
            found.update(self._postings.nearest(term, published))
        times = self._times
        ranked = sorted(found, key=lambda k: (-found[k], abs(times[k] - published), k))
        return ranked[:CANDIDATE_LIMIT]

    def _common(self, fp: Fingerprint) -> frozenset[str]:
        """Key stems so frequent in the window that they name the topic, not a story.

        A week when every article cites Microsoft, "Microsoft" stops telling
        stories apart; the window's own document frequency says so.
        """
        limit = max(self.limits.common_min_df, self.limits.common_share * len(self._items))
        return frozenset(t for t in fp.key_stems if self._postings.size(t) > limit)

    def _decide(
        self, fp: Fingerprint, published: datetime, keys: Iterable[int], common: frozenset[str]
    ) -> StoryDecision:
        published = _aware(published)
        best: _Match | None = None
        closest: tuple[float, int] | None = None
        nearby = 0
        for key in keys:
            if abs(self._times[key] - published) > self.window:
                continue
            nearby += 1
            candidate = self._items[key]
            if not could_join(fp, candidate.fingerprint, self.limits, common):
                continue
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
            if nearby:
                why = f"none of {nearby} articles within {days:g} days shares its names or text"
            else:
                why = f"no related article within {days:g} days"
            return StoryDecision(None, 0.0, f"new story: {why}")
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
