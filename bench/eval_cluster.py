"""Precision and recall of story clustering ("same story?") on two data sets.

1. tests/data/cluster/stories.toml: invented events written for the project,
   each told by several outlets. Thresholds are tuned on its "dev" split
   only (``--tune``); the "test" split is the held-out figure.
2. The shared corpus of real pages (``MONITOR_CORPUS_DIR``, default
   ../shared/corpus): every page is its own story, so every cross-page pair
   is a negative; each page against a lightly edited copy of itself
   (boilerplate swapped, paragraphs trimmed, tracking URL) is a positive.

Run: ``PYTHONPATH=. python bench/eval_cluster.py [--tune] [--no-corpus]``.
Page text is extracted once with trafilatura and cached in the temp dir.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.cluster import (  # noqa: E402
    Fingerprint,
    StoryCandidate,
    StoryIndex,
    Thresholds,
    canonical_url,
    fingerprint,
)
from monitor.cluster.similarity import compare, is_short, verdict  # noqa: E402

STORIES = ROOT / "tests" / "data" / "cluster" / "stories.toml"
FOREVER = timedelta(days=36500)


@dataclass(frozen=True)
class Article:
    key: str  # "story-id/article-id"
    story: str
    group: str
    split: str
    follow_up_of: str | None
    kind: str
    source: str
    lang: str
    published: datetime
    title: str
    text: str


@dataclass(frozen=True)
class Pair:
    a: Article
    b: Article
    same: bool
    category: str


def load_articles(path: Path = STORIES) -> list[Article]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Article(
            key=f"{story['id']}/{art['id']}",
            story=story["id"],
            group=story["group"],
            split=story["split"],
            follow_up_of=story.get("follow_up_of"),
            kind=art["kind"],
            source=art["source"],
            lang=art["lang"],
            published=art["published"],
            title=art["title"],
            text=art["text"].strip(),
        )
        for story in data["story"]
        for art in story["article"]
    ]


def _category(a: Article, b: Article) -> tuple[bool, str]:
    if a.story == b.story:
        if a.lang != b.lang:
            return True, "same story, cross-language"
        if "summary" in (a.kind, b.kind):
            return True, "same story, feed summary"
        kinds = {a.kind, b.kind}
        if kinds <= {"dispatch", "reprint"}:
            return True, "agency dispatch reprinted"
        return True, "same story, other outlets"
    if b.story == a.follow_up_of or a.story == b.follow_up_of:
        return False, "follow-up a month later"
    if a.group == b.group:
        return False, "same topic, other event"
    return False, "other topic"


def derive_pairs(articles: list[Article]) -> list[Pair]:
    """Every pair of articles within one split, labelled (see stories.toml)."""
    pairs = []
    for a, b in itertools.combinations(articles, 2):
        if a.split == b.split:
            pairs.append(Pair(a, b, *_category(a, b)))
    return pairs


def fingerprints(articles: list[Article]) -> dict[str, Fingerprint]:
    return {a.key: fingerprint(a.title, a.text, a.lang) for a in articles}


def pair_decision(pair: Pair, fps: dict[str, Fingerprint], window: timedelta, **limits) -> bool:
    """The production path: a one-article index, then ``decide`` for the other."""
    index = StoryIndex(window=window, **limits)
    first, second = sorted((pair.a, pair.b), key=lambda a: a.published)
    index.add(StoryCandidate(1, 1, fps[first.key], first.published, first.source))
    return index.decide(fps[second.key], second.published, second.source).story_id == 1


class Tally(Counter):
    def add(self, same: bool, said: bool) -> None:
        self[("tp" if said else "fn") if same else ("fp" if said else "tn")] += 1

    def line(self, label: str) -> str:
        tp, fp, fn, tn = (self[k] for k in ("tp", "fp", "fn", "tn"))
        counts = f"{label:<34} {tp:>4} {fp:>4} {fn:>4} {tn:>6}   "
        if not tp + fn:  # negatives only: the false-positive rate is what there is
            return counts + f"FP rate={fp / (fp + tn):.4f}"
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn)
        f1 = 2 * p * r / (p + r) if tp else 0.0
        return counts + f"P={p:.3f} R={r:.3f} F1={f1:.3f}"


HEADER = f"{'':<34} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>6}"


def report_pairs(pairs: list[Pair], fps: dict[str, Fingerprint], window: timedelta, **limits):
    for split in ("dev", "test"):
        chosen = [p for p in pairs if p.a.split == split]
        total, per_cat = Tally(), {}
        misses = []
        for pair in chosen:
            said = pair_decision(pair, fps, window, **limits)
            total.add(pair.same, said)
            per_cat.setdefault(pair.category, Tally()).add(pair.same, said)
            if said != pair.same:
                misses.append(f"    {'FN' if pair.same else 'FP'} {pair.a.key} ~ {pair.b.key}")
        note = "tuned on" if split == "dev" else "held out"
        print(f"\n[{split} split, {note}] {HEADER.strip()}")
        print(total.line("all pairs"))
        for cat in sorted(per_cat):
            print(per_cat[cat].line("  " + cat))
        for miss in misses[:15]:
            print(miss)
        if len(misses) > 15:
            print(f"    ... {len(misses) - 15} more")


def _best_threshold(pairs: list[Pair], fps: dict[str, Fingerprint], name: str) -> float:
    """The middle of the run of values with the best F1 (steps of 0.01), under the
    default window as in production: pairs it separates do not weigh on the choice."""
    window = timedelta(days=4)
    pairs = [p for p in pairs if abs(p.a.published - p.b.published) <= window]
    scored = []
    for value in [x / 100 for x in range(10, 80)]:
        limits = Thresholds(**{name: value})
        tally = Tally()
        for pair in pairs:
            found = verdict(compare(fps[pair.a.key], fps[pair.b.key], limits), limits)
            tally.add(pair.same, found is not None)
        tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
        scored.append((round(2 * tp / (2 * tp + fp + fn), 6), value))
    best = max(f1 for f1, _ in scored)
    run = [value for f1, value in scored if f1 == best]
    print(f"  {name}: dev F1 {best:.3f} for {run[0]:.2f}..{run[-1]:.2f} on {len(pairs)} pairs")
    return round(run[len(run) // 2], 2)


def tune(pairs: list[Pair], fps: dict[str, Fingerprint]) -> dict[str, float]:
    """Choose ``story`` on dev pairs of two full texts, ``short_story`` on dev pairs with a
    summary. ``min_shared`` (two names or amounts in common) is a design choice, not tuned."""
    dev = [p for p in pairs if p.a.split == "dev"]
    limits = Thresholds()
    with_summary = [
        p for p in dev if is_short(fps[p.a.key], limits) or is_short(fps[p.b.key], limits)
    ]
    full = [p for p in dev if p not in with_summary]
    print("tuning on the dev split:")
    return {
        "story": _best_threshold(full, fps, "story"),
        "short_story": _best_threshold(with_summary, fps, "short_story"),
    }


# ---------------------------------------------------------------- real corpus


@dataclass(frozen=True)
class Page:
    name: str
    url: str
    lang: str
    title: str
    text: str


def corpus_dir() -> Path | None:
    """The shared corpus, or None when it is not there (tests then skip)."""
    path = Path(os.environ.get("MONITOR_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
    return path if (path / "articles" / "index.json").is_file() else None


def load_pages(corpus: Path, langs: tuple[str, ...] = ()) -> list[Page]:
    """Corpus pages (of ``langs``, or all) and their trafilatura text, extracted once, cached."""
    index_file = corpus / "articles" / "index.json"
    import trafilatura  # only the benchmark and corpus tests need it

    key = index_file.read_bytes() + trafilatura.__version__.encode() + repr(langs).encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"veille-cluster-pages-{digest}.json"
    if cache.is_file():
        return [Page(**row) for row in json.loads(cache.read_text(encoding="utf-8"))]
    pages = []
    for record in json.loads(index_file.read_text(encoding="utf-8")):
        if langs and record["lang"] not in langs:
            continue
        path = corpus / "articles" / record["file"]
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        doc = trafilatura.bare_extraction(raw, url=record["url"] or None, with_metadata=True)
        text = (doc.text or "") if doc else ""
        if text.strip():
            title = (doc.title or "") if doc else ""
            pages.append(Page(record["file"], record["url"] or "", record["lang"], title, text))
    cache.write_text(json.dumps([p.__dict__ for p in pages], ensure_ascii=False), encoding="utf-8")
    return pages


BOILERPLATE = [
    ("Publié le 12/03/2024 à 08h15 - Mis à jour à 10h02", "Lire aussi : nos autres articles"),
    ("Temps de lecture : 4 min", "Abonnez-vous pour lire la suite. Tous droits réservés."),
    ("Share this article", "Sign up for our newsletter. © All rights reserved."),
]


def edited_copy(page: Page) -> tuple[Page, str]:
    """The page as another outlet or template would serve it, and a tracking URL variant.

    Boilerplate lines swapped in, the last quarter of the paragraphs trimmed
    (and one middle paragraph when there are many), the title decorated.
    """
    rng = random.Random(page.name)
    paragraphs = [p for p in page.text.split("\n") if p.strip()]
    keep = max(1, len(paragraphs) - len(paragraphs) // 4)
    paragraphs = paragraphs[:keep]
    if len(paragraphs) >= 6:
        del paragraphs[rng.randrange(1, len(paragraphs) - 1)]
    head, tail = rng.choice(BOILERPLATE)
    text = "\n".join([head, *paragraphs, tail])
    url = page.url + ("&" if "?" in page.url else "?") + "utm_source=rss&xtor=RSS-3208#comments"
    return replace(page, title=f"{page.title} | Édition du soir", text=text), url


JUDGMENTS = ROOT / "tests" / "data" / "cluster" / "corpus_judgments.toml"


def corpus_labels(pages: list[Page], path: Path = JUDGMENTS) -> dict[tuple[int, int], bool]:
    """(i, j) -> True for judged same-story pairs, False for related ones (not scored)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    labels: dict[tuple[int, int], bool] = {}
    for kind, same in (("related", False), ("same", True)):
        for group in data[kind]:
            members = [i for i, p in enumerate(pages) if p.name.startswith(tuple(group["files"]))]
            for pair in itertools.combinations(members, 2):
                labels[pair] = same
    return labels


