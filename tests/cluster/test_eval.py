"""Same-story decisions on the hand-written pairs and on the shared corpus of real pages.

The pair data and its labelling rules live with the benchmark
(bench/eval_cluster.py, tests/data/cluster/); these tests hold the default
thresholds to them pair by pair.
"""

import importlib.util
import itertools
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cluster import StoryCandidate, StoryIndex, Thresholds, canonical_url, fingerprint
from monitor.cluster.similarity import compare, could_join, verdict

ROOT = Path(__file__).resolve().parents[2]
WINDOW = timedelta(days=4)


def _load_bench():
    spec = importlib.util.spec_from_file_location(
        "eval_cluster", ROOT / "bench" / "eval_cluster.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
ARTICLES = bench.load_articles()
PAIRS = bench.derive_pairs(ARTICLES)
FPS = bench.fingerprints(ARTICLES)

# Pairs the default thresholds get wrong, kept visible: strict xfail fails the
# day they start passing, so this list cannot go stale.
KNOWN_MISSES = {
    ("eu-eucs/a", "eu-eucs/b"): "French vs English: few names in common besides the topic's",
    ("eu-eucs/b", "eu-eucs/c"): "French vs English: few names in common besides the topic's",
}


def _params(pairs):
    out = []
    for pair in pairs:
        key = (pair.a.key, pair.b.key)
        marks = []
        if key in KNOWN_MISSES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[key]))
        out.append(pytest.param(pair, id=f"{key[0]}~{key[1]}", marks=marks))
    return out


def test_data_set_size() -> None:
    positives = sum(p.same for p in PAIRS)
    hard = sum(not p.same and p.category != "other topic" for p in PAIRS)
    assert positives >= 30
    assert hard >= 30
    assert {p.a.split for p in PAIRS} == {"dev", "test"}


@pytest.mark.parametrize("pair", _params(p for p in PAIRS if p.same))
def test_same_story_pairs_join(pair) -> None:
    assert bench.pair_decision(pair, FPS, WINDOW)


@pytest.mark.parametrize(
    "pair", _params(p for p in PAIRS if not p.same and p.category != "other topic")
)
def test_same_topic_pairs_stay_apart(pair) -> None:
    assert not bench.pair_decision(pair, FPS, WINDOW)


def test_other_topic_pairs_never_join() -> None:
    joined = [
        (p.a.key, p.b.key)
        for p in PAIRS
        if p.category == "other topic" and bench.pair_decision(p, FPS, WINDOW)
    ]
    assert joined == []


def test_follow_up_a_month_later_is_kept_apart_by_the_window() -> None:
    follow_ups = [p for p in PAIRS if p.category == "follow-up a month later"]
    assert follow_ups
    assert not any(bench.pair_decision(p, FPS, WINDOW) for p in follow_ups)


def test_reasons_name_the_article_and_the_evidence() -> None:
    index = StoryIndex()
    by_key = {a.key: a for a in ARTICLES}
    dispatch = by_key["secnum-ovh/a"]
    index.add(StoryCandidate(5, 12, FPS[dispatch.key], dispatch.published, "agence"))
    reprint = by_key["secnum-ovh/b"]
    near = index.decide(FPS[reprint.key], reprint.published, "regional")
    assert near.reason == f"near-duplicate text {near.score:.2f} with article 12"
    rewrite = by_key["secnum-ovh/c"]
    story = index.decide(FPS[rewrite.key], rewrite.published, "presse-it")
    assert story.story_id == 5
    assert story.reason.startswith(f"title+entities {story.score:.2f} with article 12 (shared: ")
    assert "ovhcloud" in story.reason


def test_index_agrees_with_brute_force_on_the_stories() -> None:
    # The production sequence over every article: decide, then add.
    index = StoryIndex()
    for n, article in enumerate(sorted(ARTICLES, key=lambda a: a.published)):
        fp = FPS[article.key]
        fast = index.decide(fp, article.published, article.source)
        slow = index.decide_exhaustive(fp, article.published)
        assert fast.story_id == slow.story_id, article.key
        if fast.story_id is not None:
            assert fast == slow
        index.add(StoryCandidate(fast.story_id or n, n, fp, article.published, article.source))


