"""How good and how fast the article extractor is, on the corpus pages that have full-text
gold (MONITOR_CORPUS_DIR, default ../shared/corpus: 181 Zyte/Scrapinghub benchmark pages,
36 Readability pages, 9 newspaper4k pages, 5 fundus pages).

    python bench/extract_quality.py

Three extractors over the same pages, in this process, one after the other:
  shipped   `monitor.extract.article.extract_page` as it runs in the workers
  full      the same with trafilatura's comparison with other extractors on every page
            (FAST_TEXT_MIN set beyond any text): what `shipped` saves, and what it loses
  reference `trafilatura.extract` with its defaults

For each: mean token precision, recall and F1 against the gold text (bags of lowercased
words, as the Scrapinghub benchmark scores), pages with no text, and CPU milliseconds per
page. Then every page whose F1 differs by more than 0.05 between `shipped` and `full`.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lxml.html

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("MONITOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
_WORD = re.compile(r"\w+")


def gold_text(folder: Path, record: dict) -> str | None:
    """The full article text a page's gold gives, or None (date-only or partial gold)."""
    kind = record.get("gold_kind") or ""
    for name in record.get("gold") or []:
        path = folder / name
        if name.endswith(".expected.html"):
            return str(lxml.html.fromstring(path.read_text()).text_content())
        if name.endswith(".txt"):
            return path.read_text()
        if name.endswith(".json") and "articleBody" in kind:
            return str(json.loads(path.read_text())["articleBody"])
        if name.endswith(".json") and kind.startswith("fundus"):
            body = json.loads(path.read_text())["expected"]["body"]
            parts = list(body.get("summary") or [])
            for section in body.get("sections", []):
                parts += [section.get("headline") or "", *(section.get("paragraphs") or [])]
            return "\n".join(p for p in parts if isinstance(p, str))
    return None


def pages_with_gold() -> list[tuple[str, str, bytes, str]]:
    """(file, url, html, gold text) of every corpus page with full-text gold."""
    folder = CORPUS / "articles"
    if not (folder / "index.json").is_file():
        raise SystemExit(f"no corpus at {folder}: set MONITOR_CORPUS_DIR")
    pages = []
    for record in json.loads((folder / "index.json").read_text()):
        gold = gold_text(folder, record)
        if not gold:
            continue
        body = (folder / record["file"]).read_bytes()
        if record["file"].endswith(".gz"):
            body = gzip.decompress(body)
        pages.append((record["file"], record.get("url") or "", body, gold))
    return pages


def token_scores(found: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the words of `found` against those of `gold`."""
    ours, theirs = Counter(_WORD.findall(found.lower())), Counter(_WORD.findall(gold.lower()))
    common = sum((ours & theirs).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(ours.values()), common / sum(theirs.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def score(
    name: str, extract: Callable[[bytes, str], str], pages: list[tuple[str, str, bytes, str]]
) -> list[float]:
    """Print one extractor's line; its F1 per page."""
    scores, started = [], time.process_time()
    for _, url, body, gold in pages:
        scores.append(token_scores(extract(body, url), gold))
    spent = (time.process_time() - started) / len(pages) * 1000
    mean = [statistics.fmean(s[k] for s in scores) for k in range(3)]
    empty = sum(1 for s in scores if s[2] == 0)
    print(f"| {name} | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} | {empty} | {spent:.1f} |")
    return [s[2] for s in scores]


def main() -> int:
    from monitor.extract import article

    article.narrow_fallback_stopwords()  # as the workers do
    article.skip_unused_metadata()
    pages = pages_with_gold()

    def shipped(body: bytes, url: str) -> str:
        page = article.extract_page(body, url=url, date_known=True)
        return page.text if page else ""

    def full(body: bytes, url: str) -> str:
        kept, article.FAST_TEXT_MIN = article.FAST_TEXT_MIN, sys.maxsize
        try:
            return shipped(body, url)
        finally:
            article.FAST_TEXT_MIN = kept

    def reference(body: bytes, url: str) -> str:
        import trafilatura

        return trafilatura.extract(body, url=url) or ""

    print(f"{len(pages)} corpus pages with full-text gold\n")
    print("| extractor | precision | recall | F1 | no text | CPU ms/page |")
    print("|---|---|---|---|---|---|")
    ours = score("shipped", shipped, pages)
    theirs = score("full comparison on every page", full, pages)
    score("trafilatura.extract (reference)", reference, pages)
    changed = [
        (name, a, b)
        for (name, *_), a, b in zip(pages, ours, theirs, strict=True)
        if abs(a - b) > 0.05
    ]
    print(f"\npages whose F1 differs by more than 0.05 (shipped, full): {len(changed)}")
    for name, a, b in changed:
        print(f"  {name}: {a:.3f} {b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