def report_corpus(corpus: Path, limits: Thresholds) -> None:
    pages = load_pages(corpus)
    fps = [fingerprint(p.title, p.text, p.lang) for p in pages]
    labels = corpus_labels(pages)
    sizes = [len(fp.to_bytes()) for fp in fps]
    print(f"\n[real corpus] {len(pages)} pages with text, fingerprint bytes "
          f"median {statistics.median(sizes):.0f}, max {max(sizes)}")  # fmt: skip
    other, same, notes = Tally(), Tally(), []
    for (i, a), (j, b) in itertools.combinations(enumerate(fps), 2):
        label = labels.get((i, j))
        said = verdict(compare(a, b, limits), limits) is not None
        if label is None:
            other.add(False, said)
        elif label:
            same.add(True, said)
        if said != bool(label) and label is not False:
            notes.append(
                f"    {'FN' if label else 'FP'} {pages[i].title[:50]!r} ~ {pages[j].title[:50]!r}"
            )
    copies, urls_ok = Tally(), 0
    for page, fp in zip(pages, fps, strict=True):
        copy, url = edited_copy(page)
        said = verdict(compare(fp, fingerprint(copy.title, copy.text, copy.lang), limits), limits)
        copies.add(True, said is not None)
        urls_ok += not page.url or canonical_url(url) == canonical_url(page.url)
        if said is None:
            notes.append(f"    FN edited copy of {page.name} ({fp.words} words)")
    print(HEADER)
    print(other.line("pairs of different stories"))
    print(same.line("pairs judged same story"))
    print(copies.line("page vs its edited copy"))
    both = Tally(other + same + copies)
    print(both.line("all of the above"))
    print(f"    tracking-URL variant canonicalized to the page URL: {urls_ok}/{len(pages)}")
    print("\n".join(notes))
    report_index(pages, fps, labels, limits)
    report_scale(pages, limits)