def _never_joins_unchecked(fps: list, common: frozenset[str]) -> tuple[int, int]:
    """Every pair ``could_join`` turns away gets no verdict from the full comparison;
    (pairs turned away, pairs without a verdict)."""
    limits = Thresholds()
    turned_away = refused = 0
    for a, b in itertools.permutations(fps, 2):
        joins = verdict(compare(a, b, limits, common), limits) is not None
        refused += not joins
        if not could_join(a, b, limits, common):
            turned_away += 1
            assert not joins, (a.title, b.title)
    return turned_away, refused


def test_the_cheap_check_turns_away_only_pairs_that_never_join() -> None:
    fps = [FPS[a.key] for a in ARTICLES]
    frequent = Counter(stem for fp in fps for stem in fp.key_stems)
    for common in (frozenset(), frozenset(s for s, n in frequent.most_common(5))):
        turned_away, refused = _never_joins_unchecked(fps, common)
        # and it spares the full comparison for most of them
        assert turned_away > refused * 0.6


def test_a_reprint_that_names_nobody_still_gets_the_full_comparison() -> None:
    # Lower-cased, an article names nothing: only its text can tell a reprint.
    article = max(ARTICLES, key=lambda a: len(a.text))
    words = article.text.lower().split()
    original = fingerprint(article.title.lower(), " ".join(words), "fr")
    reprint = fingerprint(article.title.lower(), " ".join(words[: len(words) * 9 // 10]), "fr")
    limits = Thresholds()
    assert original.key_stems == frozenset()
    assert verdict(compare(reprint, original, limits), limits)[0].startswith("near-duplicate")
    assert could_join(reprint, original, limits)


# ---------------------------------------------------------------- real pages

CORPUS = bench.corpus_dir()
needs_corpus = pytest.mark.skipif(CORPUS is None, reason="shared corpus not found")


@pytest.fixture(scope="module")
def french_pages():
    return bench.load_pages(CORPUS, langs=("fr",))


@needs_corpus
def test_page_and_its_edited_copy_are_one_story(french_pages) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    missed = []
    for n, page in enumerate(french_pages):
        index = StoryIndex()
        index.add(StoryCandidate(n, n, fingerprint(page.title, page.text, "fr"), now, "site"))
        copy, url = bench.edited_copy(page)
        decision = index.decide(fingerprint(copy.title, copy.text, "fr"), now, "other")
        if decision.story_id != n:
            missed.append(page.name)
        if page.url:
            assert canonical_url(url) == canonical_url(page.url)
    assert len(french_pages) >= 40
    assert missed == []


@needs_corpus
def test_distinct_french_pages_stay_apart(french_pages) -> None:
    labels = bench.corpus_labels(french_pages)
    fps = [fingerprint(p.title, p.text, "fr") for p in french_pages]
    now = datetime(2024, 1, 1, tzinfo=UTC)
    index = StoryIndex()
    wrong = []
    for n, fp in enumerate(fps):
        decision = index.decide(fp, now, "site")
        if decision.story_id is not None and (decision.story_id, n) not in labels:
            wrong.append((french_pages[n].name, french_pages[decision.story_id].name))
        index.add(StoryCandidate(decision.story_id or n, n, fp, now, "site"))
    assert wrong == []
    assert len(list(itertools.combinations(fps, 2))) > 1000


@needs_corpus
def test_the_cheap_check_is_safe_on_real_pages_and_their_copies(french_pages) -> None:
    fps = [fingerprint(p.title, p.text, "fr") for p in french_pages[:30]]
    copies = [bench.edited_copy(p)[0] for p in french_pages[:30]]
    fps += [fingerprint(c.title, c.text, "fr") for c in copies]
    turned_away, refused = _never_joins_unchecked(fps, frozenset())
    assert turned_away > refused * 0.6
