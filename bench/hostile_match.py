"""Time matching of hostile texts against a normal article, with the shipped rules.

Usage: .venv/bin/python bench/hostile_match.py [--repeat N]

Hostile texts are made of the words of the rule pack's queries, so the rules' terms
occur everywhere and NEAR, ONEAR and SENTENCE have the most work: one
unpunctuated "sentence" of 300 KB, a 1 MB text, a title of 5,000 words. The normal
article is a demo page's text. Each is matched ``--repeat`` times (best time kept,
CPU time of one core), and the table gives each hostile time as a multiple of the
normal one, measured in the same run. tests/match/test_hostile.py imports the text
builders from here.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from monitor.config import Config, load_config
from monitor.extract.article import extract_page
from monitor.match import Document

REPO = Path(__file__).resolve().parents[1]
NORMAL_PAGE = (
    REPO
    / "monitor"
    / "demo"
    / "data"
    / "articles"
    / "altanis-obtient-qualification-secnumcloud.html"
)
SEED = 20261204
_WORD = re.compile(r"[^\W\d_]+")
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR", "ONEAR", "SENTENCE", "ATLEAST"})


def shipped_config() -> Config:
    return load_config(REPO, {})


def rule_words(config: Config) -> list[str]:
    """The words of the rule queries, sorted for a fixed order.

    Term lists are left out: their thousand-odd entries would dilute the words that NEAR
    and ONEAR link, making the texts less hostile.
    """
    words = {w for rule in config.rules for w in _WORD.findall(rule.query)}
    return sorted(words - _OPERATORS)


def unpunctuated(words: list[str], size: int, seed: int = SEED) -> str:
    """About ``size`` characters of the words in random order, with no punctuation at all."""
    rng = random.Random(seed)
    count = size // (sum(map(len, words)) // len(words) + 1) + 1
    return " ".join(rng.choices(words, k=count))[:size]


def normal_document() -> Document:
    page = extract_page(NORMAL_PAGE.read_bytes(), url="https://example.org/altanis")
    assert page is not None, f"{NORMAL_PAGE}: no article text extracted"
    return Document(title=page.title or "", text=page.text, lang="fr")


def hostile_documents(words: list[str]) -> dict[str, Document]:
    """The hostile cases by name."""
    return {
        "300 KB unpunctuated text": Document(
            title="", text=unpunctuated(words, 300_000), lang="fr"
        ),
        "1 MB unpunctuated text": Document(
            title="", text=unpunctuated(words, 1_000_000), lang="fr"
        ),
        "5,000-word title": Document(
            title=" ".join(unpunctuated(words, 60_000).split()[:5000]), text="", lang="fr"
        ),
    }


def best_time(action: Callable[[], object], repeat: int) -> float:
    """The shortest CPU time of ``repeat`` runs of ``action``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)


def row(name: str, doc: Document, seconds: float, base: float, matches: int) -> str:
    chars = len(doc.title) + len(doc.text)
    return f"{name:<28} {chars:>9,} {seconds:>9.4f} {seconds / base:>9.0f} {matches:>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = shipped_config()
    ruleset = config.ruleset
    words = rule_words(config)
    normal = normal_document()
    ruleset.match(normal)  # warm the word caches, as in a running service
    # The normal article is fast: more runs for a stable minimum.
    base = best_time(lambda: ruleset.match(normal), args.repeat * 10)
    print(f"{len(config.rules)} rules, {len(words)} distinct query words, best of {args.repeat}")
    print(f"{'document':<28} {'chars':>9} {'seconds':>9} {'x normal':>9} {'matches':>8}")
    print(row("normal article", normal, base, base, len(ruleset.match(normal))))
    for name, doc in hostile_documents(words).items():
        seconds = best_time(lambda doc=doc: ruleset.match(doc), args.repeat)
        print(row(name, doc, seconds, base, len(ruleset.match(doc))))


if __name__ == "__main__":
    main()