def chunk_articles(pages: list[Page], words: int = 80) -> list[Fingerprint]:
    """Many article-sized fingerprints from the corpus: each page cut into chunks."""
    out = []
    for page in pages:
        tokens = page.text.split()
        for start in range(0, len(tokens) - words + 1, words):
            chunk = " ".join(tokens[start : start + words])
            out.append(fingerprint(" ".join(chunk.split()[:12]), chunk, page.lang))
    return out


def report_scale(pages: list[Page], limits: Thresholds) -> None:
    """decide() time with thousands of articles in the window, and agreement of the
    LSH + inverted-index candidates with checking every article."""
    fps = chunk_articles(pages)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    index = StoryIndex(**limits.__dict__)
    for n, fp in enumerate(fps[::2]):
        index.add(StoryCandidate(n, n, fp, now, "chunks"))
    probes = fps[1::2]
    started = time.perf_counter()
    fast = [index.decide(fp, now, "probe") for fp in probes]
    per_fast = (time.perf_counter() - started) / len(probes) * 1000
    started = time.perf_counter()
    slow = [index.decide_exhaustive(fp, now) for fp in probes[:300]]
    per_slow = (time.perf_counter() - started) / len(slow) * 1000
    # New-story reasons name the closest candidate, which only the exhaustive
    # scan sees in full: compare the decisions themselves.
    agree = sum(f.story_id == s.story_id and (f.story_id is None or f == s)
                for f, s in zip(fast, slow, strict=False))  # fmt: skip
    joined = sum(d.story_id is not None for d in fast)
    print(f"\n[scale] {len(index)} articles in the index, {len(probes)} new ones: decide "
          f"{per_fast:.2f} ms each ({joined} joined), checking every article {per_slow:.1f} ms; "
          f"same decision on {agree}/{len(slow)} probes")  # fmt: skip


def report_index(pages: list[Page], fps: list[Fingerprint], labels, limits: Thresholds) -> None:
    """Production path over the corpus: decide then add, all pages at the same time."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    index = StoryIndex(**limits.__dict__)
    verdicts, started = Counter(), time.perf_counter()
    for n, fp in enumerate(fps):
        decision = index.decide(fp, now, "corpus")
        story = n if decision.story_id is None else decision.story_id
        if decision.story_id is not None:
            label = labels.get((story, n))
            verdicts[{True: "right", False: "related"}.get(label, "wrong")] += 1
            if label is None:
                print(f"    wrong join: {pages[n].title[:50]!r} -> {pages[story].title[:50]!r}: "
                      f"{decision.reason}")  # fmt: skip
        index.add(StoryCandidate(story, n, fp, now, "corpus"))
    per = (time.perf_counter() - started) / len(pages) * 1000
    print(f"index decide+add over {len(pages)} pages ({per:.2f} ms per article): joined an "
          f"existing story {sum(verdicts.values())} times: {dict(verdicts)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", action="store_true", help="grid-search thresholds on dev")
    parser.add_argument("--no-corpus", action="store_true", help="skip the real pages")
    args = parser.parse_args()
    articles = load_articles()
    pairs = derive_pairs(articles)
    fps = fingerprints(articles)
    counts = Counter((p.a.split, p.same) for p in pairs)
    print(f"{len(articles)} articles, pairs: " + ", ".join(
        f"{s} {'pos' if y else 'neg'} {n}" for (s, y), n in sorted(counts.items())))  # fmt: skip
    limits = tune(pairs, fps) if args.tune else {}
    print("thresholds:", Thresholds(**limits))
    print("\n== content only (window ignored) ==")
    report_pairs(pairs, fps, FOREVER, **limits)
    print("\n== with the default 4-day window ==")
    report_pairs(pairs, fps, timedelta(days=4), **limits)
    corpus = corpus_dir()
    if corpus and not args.no_corpus:
        report_corpus(corpus, Thresholds(**limits))
    elif not corpus:
        print("\n(real corpus not found: set MONITOR_CORPUS_DIR)")


if __name__ == "__main__":
    main()
